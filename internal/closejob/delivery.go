// Package closejob makes closes happen once: it names each event (its
// idempotency key), carries close jobs through the queue in durable mode, and
// runs them through the idempotency store so that a duplicate — a webhook
// retry, an SQS redelivery, a replay — gets the recorded outcome instead of a
// second Twilio call.
//
// The same Processor runs jobs inline in sync mode (webhook) and from the
// queue in durable mode (worker), so both modes close under the same rules.
package closejob

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/retry"
	"github.com/flexhook/flexhook/internal/secrets"
)

// MessageVersion is the version of the queue message format.
const MessageVersion = 1

// Message is one close job on the queue, with its identity.
type Message struct {
	Version     int              `json:"v"`
	Key         string           `json:"key"`         // idempotency key
	PayloadHash string           `json:"hash"`        // hash of what the job does
	ReceivedAt  time.Time        `json:"received_at"` // when the webhook accepted the event
	Job         channelclose.Job `json:"job"`
}

// NewMessage returns the message for job under key, stamped at now.
func NewMessage(key string, job channelclose.Job, now time.Time) Message {
	return Message{Version: MessageVersion, Key: key, PayloadHash: Hash(job), ReceivedAt: now.UTC(), Job: job}
}

// ErrBadMessage: a queue message that cannot be a close job. Retrying it
// cannot help.
var ErrBadMessage = errors.New("malformed close message")

