// Command worker is the flexhook queue worker Lambda (durable mode): an SQS
// event source mapping feeds it close jobs, which it runs through the
// idempotency store and the same close path as the webhook.
// This file is wiring only; the behaviour lives in internal/.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/dependencies"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/worker"
)

func main() { dependencies.Main("worker", os.Getenv, newHandler) }

// newHandler builds the handler from the environment, once per container.
func newHandler(ctx context.Context, getenv func(string) string) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	cfg, k, err := dependencies.Load(ctx, "worker", getenv, config.LoadWorker)
	if err != nil {
		return nil, err
	}
	p := k.Close.WithRecheck(closejob.Recheck{After: cfg.RecheckAfter, Limit: cfg.RecheckLimit})
	return worker.New(p, queue.New(sqs.NewFromConfig(k.AWS)), k.Log, worker.Options{
		Metrics:   k.Metrics,
		RetryBase: cfg.RetryBase,
	}).Handle, nil
}
