package dependencies

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/flexhook/flexhook/internal/config"
)

// Main is the body of every function's main: it builds the handler once per
// container with Build (load reads the function's configuration through
// getenv, build is the function's wiring) and hands it to lambda.Start,
// which takes a handler function or a lambda.Handler. A cold start that
// fails is written to stderr with the function's name and ends the process
// with status 1, which Lambda reports as an initialization error.
func Main[C interface{ Shared() config.Common }, H any](function string, getenv func(string) string,
	load func(func(string) string) (C, error), build func(context.Context, C, *Container) (H, error)) {
	h, err := Build(context.Background(), function, getenv, load, build)
	if err != nil {
		fmt.Fprintf(os.Stderr, "flexhook %s: cold start failed: %v\n", function, err)
		os.Exit(1)
	}
	lambda.Start(h)
}

// Build reads function's configuration with load (config.LoadWebhook,
// LoadWorker or LoadSweeper), starts its Container from the shared part,
// writing logs and metrics to stdout, as Lambda collects them, and returns
// the handler build makes of the two.
func Build[C interface{ Shared() config.Common }, H any](ctx context.Context, function string, getenv func(string) string,
	load func(func(string) string) (C, error), build func(context.Context, C, *Container) (H, error)) (H, error) {
	var none H
	cfg, err := load(getenv)
	if err != nil {
		return none, err
	}
	k, err := Start(ctx, cfg.Shared(), function, os.Stdout, getenv)
	if err != nil {
		return none, err
	}
	return build(ctx, cfg, k)
}