// DecodeMessage parses and validates a queue message body.
func DecodeMessage(body string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	switch {
	case m.Version != MessageVersion:
		return Message{}, fmt.Errorf("%w: version %d", ErrBadMessage, m.Version)
	case m.Key == "":
		return Message{}, fmt.Errorf("%w: no key", ErrBadMessage)
	case m.PayloadHash != Hash(m.Job):
		return Message{}, fmt.Errorf("%w: payload hash does not match the job", ErrBadMessage)
	}
	if err := m.Job.Channel().Validate(); err != nil {
		return Message{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	return m, nil
}

// Encode renders the message as a queue message body.
func (m Message) Encode() (string, error) {
	b, err := json.Marshal(m)
	return string(b), err
}

// Hash identifies what a job does — which channel, to which status, how,
// and for which task — so that one key reused for a different close is
// recognised (ErrPayloadMismatch).
func Hash(j channelclose.Job) string {
	return idempotency.PayloadHash(j.InteractionSID, j.ChannelSID, j.Status,
		strconv.FormatBool(j.Routing), strconv.FormatBool(j.Guard), j.WorkspaceSID, j.TaskSID)
}

// Keys. A key is at most a few hundred bytes: client-supplied parts are
// hashed.

// TaskRouterKey names a TaskRouter event by its type and task: a task has
// one terminal event of each type, so this is stable across Twilio's
// retries, redeliveries and replays. Twilio's I-Twilio-Idempotency-Token
// header is deliberately not used: it is not signed, and Twilio does not
// document that it stays the same across retries (it may tell attempts
// apart), so keying on it could give one event two keys.
func TaskRouterKey(eventType, taskSID string) string {
	return "tr:" + eventType + ":" + taskSID
}

// CRMKey names a CRM callback: its Standard Webhooks webhook-id, else its
// Idempotency-Key header. A request with neither cannot be told apart from
// a later request for the same channel (which may have been reopened in
// between), so it gets a key of its own and is never deduplicated: a CRM
// that retries without an id may close twice, which Twilio's idempotent
// close and the live-task guard absorb.
func CRMKey(webhookID, idempotencyKey string) string {
	switch {
	case webhookID != "":
		return "crm:id:" + digest(webhookID)
	case idempotencyKey != "":
		return "crm:key:" + digest(idempotencyKey)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "crm:once:" + hex.EncodeToString(b[:])
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// DedupID is the SQS FIFO deduplication id of a key (≤ 128 characters of
// the allowed set).
func DedupID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// store is the idempotency store (*idempotency.DynamoDB or *idempotencytest.Memory).
type store interface {
	Begin(ctx context.Context, key, payloadHash string, lockUntil time.Time) (idempotency.Claim, error)
	Complete(ctx context.Context, key, owner, outcome, detail string, expiresAt time.Time) error
	Defer(ctx context.Context, key, owner, detail string, lockUntil time.Time) error
	Release(ctx context.Context, key, owner string) error
	Get(ctx context.Context, key string) (idempotency.Record, error)
}

// closeRunner runs one close job (*channelclose.Closer).
type closeRunner interface {
	Close(ctx context.Context, job channelclose.Job) (channelclose.Result, error)
}

// Outcome recorded for jobs that failed for good.
const OutcomeFailedPermanent = "failed_permanent"

// Retention is how long a processed key is remembered: longer than any
// message can live in the queue and its dead-letter queue (14 days), so
// no redelivery or redrive can repeat a close.
const Retention = 15 * 24 * time.Hour

// defaultLock bounds a claim when the context has no deadline.
const defaultLock = 30 * time.Second

// storeWriteTimeout bounds the writes that record or release a claim after
// the close. They run even when the request's context is done (the close
// happened and must be recorded), but never indefinitely.
const storeWriteTimeout = 2 * time.Second

// writeCtx is the context of a store write after the close.
func writeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), storeWriteTimeout)
}

// Result is what processing a message produced.
type Result struct {
	channelclose.Result
	// Replayed is true when the outcome comes from the store: an earlier
	// delivery of the same event did the work.
	Replayed bool
	// Failure is the recorded reason of a replayed failed_permanent outcome.
	Failure string
	// RecheckIn, when not zero, says the outcome (skipped_live_task) is
	// not final: deliver the message again after this long. Rechecks is
	// how many rechecks that makes.
	RecheckIn time.Duration
	Rechecks  int
}

// detail is what the store keeps to replay a result.
type detail struct {
	ChannelStatus string `json:"channel_status,omitempty"`
	LiveTaskSID   string `json:"live_task_sid,omitempty"`
	Reason        string `json:"reason,omitempty"`
	Failure       string `json:"failure,omitempty"`
	// Rechecks counts the rechecks of a skipped close so far: handed on
	// through a deferred claim, kept in the final record.
	Rechecks int `json:"rechecks,omitempty"`
}

// Recheck makes a skipped_live_task outcome not final: the job is checked
// again After later, up to Limit times, before the skip is recorded. Two
// tasks of one channel that end together each see the other still live;
// without a recheck both would skip and leave the conversation open.
//
// The count of rechecks lives in the idempotency record, not in SQS: the
// claim is deferred (idempotency Defer: still in progress, its lock moved
// to now+After, the count in its detail) and the worker reports the
// message as a batch item failure with its visibility set to After
// (ChangeMessageVisibility). The next delivery takes the claim over and
// reads the count back (Claim.Detail). The alternatives do not work on
// SQS FIFO: it has no per-message delay, so a re-enqueued message carrying
// the count would come back at once; and ApproximateReceiveCount also
// counts transient retries, and goaws always reports 1. A deferred claim
// also answers a duplicate webhook delivery in the meantime as in
// progress. Each recheck is one receive of the message, so Limit must stay
// below the queue's maxReceiveCount (config.MaxRecheckLimit). Without an
// idempotency store there is nowhere to keep the count, and a skip is final.
type Recheck struct {
	After time.Duration
	Limit int
}

// Processor runs close jobs at most once per key.
type Processor struct {
	closer  closeRunner
	store   store // nil: no idempotency store configured
	now     func() time.Time
	recheck Recheck
}

// NewProcessor returns a Processor. store may be nil (no persistent store:
// every delivery is processed; the live-task guard and Twilio's idempotent
// close still protect the conversation).
func NewProcessor(c closeRunner, s store, now func() time.Time) *Processor {
	if now == nil {
		now = time.Now
	}
	return &Processor{closer: c, store: s, now: now}
}

// Stored reports whether p has an idempotency store.
func (p *Processor) Stored() bool { return p.store != nil }

// WithRecheck returns a copy of p that rechecks skipped closes (queue mode).
func (p *Processor) WithRecheck(r Recheck) *Processor {
	q := *p
	if r.After <= 0 || r.Limit < 0 {
		r = Recheck{}
	}
	q.recheck = r
	return &q
}

// Errors callers map to responses.
var (
	// ErrInProgress: another delivery of the same event is being
	// processed now; try again later (409).
	ErrInProgress = idempotency.ErrInProgress
	// ErrPayloadMismatch: the key was used for a different close (422).
	ErrPayloadMismatch = idempotency.ErrPayloadMismatch
)

// PermanentError is a job that failed for good; its outcome is recorded so
// duplicates are not retried.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Run processes m: claims its key, closes, and records the outcome.
// A duplicate of a finished event returns the recorded Result (Replayed).
// Errors: ErrInProgress, ErrPayloadMismatch, an error whose RetryableError
// is true (the claim was released: deliver again later), or a
// *PermanentError (recorded).
func (p *Processor) Run(ctx context.Context, m Message) (Result, error) {
	if p.store == nil {
		res, err := p.closer.Close(ctx, m.Job)
		if err != nil && !retry.Retryable(err) && !ConfigError(err) {
			return Result{Result: res}, &PermanentError{Err: err}
		}
		return Result{Result: res}, err
	}
	lock := p.now().Add(defaultLock)
	if d, ok := ctx.Deadline(); ok {
		lock = d
	}
	claim, err := p.store.Begin(ctx, m.Key, m.PayloadHash, lock)
	if err != nil {
		return Result{}, fmt.Errorf("claim %s: %w", m.Key, err)
	}
	if claim.Done != nil {
		return replay(*claim.Done), nil
	}
	prev := detailOf(claim.Detail)
	job := m.Job
	// A recheck looks first at the task that blocked the previous run: if
	// an agent has since completed it (Park), the skip is final.
	job.Blocker = prev.LiveTaskSID
	res, err := p.closer.Close(ctx, job)
	wctx, cancel := writeCtx(ctx)
	defer cancel()
	if err == nil && res.Outcome == channelclose.DryRun {
		// A dry run changes nothing, so it must not consume the key.
		_ = p.store.Release(wctx, m.Key, claim.Owner)
		return Result{Result: res}, nil
	}
	if err != nil && (retry.Retryable(err) || ConfigError(err)) {
		// Let the next delivery try again: a transient failure may pass,
		// and a deployment fault (rejected credentials, a broken secret)
		// is not the event's outcome — once it is fixed, the event must
		// still close. If releasing fails, the lock expires at the deadline
		// and the next delivery takes over. A recheck keeps its count and
		// blocking task: its claim stays deferred, for a moment only.
		if claim.Detail == "" || p.store.Defer(wctx, m.Key, claim.Owner, claim.Detail, p.now().Add(time.Second)) != nil {
			_ = p.store.Release(wctx, m.Key, claim.Owner)
		}
		return Result{Result: res}, err
	}
	rechecks := prev.Rechecks
	if err == nil && res.Outcome == channelclose.SkippedLiveTask && res.Reason == "" && rechecks < p.recheck.Limit {
		db, _ := json.Marshal(detail{LiveTaskSID: res.LiveTaskSID, Rechecks: rechecks + 1})
		if derr := p.store.Defer(wctx, m.Key, claim.Owner, string(db), p.now().Add(p.recheck.After)); derr == nil {
			return Result{Result: res, RecheckIn: p.recheck.After, Rechecks: rechecks + 1}, nil
		}
		// The count cannot be kept: record the skip as final rather than
		// recheck without a bound.
	}
	outcome, d := string(res.Outcome), detail{ChannelStatus: res.ChannelStatus, LiveTaskSID: res.LiveTaskSID, Reason: res.Reason, Rechecks: rechecks}
	if err != nil {
		outcome, d.Failure = OutcomeFailedPermanent, err.Error()
		err = &PermanentError{Err: err}
	}
	db, _ := json.Marshal(d)
	if cerr := p.store.Complete(wctx, m.Key, claim.Owner, outcome, string(db), p.now().Add(Retention)); cerr != nil {
		// The close happened (or failed for good) but is not recorded; a
		// duplicate will run it again, which the idempotent close absorbs.
		if err == nil {
			return Result{Result: res}, nil
		}
	}
	return Result{Result: res}, err
}

// Check looks a message up without processing it, for the webhook in
// durable mode: a finished duplicate gets its recorded Result (ok true);
// ErrInProgress and ErrPayloadMismatch as in Run; otherwise ok is false and
// the message should be enqueued.
func (p *Processor) Check(ctx context.Context, m Message) (res Result, ok bool, err error) {
	if p.store == nil {
		return Result{}, false, nil
	}
	rec, err := p.store.Get(ctx, m.Key)
	switch {
	case errors.Is(err, idempotency.ErrNotFound):
		return Result{}, false, nil
	case err != nil:
		return Result{}, false, fmt.Errorf("look up %s: %w", m.Key, err)
	case rec.PayloadHash != m.PayloadHash:
		return Result{}, false, ErrPayloadMismatch
	case rec.Status == idempotency.StatusDone:
		return replay(rec), true, nil
	case rec.LockUntil.After(p.now()):
		return Result{}, false, ErrInProgress
	}
	// An abandoned claim: enqueue, the worker takes it over.
	return Result{}, false, nil
}

// Done reports whether key is recorded as finished, whatever payload it
// was recorded with: a sender whose redeliveries carry newer data than the
// first (Salesforce sends a record's latest data) asks whether the delivery
// itself was already handled. False without a store, or when the key is
// unknown or still in progress.
func (p *Processor) Done(ctx context.Context, key string) (bool, error) {
	if p.store == nil {
		return false, nil
	}
	rec, err := p.store.Get(ctx, key)
	switch {
	case errors.Is(err, idempotency.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up %s: %w", key, err)
	}
	return rec.Status == idempotency.StatusDone, nil
}

// detailOf reads what a deferred claim handed on: the recheck count and
// the task that blocked the close.
func detailOf(claimDetail string) detail {
	var d detail
	if claimDetail == "" || json.Unmarshal([]byte(claimDetail), &d) != nil {
		return detail{}
	}
	return d
}

func replay(rec idempotency.Record) Result {
	var d detail
	_ = json.Unmarshal([]byte(rec.Detail), &d)
	return Result{
		Result:   channelclose.Result{Outcome: channelclose.Outcome(rec.Outcome), ChannelStatus: d.ChannelStatus, LiveTaskSID: d.LiveTaskSID, Reason: d.Reason},
		Replayed: true,
		Failure:  d.Failure,
		Rechecks: d.Rechecks,
	}
}

// ConfigError reports a failure a deployment fix cures rather than the
// event's own: Twilio refusing flexhook's credentials (401, or 403 for a key
// without the permission), or a secret that is missing, unreadable or
// malformed. Such a failure is never recorded as the event's outcome; the
// worker retries it (and, if it lasts, the job reaches the dead-letter
// queue, from which it is redriven once the deployment is fixed).
func ConfigError(err error) bool {
	if errors.Is(err, flex.ErrUnauthorized) || errors.Is(err, flex.ErrForbidden) {
		return true
	}
	var format *secrets.FormatError
	var fetch *secrets.FetchError
	return errors.As(err, &format) || (errors.As(err, &fetch) && !fetch.RetryableError())
}
