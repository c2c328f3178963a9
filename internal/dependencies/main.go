package dependencies

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/flexhook/flexhook/internal/config"
)

// Main is the body of every function's main: it builds the handler once per
// container with newHandler (the function's wiring, reading the environment
// through getenv) and hands it to lambda.Start, which takes a handler
// function or a lambda.Handler. A cold start that fails is written to stderr
// with the function's name and ends the process with status 1, which Lambda
// reports as an initialization error.
func Main[H any](function string, getenv func(string) string, newHandler func(context.Context, func(string) string) (H, error)) {
	h, err := newHandler(context.Background(), getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "flexhook %s: cold start failed: %v\n", function, err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// Load reads function's configuration with load (config.LoadWebhook,
// LoadWorker or LoadSweeper) and starts its Container from the shared part,
// writing logs and metrics to stdout, as Lambda collects them.
func Load[C interface{ Shared() config.Common }](ctx context.Context, function string, getenv func(string) string, load func(func(string) string) (C, error)) (C, *Container, error) {
	cfg, err := load(getenv)
	if err != nil {
		return cfg, nil, err
	}
	k, err := Start(ctx, cfg.Shared(), function, os.Stdout, getenv)
	return cfg, k, err
}
