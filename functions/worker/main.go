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
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/dependencies"
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
	k, err := dependencies.Start(ctx, cfg.Common, "worker", os.Stdout, getenv)
	if err != nil {
		return nil, err
	}
	p := k.Close.WithRecheck(closejob.Recheck{After: cfg.RecheckAfter, Limit: cfg.RecheckLimit})
	return worker.New(p, queue.New(sqs.NewFromConfig(k.AWS)), k.Log, worker.Options{
		Metrics:   k.Metrics,
		RetryBase: cfg.RetryBase,
	}), nil
}
