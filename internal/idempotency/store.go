package idempotency

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Status is the state of a record.
type Status string

// The states of a record.
const (
	// StatusInProgress: an invocation has claimed the key and is
	// processing the event.
	StatusInProgress Status = "in_progress"
	// StatusDone: the event was processed; its outcome is recorded.
	StatusDone Status = "done"
)

// Limits shared by both stores, so they accept and refuse the same input.
const (
	// MaxKeyBytes is the longest key accepted, DynamoDB's partition key
	// limit.
	MaxKeyBytes = 2048
	// MaxFieldBytes is the longest payload hash, owner, outcome or detail
	// accepted.
	MaxFieldBytes = 32 << 10
)

// DefaultClaimRetention is how long an in-progress claim is kept after its
// lock expires. While kept, a retry with the same payload takes it over
// and one with a different payload gets ErrPayloadMismatch; afterwards the
// key is free.
const DefaultClaimRetention = 24 * time.Hour

// Record is the stored state of one key.
//
// Times have the precision they are stored with: LockUntil and UpdatedAt
// milliseconds, ExpiresAt seconds (rounded up, so a record never expires
// before the time asked for). All are in UTC.
type Record struct {
	Key         string    // the caller's idempotency key
	Status      Status    // StatusInProgress or StatusDone
	PayloadHash string    // the PayloadHash of the request that claimed the key
	Outcome     string    // set when Status is StatusDone, e.g. "closed"
	Detail      string    // optional caller data returned on replay
	LockUntil   time.Time // while StatusInProgress: the claim's lock expiry
	ExpiresAt   time.Time // the record is absent from this instant on
	Owner       string    // token of the invocation that claimed the key
	UpdatedAt   time.Time // when the record was last written
}

// Claim is the result of a successful Begin: either a fresh claim to
// process (Owner set, Done nil) or a completed record to replay (Done set,
// Owner empty).
type Claim struct {
	// Owner is the random token identifying this processing attempt;
	// pass it to Complete or Release.
	Owner string
	// TakenOver reports that the claim replaced an in-progress claim whose
	// lock had expired (its owner crashed or ran out of time), so the
	// event's side effect may already have happened once.
	TakenOver bool
	// Done, when non-nil, is the completed record of an earlier attempt
	// with the same payload: replay its outcome and do not call Twilio.
	Done *Record
	// Detail, when TakenOver, is the detail the previous claim recorded
	// with Defer ("" when it recorded none): the state it handed on to
	// the next attempt.
	Detail string
}

// Options tune a store. Zero values take the defaults.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Conditions of a key's record; test with errors.Is.
var (
	// ErrLockLost: the key is not (or no longer) claimed by the given
	// owner — it was taken over after the lock expired, released, already
	// completed, or expired.
	ErrLockLost = errors.New("idempotency claim lost")
	// ErrNotFound: no live record has the key.
	ErrNotFound = errors.New("idempotency record not found")
)

// PayloadHash returns the hex SHA-256 of parts, each prefixed with its
// length, so that ("ab", "c") and ("a", "bc") hash differently. Callers pass
// the request fields that define the event (event type, SIDs, …) in a fixed
// order.
func PayloadHash(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newOwner returns a random claim token (130 bits, base32).
func newOwner() string { return rand.Text() }

// The stored forms of times: epoch seconds for expires_at (DynamoDB's TTL
// format), epoch milliseconds for lock_until and updated_at. Deadlines are
// rounded up so that storing never shortens them.

// expirySeconds returns t as epoch seconds, rounded up.
func expirySeconds(t time.Time) int64 {
	s := t.Unix()
	if t.After(time.Unix(s, 0)) {
		s++
	}
	return s
}

// lockMillis returns t as epoch milliseconds, rounded up.
func lockMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.After(time.UnixMilli(ms)) {
		ms++
	}
	return ms
}

// The rules below are the store's semantics, shared by DynamoDB and the
// in-memory store of package idempotencytest so that the two cannot drift:
// argument checks (Check*), the decision of Begin (Judge) and the records
// each step writes (NewClaim, Deferred, Completed).

// Live reports whether a record expiring at expiresAt (epoch seconds) is
// still present at now.
func Live(expiresAt int64, now time.Time) bool { return now.Unix() < expiresAt }

// locked reports whether a lock held until lockUntil (epoch milliseconds)
// is still held at now.
func locked(lockUntil int64, now time.Time) bool { return now.UnixMilli() < lockUntil }

// Begin's refusals; test with errors.Is.
var (
	// ErrInProgress: another invocation holds an unexpired claim on the
	// key. Answer 409 and let the sender retry later.
	ErrInProgress = errors.New("idempotency key is being processed")
	// ErrPayloadMismatch: the key is recorded with a different payload
	// hash, so it was reused for a different request. Answer 422.
	ErrPayloadMismatch = errors.New("idempotency key reused with a different payload")
)

