// Package logging builds flexhook's structured logger: log/slog JSON lines
// in the shape of AWS Lambda's JSON log format ("timestamp", "level",
// "message"), each carrying the Lambda request id taken from the context,
// like aws-lambda-go's lambdacontext logger
// (https://docs.aws.amazon.com/lambda/latest/dg/golang-logging.html) but
// always JSON and with flexhook's own LOG_LEVEL.
//
// Callers must never log secrets, auth headers, signatures or raw bodies;
// secret material is held in secrets.Value, which logs as REDACTED.
package logging

import (
	"context"
	"io"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// New returns a JSON logger writing to w at level and above.
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(&handler{slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level:       level,
		ReplaceAttr: lambdacontext.ReplaceAttr,
	})})
}

// handler adds the Lambda request id of the record's context.
type handler struct{ slog.Handler }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{h.Handler.WithAttrs(attrs)}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{h.Handler.WithGroup(name)}
}
