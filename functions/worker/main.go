// Command worker is the flexhook queue worker Lambda (durable mode): an SQS
// event source mapping feeds it close jobs, which it runs through the
// idempotency store and the same close path as the webhook.
// This file is wiring only; the behaviour lives in internal/.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flexhook/flexhook/internal/closer"
	"github.com/flexhook/flexhook/internal/coldstart"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/delivery"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/worker"
)

func main() {
	h, err := newHandler(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flexhook worker: cold start failed:", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

// newHandler builds the handler from the environment, once per container.
func newHandler(ctx context.Context, getenv func(string) string) (*worker.Handler, error) {
	cfg, err := config.LoadWorker(getenv)
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
	})
	if err != nil {
		return nil, err
	}
	c := closer.New(tw.API, closer.Options{DryRun: cfg.DryRun})
	proc := delivery.NewProcessor(c, nil, nil) // no table: Twilio's idempotent close only
	if cfg.IdempotencyTable != "" {
		proc = delivery.NewProcessor(c, idempotency.NewDynamoDB(dynamodb.NewFromConfig(awsCfg), cfg.IdempotencyTable, idempotency.Options{}), nil)
	}
	return worker.New(proc, queue.New(sqs.NewFromConfig(awsCfg)), log, worker.Options{
		Metrics:   metrics.New(os.Stdout, "worker", nil),
		RetryBase: cfg.RetryBase,
	}), nil
}
