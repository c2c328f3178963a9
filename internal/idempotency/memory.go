package idempotency

import (
	"context"
	"sync"
	"time"
)

// sweepEvery is how many writes a Memory store makes between two sweeps of
// its expired records.
const sweepEvery = 256

// Memory is an in-process store with the same behaviour as DynamoDB, for
// unit tests and local runs. It is safe for concurrent use. Records live
// only as long as the process.
type Memory struct {
	now       func() time.Time
	retention time.Duration

	mu     sync.Mutex
	items  map[string]Record
	writes int // since the last sweep
}

// NewMemory returns an empty Memory store.
func NewMemory(opts Options) *Memory {
	opts = opts.withDefaults()
	return &Memory{now: opts.Now, retention: opts.ClaimRetention, items: make(map[string]Record)}
}

// Begin claims key for one processing attempt that holds the claim until
// lockUntil. See the package documentation and DynamoDB.Begin for the
// outcomes; the two stores behave the same.
func (m *Memory) Begin(ctx context.Context, key, payloadHash string, lockUntil time.Time) (Claim, error) {
	const op = "begin"
	if err := ctx.Err(); err != nil {
		return Claim{}, contextError(op, key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if err := checkBegin(key, payloadHash, lockUntil, now); err != nil {
		return Claim{}, opError(op, key, err)
	}
	cur := m.liveLocked(key, now)
	done, err := judge(cur, payloadHash, now)
	if err != nil {
		return Claim{}, opError(op, key, err)
	}
	if done != nil {
		replay := *done
		return Claim{Done: &replay}, nil
	}
	rec := newClaim(key, payloadHash, lockUntil, now, m.retention)
	m.putLocked(rec, now)
	c := Claim{Owner: rec.Owner, TakenOver: cur != nil}
	if cur != nil {
		c.Detail = cur.Detail
	}
	return c, nil
}

// Defer keeps owner's claim on key in progress but lets it go at
// lockUntil, recording detail for the attempt that then takes it over
// (Claim.Detail). Until lockUntil, Begin answers ErrInProgress. Errors:
// ErrLockLost when owner does not hold the claim, ErrInvalidArgument.
func (m *Memory) Defer(ctx context.Context, key, owner, detail string, lockUntil time.Time) error {
	const op = "defer"
	if err := ctx.Err(); err != nil {
		return contextError(op, key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if err := checkDefer(key, owner, detail, lockUntil, now); err != nil {
		return opError(op, key, err)
	}
	cur := m.liveLocked(key, now)
	if !heldBy(cur, owner) {
		return opError(op, key, ErrLockLost)
	}
	m.putLocked(deferred(*cur, detail, lockUntil, now, m.retention), now)
	return nil
}

// Complete marks key done with outcome and detail, keeping the record until
// expiresAt. It fails with ErrLockLost unless owner holds the key's live
// in-progress claim.
func (m *Memory) Complete(ctx context.Context, key, owner, outcome, detail string, expiresAt time.Time) error {
	const op = "complete"
	if err := ctx.Err(); err != nil {
		return contextError(op, key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if err := checkComplete(key, owner, outcome, detail, expiresAt, now); err != nil {
		return opError(op, key, err)
	}
	cur := m.liveLocked(key, now)
	if !heldBy(cur, owner) {
		return opError(op, key, ErrLockLost)
	}
	m.putLocked(completed(*cur, outcome, detail, expiresAt, now), now)
	return nil
}

// Release deletes key's in-progress claim so a retry can claim it again.
// It fails with ErrLockLost unless owner holds the key's live in-progress
// claim.
func (m *Memory) Release(ctx context.Context, key, owner string) error {
	const op = "release"
	if err := ctx.Err(); err != nil {
		return contextError(op, key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := checkRelease(key, owner); err != nil {
		return opError(op, key, err)
	}
	if !heldBy(m.liveLocked(key, m.now()), owner) {
		return opError(op, key, ErrLockLost)
	}
	delete(m.items, key)
	return nil
}

// Get returns key's live record, or ErrNotFound.
func (m *Memory) Get(ctx context.Context, key string) (Record, error) {
	const op = "get"
	if err := ctx.Err(); err != nil {
		return Record{}, contextError(op, key, err)
	}
	if err := checkString("key", key, MaxKeyBytes); err != nil {
		return Record{}, opError(op, key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.liveLocked(key, m.now())
	if cur == nil {
		return Record{}, opError(op, key, ErrNotFound)
	}
	return *cur, nil
}

// liveLocked returns a copy of key's record if it has not expired at now.
func (m *Memory) liveLocked(key string, now time.Time) *Record {
	rec, ok := m.items[key]
	if !ok || !live(rec.ExpiresAt.Unix(), now) {
		return nil
	}
	return &rec
}

// putLocked stores rec and, every sweepEvery writes, drops expired records
// so a long-running process does not grow without bound.
func (m *Memory) putLocked(rec Record, now time.Time) {
	m.items[rec.Key] = rec
	m.writes++
	if m.writes < sweepEvery {
		return
	}
	m.writes = 0
	for k, r := range m.items {
		if !live(r.ExpiresAt.Unix(), now) {
			delete(m.items, k)
		}
	}
}

// heldBy reports whether cur is an in-progress claim of owner.
func heldBy(cur *Record, owner string) bool {
	return cur != nil && cur.Status == StatusInProgress && cur.Owner == owner
}

// contextError reports that ctx ended before the call; a later call with a
// live context may succeed.
func contextError(op, key string, err error) error {
	return &Error{Op: op, Key: key, Err: err, retryable: true}
}
