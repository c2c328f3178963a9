// Command sweeper is the flexhook orphan sweeper Lambda: on a schedule it
// closes Interaction Channels whose terminal TaskRouter events never reached
// the webhook. This file is wiring only; the behaviour lives in internal/.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/dependencies"
	"github.com/flexhook/flexhook/internal/sweeper"
)

func main() {
	h, err := newHandler(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "flexhook sweeper: cold start failed:", err)
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}

// newHandler builds the sweeper from the environment, once per container.
func newHandler(ctx context.Context, getenv func(string) string) (*sweeper.Lambda, error) {
	cfg, err := config.LoadSweeper(getenv)
	if err != nil {
		return nil, err
	}
	k, err := dependencies.Start(ctx, cfg.Common, "sweeper", os.Stdout, getenv)
	if err != nil {
		return nil, err
	}
	s := sweeper.New(k.Twilio.API, k.Close, cfg.WorkspaceSID, sweeper.Options{
		Lookback:    cfg.Lookback,
		CloseEvents: cfg.CloseEvents,
		Status:      cfg.CloseStatus,
		Routing:     cfg.Routing(cfg.CloseStatus),
	})
	return sweeper.NewLambda(s, k.Log, k.Metrics), nil
}
