package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flexhook/flexhook/internal/closer"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/secrets"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// MaxBody is the largest request body accepted, after base64 decoding.
// TaskRouter events are a few kilobytes; task attributes are capped by
// Twilio well below this.
const MaxBody = 256 << 10

// Routes.
const (
	RouteTaskRouter = "/taskrouter"
	RouteCRM        = "/crm"
)

// secretSource is the credential cache (*secrets.Cache).
type secretSource interface {
	Get(ctx context.Context) (*secrets.Twilio, error)
	Refresh(ctx context.Context) (*secrets.Twilio, bool, error)
}

// twilioAPI is the Twilio REST adapter (*flex.Client).
type twilioAPI interface {
	LiveTasks(ctx context.Context, ws, channel, exclude string) ([]flex.Task, error)
	CloseChannel(ctx context.Context, ch flex.ChannelRef, status string, routing bool) (flex.CloseResult, error)
	FetchTask(ctx context.Context, ws, wt string) (flex.Task, error)
}

// Options are the Handler's optional dependencies.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Metrics receives one EMF record per request; nil disables metrics.
	Metrics *metrics.Emitter
}

// Handler serves the webhook function. Build one per container with New
// and pass it to lambda.StartHandler; it implements lambda.Handler.
type Handler struct {
	cfg     config.Webhook
	secrets secretSource
	twilio  twilioAPI
	closer  *closer.Closer
	rules   taskrouter.Rules
	log     *slog.Logger
	now     func() time.Time

	metrics *metrics.Emitter
	served  atomic.Bool // false until the container's first request

	crmVerifiers verifierCache
}

// New returns a Handler.
func New(cfg config.Webhook, sec secretSource, api twilioAPI, log *slog.Logger, o Options) *Handler {
	h := &Handler{
		cfg:     cfg,
		secrets: sec,
		twilio:  api,
		closer:  closer.New(api),
		rules:   taskrouter.Rules{CloseEvents: cfg.CloseEvents},
		log:     log,
		now:     o.Now,
		metrics: o.Metrics,
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// record is what one request's summary log line says.
type record struct {
	route, method        string
	eventType, taskSID   string
	interaction, channel string
	outcome, reason      string
	attempts             int
	liveTask             string
	twilioTime           time.Duration // time spent in the close path's Twilio calls
	err                  error
}

// Invoke handles one Lambda invocation: payload is the API Gateway or
// Function URL event, the result its response. It never returns an error and
// never lets a panic through: a Go error would reach the caller as a bare 502,
// so even a bug is answered with a JSON 500, and logged.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	start := h.now()
	rec := &record{}
	resp := h.serveSafely(ctx, payload, rec)
	d := h.now().Sub(start)
	h.logSummary(ctx, rec, resp.Status, d)
	if h.metrics != nil {
		h.metrics.Record(metrics.Request{
			Route:        routeLabel(rec.route),
			Outcome:      rec.outcome,
			Duration:     d,
			FlexLatency:  rec.twilioTime,
			FlexAttempts: rec.attempts,
			ColdStart:    !h.served.Swap(true),
		})
	}
	b, err := gateway.Encode(resp)
	if err != nil {
		return []byte(`{"statusCode":500,"headers":{"Content-Type":"application/json"},"body":"{\"error\":\"internal error\"}"}`), nil
	}
	return b, nil
}

// serveSafely is serve with panics turned into 500 responses.
func (h *Handler) serveSafely(ctx context.Context, payload []byte, rec *record) (resp gateway.Response) {
	defer func() {
		if p := recover(); p != nil {
			h.log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			rec.outcome, rec.err = outcomeFailedPermanent, fmt.Errorf("panic: %v", p)
			resp = errorResponse(http.StatusInternalServerError, "internal error")
		}
	}()
	return h.serve(ctx, payload, rec)
}

func (h *Handler) serve(ctx context.Context, payload []byte, rec *record) gateway.Response {
	req, err := gateway.Decode(payload, gateway.Options{BaseURL: h.cfg.PublicBaseURL, MaxBody: MaxBody})
	if err != nil {
		return h.fail(rec, "", err)
	}
	rec.route, rec.method = req.Path, req.Method
	var route func(context.Context, *gateway.Request, *record) (gateway.Response, error)
	switch req.Path {
	case RouteTaskRouter:
		route = h.taskRouter
	case RouteCRM:
		route = h.crm
	default:
		rec.route = "unknown"
		return h.fail(rec, "", errUnknownRoute)
	}
	if req.Method != http.MethodPost {
		resp := h.fail(rec, req.Path, errMethod)
		resp.Header["Allow"] = http.MethodPost
		return resp
	}
	resp, err := route(ctx, req, rec)
	if err != nil {
		return h.fail(rec, req.Path, err)
	}
	return resp
}

// routeLabel is the metric dimension of a route: a fixed word, never a
// client-supplied path.
func routeLabel(path string) string {
	switch path {
	case RouteTaskRouter:
		return "taskrouter"
	case RouteCRM:
		return "crm"
	}
	return "unknown"
}

// fail records err and answers it.
func (h *Handler) fail(rec *record, route string, err error) gateway.Response {
	resp, outcome := respondError(route, err)
	rec.err, rec.outcome = err, outcome
	return resp
}

// logSummary writes the one line that describes a request.
func (h *Handler) logSummary(ctx context.Context, rec *record, status int, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("route", rec.route),
		slog.String("outcome", rec.outcome),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("method", rec.method)
	add("event_type", rec.eventType)
	add("task_sid", rec.taskSID)
	add("interaction_sid", rec.interaction)
	add("channel_sid", rec.channel)
	add("reason", rec.reason)
	add("live_task_sid", rec.liveTask)
	if rec.attempts > 0 {
		attrs = append(attrs, slog.Int("attempts", rec.attempts))
	}
	level := slog.LevelInfo
	if rec.err != nil {
		attrs = append(attrs, slog.String("error", logText(rec.err)))
		if status >= 500 {
			level = slog.LevelError
		} else {
			level = slog.LevelWarn
		}
	}
	h.log.LogAttrs(ctx, level, "request", attrs...)
}

// logText is err's text for the summary log. A CRM validation error quotes
// the caller's value in the answer, where it helps the CRM; the log keeps
// only the field and the reason, since the value may be personal data.
func logText(err error) string {
	var ve *crm.ValidationError
	if errors.As(err, &ve) && ve.Got != "" {
		return strings.Replace(err.Error(), ve.Error(), ve.Unquoted(), 1)
	}
	return err.Error()
}

// close runs job through the closer, recording attempts and time spent.
func (h *Handler) close(ctx context.Context, job closer.Job, rec *record) (closer.Result, error) {
	start := h.now()
	res, err := h.closer.Close(ctx, job)
	rec.twilioTime += h.now().Sub(start)
	rec.attempts += res.Attempts
	return res, err
}
