// Command sweeper is the flexhook orphan sweeper Lambda: on a schedule it
// closes Interaction Channels whose terminal TaskRouter events never reached
// the webhook. This file is wiring only; the behaviour lives in internal/.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/flexhook/flexhook/internal/closer"
	"github.com/flexhook/flexhook/internal/coldstart"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/delivery"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
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
	var store *idempotency.DynamoDB
	if cfg.IdempotencyTable != "" {
		store = idempotency.NewDynamoDB(dynamodb.NewFromConfig(awsCfg), cfg.IdempotencyTable, idempotency.Options{})
	}
	proc := delivery.NewProcessor(c, nil, nil)
	if store != nil {
		proc = delivery.NewProcessor(c, store, nil)
	}
	s := sweeper.New(tw.API, proc, cfg.WorkspaceSID, sweeper.Options{
		Lookback: cfg.Lookback,
		Status:   cfg.CloseStatus,
		Routing:  cfg.Routing(cfg.CloseStatus),
	})
	return sweeper.NewLambda(s, log, metrics.New(os.Stdout, "sweeper", nil)), nil
}
