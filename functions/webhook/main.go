// Command webhook is the flexhook webhook Lambda: it receives TaskRouter and
// CRM callbacks through API Gateway and closes Flex Interaction Channels —
// inline (sync mode) or through the close queue (durable mode, when
// CLOSE_QUEUE_URL is set). This file is wiring only; the behaviour lives in
// internal/.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flexhook/flexhook/internal/coldstart"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/tracing"
	"github.com/flexhook/flexhook/internal/webhook"
)

func main() {
	h, err := newHandler(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flexhook webhook: cold start failed:", err)
		os.Exit(1)
	}
	// *webhook.Handler implements lambda.Handler: payloads arrive as raw bytes.
	lambda.Start(h)
}

// newHandler builds the handler from the environment, once per container.
func newHandler(ctx context.Context, getenv func(string) string) (*webhook.Handler, error) {
	cfg, err := config.LoadWebhook(getenv)
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stdout, cfg.LogLevel)
	awsCfg, err := coldstart.LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	tw, err := coldstart.NewTwilio(ctx, coldstart.TwilioOptions{
		SecretID:       cfg.SecretID,
		SecretCacheTTL: cfg.SecretCacheTTL,
		APIBaseURL:     cfg.TwilioAPIBaseURL,
		Logger:         log,
		AWS:            &awsCfg,
		// Lambda sets the daemon address; subsegments are sent only for
		// sampled invocations (template.yaml Tracing: Active).
		Tracer: tracing.New(tracing.Options{DaemonAddr: getenv("AWS_XRAY_DAEMON_ADDRESS")}),
	})
	if err != nil {
		return nil, err
	}
	o := webhook.Options{Metrics: metrics.New(os.Stdout, "webhook", nil)}
	if cfg.IdempotencyTable != "" {
		o.Store = idempotency.NewDynamoDB(dynamodb.NewFromConfig(awsCfg), cfg.IdempotencyTable, idempotency.Options{})
	}
	if cfg.CloseQueueURL != "" {
		o.Queue = queue.NewSender(sqs.NewFromConfig(awsCfg), cfg.CloseQueueURL)
	}
	return webhook.New(cfg, tw.Secrets, tw.API, log, o), nil
}
