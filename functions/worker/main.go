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

// newHandler builds the handler from its configuration and container, once
// per container.
func newHandler(_ context.Context, cfg config.Worker, k *dependencies.Container) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	p := k.Close.WithRecheck(closejob.Recheck{After: cfg.RecheckAfter, Limit: cfg.RecheckLimit})
	o := worker.Options{Metrics: k.Metrics, RetryBase: cfg.RetryBase}
	return worker.New(p, queue.New(sqs.NewFromConfig(k.AWS)), k.Log, o).Handle, nil
}

func main() { dependencies.Main("worker", os.Getenv, config.LoadWorker, newHandler) }
