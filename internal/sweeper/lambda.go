package sweeper

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/flexhook/flexhook/internal/metrics"
)

// Lambda adapts a Sweeper to the scheduled Lambda: it runs one sweep per
// invocation, logs one line per open channel and one summary, and records
// metrics. The EventBridge event itself carries nothing the sweep needs.
type Lambda struct {
	s       *Sweeper
	log     *slog.Logger
	metrics *metrics.Emitter // may be nil
	now     func() time.Time
}

// NewLambda returns the Lambda handler of s.
func NewLambda(s *Sweeper, log *slog.Logger, m *metrics.Emitter) *Lambda {
	return &Lambda{s: s, log: log, metrics: m, now: s.o.Now}
}

// Handle runs one sweep. It returns the report (visible in `sam local
// invoke` and the Lambda console) and an error only when the sweep could not
// run at all, so that Lambda's error metrics and alarms see it.
func (l *Lambda) Handle(ctx context.Context, _ json.RawMessage) (Report, error) {
	start := l.now()
	rep, err := l.s.Sweep(ctx)
	for _, a := range rep.Actions {
		level := slog.LevelInfo
		if a.Outcome == "failed" {
			level = slog.LevelWarn
		}
		attrs := []slog.Attr{
			slog.String("outcome", a.Outcome), slog.String("channel_sid", a.ChannelSID),
			slog.String("interaction_sid", a.InteractionSID), slog.String("task_sid", a.TaskSID),
			slog.String("event_type", a.EventType),
			slog.String("channel_status", a.ChannelStatus), slog.String("request", a.Request),
		}
		if a.Error != "" {
			attrs = append(attrs, slog.String("error", a.Error))
		}
		l.log.LogAttrs(ctx, level, "sweep channel", attrs...)
		if l.metrics != nil {
			l.metrics.Record(metrics.Request{Route: "sweep", Outcome: a.Outcome})
		}
	}
	for _, w := range rep.Warnings {
		l.log.LogAttrs(ctx, slog.LevelWarn, "sweep truncated", slog.String("warning", w))
	}
	attrs := []slog.Attr{
		slog.Int("events", rep.Events), slog.Int("closing", rep.Closing), slog.Any("ignored", rep.Ignored),
		slog.Int("channels", rep.Channels), slog.Any("left", rep.Left), slog.Int("open", rep.Open),
		slog.Any("outcomes", rep.Outcomes), slog.Bool("truncated", rep.Truncated),
		slog.Float64("duration_ms", float64(l.now().Sub(start).Microseconds())/1000),
	}
	if err != nil {
		l.log.LogAttrs(ctx, slog.LevelError, "sweep", append(attrs, slog.String("error", err.Error()))...)
		return rep, err
	}
	l.log.LogAttrs(ctx, slog.LevelInfo, "sweep", attrs...)
	return rep, nil
}
