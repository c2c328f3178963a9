package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/retry"
)

// processor runs close jobs once per key (*closejob.Processor).
type processor interface {
	Run(ctx context.Context, m closejob.Message) (closejob.Result, error)
}

// visibility delays a received message's next delivery (*queue.Client).
type visibility interface {
	ChangeVisibility(ctx context.Context, queueURL, receiptHandle string, d time.Duration) error
}

// Outcomes of a record besides the closer's (closed, already_closed,
// skipped_live_task, not_found, not_closable, skipped_channel_state,
// dry_run), as logged and counted.
const (
	// OutcomeFailedPermanent: the record cannot succeed (poison body, key
	// reused for another job, permanent Twilio refusal); acknowledged.
	OutcomeFailedPermanent = closejob.OutcomeFailedPermanent
	// OutcomeFailedTransient: the record failed and will be retried.
	OutcomeFailedTransient = "failed_transient"
	// OutcomeInProgress: another invocation holds the record's key; it
	// will be retried.
	OutcomeInProgress = "in_progress"
	// OutcomeBlocked: not processed because an earlier record of its FIFO
	// group is to be retried; it will be retried after it.
	OutcomeBlocked = "blocked"
	// OutcomeDeferred: not processed because the invocation's deadline was
	// too close; it will be retried.
	OutcomeDeferred = "deferred"
	// OutcomeRecheck: the close was skipped because another task was live,
	// and will be checked again after the recheck delay (RECHECK_AFTER,
	// see closejob.Recheck) before the skip is final.
	OutcomeRecheck = "recheck"
)

// Route is the metrics route of every record.
const Route = "sqs"

// Defaults of Options.
const (
	DefaultRetryBase = 10 * time.Second
	DefaultRetryMax  = 15 * time.Minute
	DefaultReserve   = time.Second
	// visibilityCallTimeout bounds one ChangeMessageVisibility call.
	visibilityCallTimeout = 2 * time.Second
)

// Options tune a Handler. Zero values take the defaults.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Metrics receives one EMF record per record; nil disables metrics.
	Metrics *metrics.Emitter
	// RetryBase is the delay before the first retry of a failed record
	// (default DefaultRetryBase); the n-th receive waits RetryBase·2^(n-1).
	RetryBase time.Duration
	// RetryMax caps that delay (default DefaultRetryMax, at most 12 h).
	RetryMax time.Duration
	// InProgressDelay is the delay before retrying a record whose key
	// another invocation holds (default RetryBase).
	InProgressDelay time.Duration
	// Reserve is the time kept before the deadline: a record not started
	// when less remains is deferred (default DefaultReserve).
	Reserve time.Duration
}

// Handler is the worker function. Build one per container with New and pass
// Handle to lambda.Start.
type Handler struct {
	proc   processor
	vis    visibility
	log    *slog.Logger
	now    func() time.Time
	o      Options
	served atomic.Bool // false until the container's first record
}

// New returns a Handler running jobs through p and delaying retries
// through v.
func New(p processor, v visibility, log *slog.Logger, o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	o.RetryMax = min(max(o.RetryMax, o.RetryBase), queue.MaxVisibility)
	if o.InProgressDelay <= 0 {
		o.InProgressDelay = o.RetryBase
	}
	if o.Reserve <= 0 {
		o.Reserve = DefaultReserve
	}
	return &Handler{proc: p, vis: v, log: log, now: o.Now, o: o}
}

// Backoff returns the delay before the next delivery of a message received
// receiveCount times: base·2^(receiveCount-1), capped at limit.
func Backoff(receiveCount int, base, limit time.Duration) time.Duration {
	return retry.Backoff{Base: base, Max: limit}.Delay(receiveCount, 0)
}

// record is what happened to one SQS record; its log line and metrics.
type record struct {
	msgID        string
	receiveCount int
	group        string
	msg          closejob.Message // zero when the body did not decode
	res          closejob.Result
	outcome      string
	failed       bool          // report as a batch item failure
	delay        time.Duration // visibility to set when failed (0: leave)
	flexTime     time.Duration
	err          error
	visErr       error
}

// Handle processes a batch and returns the records to retry. It never
// returns an error: a Go error would make Lambda retry the whole batch,
// including the records that were done.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	blocked := map[string]time.Duration{} // FIFO group → delay of its failed record
	for _, r := range ev.Records {
		start := h.now()
		rec := h.handleSafely(ctx, r, blocked)
		if rec.failed {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			if rec.group != "" {
				if _, ok := blocked[rec.group]; !ok {
					blocked[rec.group] = rec.delay
				}
			}
			if rec.delay > 0 {
				rec.visErr = h.delay(ctx, r, rec.delay)
			}
		}
		d := h.now().Sub(start)
		h.logRecord(ctx, rec, d)
		if h.o.Metrics != nil {
			h.o.Metrics.Record(metrics.Request{
				Route:        Route,
				Outcome:      rec.outcome,
				Duration:     d,
				FlexLatency:  rec.flexTime,
				FlexAttempts: rec.res.Attempts,
				FlexCalls:    rec.res.Calls,
				ColdStart:    !h.served.Swap(true),
			})
		}
	}
	return resp, nil
}

