package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
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
	"github.com/flexhook/flexhook/internal/retry"
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

	crmVerifiers authCache[*crm.Verifier]
	sourceAuths  authCache[*crm.SourceAuth]
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
	attrs = appendNonEmpty(attrs, "method", rec.method, "event_type", rec.eventType, "task_sid", rec.taskSID,
		"interaction_sid", rec.interaction, "channel_sid", rec.channel, "reason", rec.reason,
		"live_task_sid", rec.liveTask, "dry_run_request", rec.dryRunRequest)
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

// appendNonEmpty appends a string attribute for each key, value pair of kv
// whose value is not empty.
func appendNonEmpty(attrs []slog.Attr, kv ...string) []slog.Attr {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			attrs = append(attrs, slog.String(kv[i], kv[i+1]))
		}
	}
	return attrs
}

// verifyFresh runs verify with the current secret. When it fails with one
// of retryOn, the credentials may have been rotated since the secret was
// cached: the secret is refreshed (at most once a minute, see
// secrets.Cache.Refresh) and verify repeated once, unless the fresh secret
// is itself unusable. It returns the secret the answer came from.
func (h *Handler) verifyFresh(ctx context.Context, verify func(*secrets.Twilio) error, retryOn ...error) (*secrets.Twilio, error) {
	sec, err := h.secrets.Get(ctx)
	if err != nil {
		return nil, err
	}
	err = verify(sec)
	if isAny(err, retryOn...) {
		if fresh, changed, rerr := h.secrets.Refresh(ctx); rerr == nil && changed {
			if ferr := verify(fresh); !errors.As(ferr, new(*secrets.FormatError)) {
				sec, err = fresh, ferr
			}
		}
	}
	return sec, err
}

