// Command webhook is the flexhook webhook Lambda: it receives TaskRouter and
// CRM callbacks through API Gateway and closes Flex Interaction Channels.
// This file is wiring only; the behaviour lives in internal/.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/flexhook/flexhook/internal/coldstart"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/tracing"
	"github.com/flexhook/flexhook/internal/webhook"
)

func main() {
	h, err := newHandler(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flexhook webhook: cold start failed:", err)
		os.Exit(1)
	}
	lambda.StartHandler(h)
}

// newHandler builds the handler from the environment, once per container.
func newHandler(ctx context.Context, getenv func(string) string) (*webhook.Handler, error) {
	cfg, err := config.LoadWebhook(getenv)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, cfg.LogLevel)
	tw, err := coldstart.NewTwilio(ctx, coldstart.TwilioOptions{
		SecretID:       cfg.SecretID,
		SecretCacheTTL: cfg.SecretCacheTTL,
		APIBaseURL:     cfg.TwilioAPIBaseURL,
		Logger:         log,
		// Lambda sets the daemon address; subsegments are sent only for
		// sampled invocations (template.yaml Tracing: Active).
		Tracer: tracing.New(tracing.Options{DaemonAddr: getenv("AWS_XRAY_DAEMON_ADDRESS")}),
	})
	if err != nil {
		return nil, err
	}
	return webhook.New(cfg, tw.Secrets, tw.API, log, webhook.Options{
		Metrics: metrics.New(os.Stdout, "webhook", nil),
	}), nil
}