// handleSafely is handle with a panic turned into a retryable failure.
func (h *Handler) handleSafely(ctx context.Context, r events.SQSMessage, blocked map[string]time.Duration) (rec *record) {
	rec = &record{msgID: r.MessageId, receiveCount: receiveCount(r)}
	defer func() {
		if p := recover(); p != nil {
			h.log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			rec.outcome, rec.failed = OutcomeFailedTransient, true
			rec.delay = Backoff(rec.receiveCount, h.o.RetryBase, h.o.RetryMax)
			rec.err = fmt.Errorf("panic: %v", p)
		}
	}()
	h.handle(ctx, r, rec, blocked)
	return rec
}

func (h *Handler) handle(ctx context.Context, r events.SQSMessage, rec *record, blocked map[string]time.Duration) {
	m, decodeErr := closejob.DecodeMessage(r.Body)
	rec.group = r.Attributes[queue.AttrMessageGroupID]
	if decodeErr == nil {
		rec.msg = m
		if rec.group == "" && strings.HasSuffix(r.EventSourceARN, ".fifo") {
			rec.group = m.Job.ChannelSID
		}
	}
	if d, ok := blocked[rec.group]; ok && rec.group != "" {
		rec.outcome, rec.failed, rec.delay = OutcomeBlocked, true, d
		return
	}
	if decodeErr != nil {
		rec.outcome, rec.err = OutcomeFailedPermanent, decodeErr
		return
	}
	if dl, ok := ctx.Deadline(); ok && dl.Sub(h.now()) < h.o.Reserve {
		rec.outcome, rec.failed = OutcomeDeferred, true
		return
	}
	start := h.now()
	res, err := h.proc.Run(ctx, m)
	rec.flexTime, rec.res, rec.err = h.now().Sub(start), res, err
	var perm *closejob.PermanentError
	switch {
	case err == nil && string(res.Outcome) == closejob.OutcomeFailedPermanent:
		rec.outcome = OutcomeFailedPermanent
		if res.Failure != "" {
			rec.err = errors.New(res.Failure)
		}
	case err == nil && res.RecheckIn > 0:
		// Not final: the message comes back after RecheckIn (a batch item
		// failure with that visibility), and the FIFO group — the
		// channel — waits for it.
		rec.outcome, rec.failed, rec.delay = OutcomeRecheck, true, res.RecheckIn
	case err == nil:
		rec.outcome = string(res.Outcome)
	case errors.As(err, &perm), errors.Is(err, closejob.ErrPayloadMismatch):
		rec.outcome = OutcomeFailedPermanent
	case errors.Is(err, closejob.ErrInProgress):
		rec.outcome, rec.failed, rec.delay = OutcomeInProgress, true, h.o.InProgressDelay
	default:
		// Retryable, or unclassified: retrying is safe (the Processor
		// released its claim) and the dead-letter queue bounds it.
		rec.outcome, rec.failed = OutcomeFailedTransient, true
		rec.delay = Backoff(rec.receiveCount, h.o.RetryBase, h.o.RetryMax)
	}
}

// delay sets the visibility of a failed record, best effort.
func (h *Handler) delay(ctx context.Context, r events.SQSMessage, d time.Duration) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	url, err := queue.URLFromARN(r.EventSourceARN)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, visibilityCallTimeout)
	defer cancel()
	return h.vis.ChangeVisibility(ctx, url, r.ReceiptHandle, d)
}

// receiveCount is the record's ApproximateReceiveCount, at least 1.
func receiveCount(r events.SQSMessage) int {
	n, err := strconv.Atoi(r.Attributes[queue.AttrReceiveCount])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// logRecord writes the one line that describes a record.
func (h *Handler) logRecord(ctx context.Context, rec *record, d time.Duration) {
	attrs := []slog.Attr{
		slog.String("outcome", rec.outcome),
		slog.String("message_id", rec.msgID),
		slog.Int("receive_count", rec.receiveCount),
		slog.Bool("replayed", rec.res.Replayed),
		slog.Int("attempts", rec.res.Attempts),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
	}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("key", rec.msg.Key)
	add("source", rec.msg.Job.Source)
	add("event_type", rec.msg.Job.EventType)
	add("task_sid", rec.msg.Job.TaskSID)
	add("interaction_sid", rec.msg.Job.InteractionSID)
	add("channel_sid", rec.msg.Job.ChannelSID)
	add("live_task_sid", rec.res.LiveTaskSID)
	add("reason", rec.res.Reason)
	add("channel_status", rec.res.ChannelStatus)
	if rec.res.Rechecks > 0 {
		attrs = append(attrs, slog.Int("rechecks", rec.res.Rechecks))
	}
	if rec.res.Outcome == channelclose.DryRun {
		add("dry_run_request", rec.res.Request) // DRY_RUN: the Flex update not sent
	}
	if !rec.msg.ReceivedAt.IsZero() {
		attrs = append(attrs, slog.Float64("queue_age_s", h.now().Sub(rec.msg.ReceivedAt).Seconds()))
	}
	if rec.failed {
		attrs = append(attrs, slog.Bool("retry", true))
		if rec.delay > 0 {
			attrs = append(attrs, slog.Float64("retry_in_s", rec.delay.Seconds()))
		}
	}
	if rec.err != nil {
		attrs = append(attrs, slog.String("error", rec.err.Error()))
	}
	if rec.visErr != nil {
		attrs = append(attrs, slog.String("visibility_error", rec.visErr.Error()))
	}
	level := slog.LevelInfo
	switch rec.outcome {
	case OutcomeFailedPermanent:
		level = slog.LevelError
	case OutcomeFailedTransient, OutcomeInProgress, OutcomeDeferred:
		level = slog.LevelWarn
	}
	h.log.LogAttrs(ctx, level, "job", attrs...)
}
