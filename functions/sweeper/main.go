// Command sweeper is the flexhook orphan sweeper Lambda: on a schedule it
// closes Interaction Channels whose terminal TaskRouter events never reached
// the webhook. This file is wiring only; the behaviour lives in internal/.
package main

import (
	"context"
	"encoding/json"
	"os"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/dependencies"
	"github.com/flexhook/flexhook/internal/sweeper"
)

// newHandler builds the sweeper from its configuration and container, once
// per container.
func newHandler(_ context.Context, cfg config.Sweeper, k *dependencies.Container) (func(context.Context, json.RawMessage) (sweeper.Report, error), error) {
	s := sweeper.New(k.Twilio.API, k.Close, cfg.WorkspaceSID, sweeper.Options{
		Lookback:    cfg.Lookback,
		CloseEvents: cfg.CloseEvents,
		Status:      cfg.CloseStatus,
		Routing:     cfg.Routing(cfg.CloseStatus),
	})
	return sweeper.NewLambda(s, k.Log, k.Metrics).Handle, nil
}

func main() { dependencies.Main("sweeper", os.Getenv, config.LoadSweeper, newHandler) }