// Judge decides Begin for the live record cur (nil when the key has none)
// and the caller's payload hash: it returns the record to replay, an error,
// or (nil, nil) when the caller may claim the key — because it has no live
// record, or because its in-progress claim's lock has expired.
func Judge(cur *Record, payloadHash string, now time.Time) (*Record, error) {
	switch {
	case cur == nil:
		return nil, nil
	case cur.PayloadHash != payloadHash:
		return nil, ErrPayloadMismatch
	case cur.Status == StatusDone:
		return cur, nil
	case locked(cur.LockUntil.UnixMilli(), now):
		return nil, ErrInProgress
	default:
		return nil, nil
	}
}

// ErrInvalidArgument: a caller passed a value the store refuses (an empty
// or oversized key, a time not in the future, …). Nothing was written.
var ErrInvalidArgument = errors.New("invalid argument")

// checkString refuses an empty, oversized or non-UTF-8 value: DynamoDB
// would store invalid UTF-8 altered, so both stores refuse it.
func checkString(name, v string, limit int) error {
	switch {
	case v == "":
		return fmt.Errorf("%w: empty %s", ErrInvalidArgument, name)
	case len(v) > limit:
		return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrInvalidArgument, name, len(v), limit)
	case !utf8.ValidString(v):
		return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidArgument, name)
	}
	return nil
}

// checkFuture refuses a deadline that is not after now.
func checkFuture(name string, t, now time.Time) error {
	if !t.After(now) {
		return fmt.Errorf("%w: %s %s is not after now (%s)", ErrInvalidArgument, name,
			t.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// CheckBegin validates Begin's arguments.
func CheckBegin(key, payloadHash string, lockUntil, now time.Time) error {
	return errors.Join(
		checkString("key", key, MaxKeyBytes),
		checkString("payload hash", payloadHash, MaxFieldBytes),
		checkFuture("lock expiry", lockUntil, now),
	)
}

// CheckComplete validates Complete's arguments.
func CheckComplete(key, owner, outcome, detail string, expiresAt, now time.Time) error {
	var detailErr error
	if detail != "" {
		detailErr = checkString("detail", detail, MaxFieldBytes)
	}
	return errors.Join(
		checkString("key", key, MaxKeyBytes),
		checkString("owner", owner, MaxFieldBytes),
		checkString("outcome", outcome, MaxFieldBytes),
		detailErr,
		checkFuture("expiry", expiresAt, now),
	)
}

// CheckDefer validates Defer's arguments.
func CheckDefer(key, owner, detail string, lockUntil, now time.Time) error {
	return errors.Join(
		checkString("key", key, MaxKeyBytes),
		checkString("owner", owner, MaxFieldBytes),
		checkString("detail", detail, MaxFieldBytes),
		checkFuture("lock expiry", lockUntil, now),
	)
}

// Deferred returns cur, still in progress, with its lock moved to
// lockUntil and detail recorded for the attempt that takes it over.
func Deferred(cur Record, detail string, lockUntil, now time.Time) Record {
	cur.Detail = detail
	cur.LockUntil = time.UnixMilli(lockMillis(lockUntil)).UTC()
	cur.ExpiresAt = time.Unix(expirySeconds(lockUntil.Add(DefaultClaimRetention)), 0).UTC()
	cur.UpdatedAt = time.UnixMilli(now.UnixMilli()).UTC()
	return cur
}

// CheckKey validates Get's argument.
func CheckKey(key string) error { return checkString("key", key, MaxKeyBytes) }

// CheckRelease validates Release's arguments.
func CheckRelease(key, owner string) error {
	return errors.Join(
		checkString("key", key, MaxKeyBytes),
		checkString("owner", owner, MaxFieldBytes),
	)
}

// Precheck is what a store call op on key answers before it does anything:
// ContextError when ctx is done, else check (an argument check's result)
// as an OpError, else nil.
func Precheck(ctx context.Context, op, key string, check error) error {
	if err := ctx.Err(); err != nil {
		return ContextError(op, key, err)
	}
	if check != nil {
		return OpError(op, key, check)
	}
	return nil
}

// OpError adds the operation and key to a sentinel or validation error.
func OpError(op, key string, err error) error {
	return fmt.Errorf("idempotency %s %q: %w", op, key, err)
}

// NewClaim returns the in-progress record Begin writes.
func NewClaim(key, payloadHash string, lockUntil, now time.Time) Record {
	return Record{
		Key:         key,
		Status:      StatusInProgress,
		PayloadHash: payloadHash,
		LockUntil:   time.UnixMilli(lockMillis(lockUntil)).UTC(),
		ExpiresAt:   time.Unix(expirySeconds(lockUntil.Add(DefaultClaimRetention)), 0).UTC(),
		Owner:       newOwner(),
		UpdatedAt:   time.UnixMilli(now.UnixMilli()).UTC(),
	}
}

// Completed returns cur marked done with outcome and detail, kept until
// expiresAt.
func Completed(cur Record, outcome, detail string, expiresAt, now time.Time) Record {
	cur.Status = StatusDone
	cur.Outcome = outcome
	cur.Detail = detail
	cur.LockUntil = time.Time{}
	cur.ExpiresAt = time.Unix(expirySeconds(expiresAt), 0).UTC()
	cur.UpdatedAt = time.UnixMilli(now.UnixMilli()).UTC()
	return cur
}
