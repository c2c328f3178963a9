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

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
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
	FetchChannelCounted(ctx context.Context, ch flex.ChannelRef) (flex.Channel, int, error)
	CloseChannel(ctx context.Context, ch flex.ChannelRef, status string, routing bool) (flex.CloseResult, error)
	FetchTask(ctx context.Context, ws, wt string) (flex.Task, error)
	Events(ctx context.Context, ws string, f flex.EventFilter, visit func(flex.Event) error) error
}

// enqueuer sends close jobs to the durable queue (*queue.Sender).
type enqueuer interface {
	Enqueue(ctx context.Context, m closejob.Message) error
}

// Options are the Handler's optional dependencies.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Metrics receives one EMF record per request; nil disables metrics.
	Metrics *metrics.Emitter
	// Queue, when set, switches to durable mode: close jobs are enqueued
	// for the worker instead of run inline.
	Queue enqueuer
}

// Handler serves the webhook function. Build one per container with New
// and pass it to lambda.StartHandler; it implements lambda.Handler.
type Handler struct {
	cfg     config.Webhook
	secrets secretSource
	twilio  twilioAPI
	process *closejob.Processor
	queue   enqueuer
	rules   taskrouter.Rules
	log     *slog.Logger
	now     func() time.Time

	metrics *metrics.Emitter
	served  atomic.Bool // false until the container's first request

	crmVerifiers verifierCache
	sourceAuths  sourceAuthCache
}

// New returns a Handler that closes through process, the close path the
// functions share (dependencies.Container.Close): with an idempotency store
// behind it, each event's close happens once and duplicates get the
// recorded outcome.
func New(cfg config.Webhook, process *closejob.Processor, sec secretSource, api twilioAPI, log *slog.Logger, o Options) *Handler {
	h := &Handler{
		cfg:     cfg,
		secrets: sec,
		twilio:  api,
		process: process,
		queue:   o.Queue,
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
	calls                int // distinct Twilio calls the attempts were for
	liveTask             string
	twilioTime           time.Duration // time spent in the close path's Twilio calls
	replayed             bool          // the outcome came from the idempotency store
	dryRunRequest        string        // DRY_RUN: the Flex update that was not sent
	err                  error
	shape                gateway.Shape // the event's shape, which the response matches
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
			FlexCalls:    rec.calls,
			ColdStart:    !h.served.Swap(true),
		})
	}
	resp.Shape = rec.shape
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
	rec.route, rec.method, rec.shape = req.Path, req.Method, req.Shape
	source, isSource := h.sourceRoute(req.Path)
	if req.Path != RouteTaskRouter && req.Path != RouteCRM && !isSource {
		rec.route = "unknown"
		return h.fail(rec, "", errUnknownRoute)
	}
	if req.Method != http.MethodPost {
		resp := h.fail(rec, req.Path, errMethod)
		resp.Header["Allow"] = http.MethodPost
		return resp
	}
	// Direct calls, not a func value: rec then stays on the stack.
	var resp gateway.Response
	if req.Path == RouteTaskRouter {
		resp, err = h.taskRouter(ctx, req, rec)
	} else if isSource {
		resp, err = h.crmSource(ctx, req, rec, source)
	} else {
		resp, err = h.crm(ctx, req, rec)
	}
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
	if strings.HasPrefix(path, crmSourcePrefix) {
		return "crm" // a configured source: the route was matched before
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
	var buf [16]slog.Attr // enough for every field: no allocation for the list
	attrs := append(buf[:0],
		slog.String("route", rec.route),
		slog.String("outcome", rec.outcome),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	)
	for _, f := range [...]struct{ k, v string }{
		{"method", rec.method},
		{"event_type", rec.eventType},
		{"task_sid", rec.taskSID},
		{"interaction_sid", rec.interaction},
		{"channel_sid", rec.channel},
		{"reason", rec.reason},
		{"live_task_sid", rec.liveTask},
		{"dry_run_request", rec.dryRunRequest},
	} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.k, f.v))
		}
	}
	if rec.attempts > 0 {
		attrs = append(attrs, slog.Int("attempts", rec.attempts))
	}
	if rec.replayed {
		attrs = append(attrs, slog.Bool("replayed", true))
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

// keyed reports whether jobs need their idempotency key: with a store or a
// queue. Without either the key (a hash) is not computed at all.
func (h *Handler) keyed() bool { return h.process.Stored() || h.queue != nil }

// dispatch hands a close job on: to the queue in durable mode (after
// answering duplicates from the idempotency store), else to the processor
// inline. key is the event's idempotency key, "" when !h.keyed(). queued
// reports a job left for the worker.
func (h *Handler) dispatch(ctx context.Context, key string, job channelclose.Job, rec *record) (res closejob.Result, queued bool, err error) {
	msg := closejob.Message{Job: job}
	if h.keyed() {
		msg = closejob.NewMessage(key, job, h.now())
	}
	if h.queue != nil {
		if res, ok, err := h.process.Check(ctx, msg); err != nil || ok {
			rec.replayed = ok
			return res, false, replayedFailure(res, err)
		}
		if err := h.queue.Enqueue(ctx, msg); err != nil {
			return closejob.Result{}, false, &enqueueError{err}
		}
		rec.outcome = outcomeQueued
		return closejob.Result{}, true, nil
	}
	start := h.now()
	res, err = h.process.Run(ctx, msg)
	rec.twilioTime += h.now().Sub(start)
	rec.attempts += res.Attempts
	rec.calls += res.Calls
	rec.replayed = res.Replayed
	rec.dryRunRequest = ""
	if res.Outcome == channelclose.DryRun {
		rec.dryRunRequest = res.Request
	}
	return res, false, replayedFailure(res, err)
}

// replayedFailure turns a replayed failed_permanent outcome into the error
// the first delivery got, so a duplicate is answered as the original was
// (502), in either mode.
func replayedFailure(res closejob.Result, err error) error {
	if err == nil && res.Replayed && res.Outcome == closejob.OutcomeFailedPermanent {
		return &recordedFailure{res.Failure}
	}
	return err
}

// enqueueError is a failure to put a job on the queue: never a silent drop,
// always a 503 so the sender can try again.
type enqueueError struct{ err error }

func (e *enqueueError) Error() string        { return "enqueue close job: " + e.err.Error() }
func (e *enqueueError) Unwrap() error        { return e.err }
func (e *enqueueError) RetryableError() bool { return true }

// recordedFailure replays a close that failed for good earlier.
type recordedFailure struct{ reason string }

func (e *recordedFailure) Error() string { return "recorded permanent failure: " + e.reason }