// isAny reports whether err is one of targets, as errors.Is tells.
func isAny(err error, targets ...error) bool {
	return slices.ContainsFunc(targets, func(t error) bool { return errors.Is(err, t) })
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

// Outcomes, as logged and counted. channelclose.Outcome values are used as they
// are; these are the edge's own.
const (
	outcomeIgnored         = "ignored"
	outcomeRejectedAuth    = "rejected_auth"
	outcomeInvalid         = "invalid"
	outcomeFailedTransient = "failed_transient"
	outcomeFailedPermanent = "failed_permanent"
	outcomeQueued          = "queued"
	outcomeDuplicate       = "duplicate"
)

// Errors of the edge itself.
var (
	errUnknownRoute = errors.New("no such route")
	errMethod       = errors.New("method not allowed")
	errMediaType    = errors.New("unsupported content type")
)

// defaultRetryAfter is suggested with a 503 when Twilio gave no Retry-After.
const defaultRetryAfter = 5 * time.Second

// respondError is the one table that maps error classes to HTTP. Messages
// are safe for the caller: they name fields and classes, never secrets or
// internal addresses. route selects the auth status (TaskRouter signature
// failures are 403, CRM authentication failures 401) and the answer to a
// duplicate still in progress (TaskRouter 503, CRM 409).
//
// Outcomes that are not errors are answered by the routes themselves:
// TaskRouter always 204 (closed, already_closed, not_closable,
// skipped_channel_state, skipped_live_task, not_found, ignored, queued);
// CRM 200 with the outcome JSON (404 for not_found, 202 for queued).
func respondError(route string, err error) (gateway.Response, string) {
	var (
		fieldErr  *taskrouter.FieldError
		formatErr *secrets.FormatError
		flexErr   *flex.Error
		unknown   *unknownTaskError
	)
	switch {
	case errors.Is(err, gateway.ErrBodyTooLarge):
		return errorResponse(http.StatusRequestEntityTooLarge, "request body is larger than 256 KiB"), outcomeInvalid
	case errors.Is(err, gateway.ErrBadBase64):
		return errorResponse(http.StatusBadRequest, "request body is not valid base64"), outcomeInvalid
	case errors.Is(err, gateway.ErrMalformedEvent):
		return errorResponse(http.StatusBadRequest, "not an API Gateway or Function URL event"), outcomeInvalid
	case errors.Is(err, errUnknownRoute):
		return errorResponse(http.StatusNotFound, "no such route; use POST /taskrouter or POST /crm"), outcomeInvalid
	case errors.Is(err, errMethod):
		return errorResponse(http.StatusMethodNotAllowed, "method not allowed; use POST"), outcomeInvalid
	case errors.Is(err, errMediaType):
		return errorResponse(http.StatusUnsupportedMediaType, err.Error()), outcomeInvalid
	case errors.As(err, &fieldErr):
		return errorResponse(http.StatusBadRequest, fieldErr.Error()), outcomeInvalid
	case isAny(err, taskrouter.ErrNotSigned, taskrouter.ErrBadSignature, taskrouter.ErrWrongAccount, taskrouter.ErrTooOld):
		return errorResponse(http.StatusForbidden, authMessage(err)), outcomeRejectedAuth
	case isCRMAuth(err):
		r := errorResponse(http.StatusUnauthorized, authMessage(err))
		r.Header["WWW-Authenticate"] = `Bearer realm="flexhook"`
		return r, outcomeRejectedAuth
	case isCRMInvalid(err):
		return crmInvalidResponse(err), outcomeInvalid
	case errors.Is(err, closejob.ErrInProgress):
		status := http.StatusConflict
		if route == RouteTaskRouter {
			// TaskRouter never retries a 4xx, and the first copy may still
			// fail: only a 5xx keeps the event alive (with #rp=5xx).
			status = http.StatusServiceUnavailable
		}
		r := errorResponse(status, "the same event is being processed; retry later")
		r.Header["Retry-After"] = strconv.Itoa(int(defaultRetryAfter / time.Second))
		return r, outcomeDuplicate
	case errors.Is(err, closejob.ErrPayloadMismatch):
		return errorResponse(http.StatusUnprocessableEntity, "this idempotency key was used for a different close"), outcomeInvalid
	case errors.As(err, new(*recordedFailure)):
		return errorResponse(http.StatusBadGateway, "Twilio refused this close earlier; not retried"), outcomeFailedPermanent
	case errors.As(err, &unknown):
		return errorResponse(http.StatusNotFound, unknown.Error()), string(channelclose.NotFound)
	case errors.Is(err, flex.ErrNotFound):
		return errorResponse(http.StatusNotFound, "not found in Twilio"), string(channelclose.NotFound)
	case errors.Is(err, flex.ErrInvalidSID):
		return errorResponse(http.StatusUnprocessableEntity, err.Error()), outcomeInvalid
	case errors.As(err, &formatErr):
		return errorResponse(http.StatusInternalServerError, "the credentials secret is misconfigured"), outcomeFailedPermanent
	case retry.Retryable(err):
		after := defaultRetryAfter
		if errors.As(err, &flexErr) && flexErr.RetryAfter > after {
			after = flexErr.RetryAfter
		}
		r := errorResponse(http.StatusServiceUnavailable, "temporarily unable to reach Twilio or AWS; retry later")
		r.Header["Retry-After"] = strconv.Itoa(int((after + time.Second - 1) / time.Second))
		return r, outcomeFailedTransient
	case errors.Is(err, flex.ErrUnauthorized):
		return errorResponse(http.StatusBadGateway, "Twilio rejected flexhook's credentials"), outcomeFailedPermanent
	case errors.As(err, &flexErr):
		return errorResponse(http.StatusBadGateway, "Twilio refused the request"+codeSuffix(flexErr)), outcomeFailedPermanent
	}
	return errorResponse(http.StatusInternalServerError, "internal error"), outcomeFailedPermanent
}

func codeSuffix(e *flex.Error) string {
	if e.Code == 0 {
		return ""
	}
	return " (Twilio error " + strconv.Itoa(e.Code) + ")"
}

// authMessage says what failed without helping a forger more than needed.
func authMessage(err error) string {
	for _, m := range [...]struct {
		err error
		msg string
	}{
		{taskrouter.ErrNotSigned, "missing X-Twilio-Signature"},
		{taskrouter.ErrBadSignature, "invalid X-Twilio-Signature"},
		{taskrouter.ErrWrongAccount, "event is for another Twilio account"},
		{taskrouter.ErrTooOld, "event is outside the replay window"},
		{crm.ErrNotSigned, "missing webhook-signature or Authorization: Bearer"},
		{crm.ErrTimestamp, "webhook-timestamp is outside the allowed window"},
		{crm.ErrMalformedHeader, "malformed authentication headers"},
	} {
		if errors.Is(err, m.err) {
			return m.msg
		}
	}
	return "invalid signature or token"
}

// Response helpers. Every response is JSON and never cached.

func baseHeader() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
}

func errorResponse(status int, msg string) gateway.Response {
	return jsonResponse(status, struct {
		Error string `json:"error"`
	}{msg})
}

func jsonResponse(status int, v any) gateway.Response {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	return gateway.Response{Status: status, Header: baseHeader(), Body: b}
}

// noContent is TaskRouter's expected answer: 204 with a JSON content type.
func noContent() gateway.Response {
	return gateway.Response{Status: http.StatusNoContent, Header: baseHeader()}
}
