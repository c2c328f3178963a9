package dependencies

import (
	"cmp"
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/tracing"

	"log/slog"
)

// Container is what every flexhook function builds once per Lambda
// container from the settings they share (config.Common): the logger, the
// AWS configuration, the Twilio credentials and client, the idempotency
// store, the close path, and the metrics emitter.
type Container struct {
	Log     *slog.Logger
	AWS     aws.Config
	Twilio  *Twilio
	Store   *idempotency.DynamoDB // nil without IDEMPOTENCY_TABLE
	Metrics *metrics.Emitter
	// Close is the once-only close path all three functions share: the
	// channel closer (in dry-run mode when DRY_RUN is set) behind the
	// idempotency store, if any.
	Close *closejob.Processor
}

// Start builds the Container of function (webhook, worker, sweeper),
// writing logs and metrics to out (stdout in Lambda). getenv reads the
// runtime's own variables: AWS_XRAY_DAEMON_ADDRESS, which Lambda sets when
// tracing is active, and AWS_LAMBDA_FUNCTION_NAME, the metrics' Function
// dimension, so that two stacks in one account and Region never share
// metrics or alarms (function stands in when it is unset, outside Lambda).
func Start(ctx context.Context, c config.Common, function string, out io.Writer, getenv func(string) string) (*Container, error) {
	log := logging.New(out, c.LogLevel)
	awsCfg, err := LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	tw, err := NewTwilio(ctx, TwilioOptions{
		SecretID:       c.SecretID,
		SecretCacheTTL: c.SecretCacheTTL,
		APIBaseURL:     c.TwilioAPIBaseURL,
		Logger:         log,
		AWS:            &awsCfg,
		// Subsegments are sent only for sampled invocations (template.yaml
		// Tracing: Active); without the daemon address the tracer is off.
		Tracer: tracing.New(tracing.Options{DaemonAddr: getenv("AWS_XRAY_DAEMON_ADDRESS")}),
	})
	if err != nil {
		return nil, err
	}
	name := cmp.Or(getenv("AWS_LAMBDA_FUNCTION_NAME"), function)
	k := &Container{Log: log, AWS: awsCfg, Twilio: tw, Metrics: metrics.New(out, name, nil)}
	closer := channelclose.New(tw.API, channelclose.Options{DryRun: c.DryRun})
	if c.IdempotencyTable == "" {
		k.Close = closejob.NewProcessor(closer, nil, nil) // never a typed nil store
	} else {
		k.Store = idempotency.NewDynamoDB(dynamodb.NewFromConfig(awsCfg), c.IdempotencyTable, idempotency.Options{})
		k.Close = closejob.NewProcessor(closer, k.Store, nil)
	}
	return k, nil
}
