// Package idempotencytest holds an in-memory idempotency store with the
// same behaviour as idempotency.DynamoDB — the rules are the idempotency
// package's own — for unit tests and the local system. A Lambda never
// links it.
package idempotencytest

import (
	"context"
	"maps"
	"sync"
	"time"

	"github.com/flexhook/flexhook/internal/idempotency"
)

// sweepEvery is how many writes a Memory store makes between two sweeps of
// its expired records.
const sweepEvery = 256

// Memory is an in-process store with the same behaviour as DynamoDB, for
// unit tests and local runs. It is safe for concurrent use. Records live
// only as long as the process.
type Memory struct {
	now func() time.Time

	mu     sync.Mutex
	items  map[string]idempotency.Record
	writes int // since the last sweep
}

// NewMemory returns an empty Memory store.
func NewMemory(opts idempotency.Options) *Memory {
	m := &Memory{now: opts.Now, items: make(map[string]idempotency.Record)}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

// Begin claims key for one processing attempt that holds the claim until
// lockUntil. See the idempotency package documentation and DynamoDB.Begin for the
// outcomes; the two stores behave the same.
func (m *Memory) Begin(ctx context.Context, key, payloadHash string, lockUntil time.Time) (idempotency.Claim, error) {
	const op = "begin"
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if err := idempotency.Precheck(ctx, op, key, idempotency.CheckBegin(key, payloadHash, lockUntil, now)); err != nil {
		return idempotency.Claim{}, err
	}
	cur := m.liveLocked(key, now)
	done, err := idempotency.Judge(cur, payloadHash, now)
	if err != nil {
		return idempotency.Claim{}, idempotency.OpError(op, key, err)
	}
	if done != nil {
		replay := *done
		return idempotency.Claim{Done: &replay}, nil
	}
	rec := idempotency.NewClaim(key, payloadHash, lockUntil, now)
	m.putLocked(rec, now)
	c := idempotency.Claim{Owner: rec.Owner, TakenOver: cur != nil}
	if cur != nil {
		c.Detail = cur.Detail
	}
	return c, nil
}

// Defer keeps owner's claim on key in progress but lets it go at
// lockUntil, recording detail for the attempt that then takes it over
// (idempotency.Claim.Detail). Until lockUntil, Begin answers ErrInProgress. Errors:
// idempotency.ErrLockLost when owner does not hold the claim, ErrInvalidArgument.
func (m *Memory) Defer(ctx context.Context, key, owner, detail string, lockUntil time.Time) error {
	const op = "defer"
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if err := idempotency.Precheck(ctx, op, key, idempotency.CheckDefer(key, owner, detail, lockUntil, now)); err != nil {
		return err
	}
	cur, err := m.heldLocked(op, key, owner, now)
	if err == nil {
		m.putLocked(idempotency.Deferred(*cur, detail, lockUntil, now), now)
	}
	return err
}

// Complete marks key done with outcome and detail, keeping the record until
// expiresAt. It fails with idempotency.ErrLockLost unless owner holds the key's live
// in-progress claim.
func (m *Memory) Complete(ctx context.Context, key, owner, outcome, detail string, expiresAt time.Time) error {
	const op = "complete"
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if err := idempotency.Precheck(ctx, op, key, idempotency.CheckComplete(key, owner, outcome, detail, expiresAt, now)); err != nil {
		return err
	}
	cur, err := m.heldLocked(op, key, owner, now)
	if err == nil {
		m.putLocked(idempotency.Completed(*cur, outcome, detail, expiresAt, now), now)
	}
	return err
}

// Release deletes key's in-progress claim so a retry can claim it again.
// It fails with idempotency.ErrLockLost unless owner holds the key's live in-progress
// claim.
func (m *Memory) Release(ctx context.Context, key, owner string) error {
	const op = "release"
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := idempotency.Precheck(ctx, op, key, idempotency.CheckRelease(key, owner)); err != nil {
		return err
	}
	_, err := m.heldLocked(op, key, owner, m.now())
	if err == nil {
		delete(m.items, key)
	}
	return err
}

// Get returns key's live record, or idempotency.ErrNotFound.
func (m *Memory) Get(ctx context.Context, key string) (idempotency.Record, error) {
	const op = "get"
	if err := idempotency.Precheck(ctx, op, key, idempotency.CheckKey(key)); err != nil {
		return idempotency.Record{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.liveLocked(key, m.now())
	if cur == nil {
		return idempotency.Record{}, idempotency.OpError(op, key, idempotency.ErrNotFound)
	}
	return *cur, nil
}

// liveLocked returns a copy of key's record if it has not expired at now.
func (m *Memory) liveLocked(key string, now time.Time) *idempotency.Record {
	rec, ok := m.items[key]
	if !ok || !idempotency.Live(rec.ExpiresAt.Unix(), now) {
		return nil
	}
	return &rec
}

// putLocked stores rec and, every sweepEvery writes, drops expired records
// so a long-running process does not grow without bound.
func (m *Memory) putLocked(rec idempotency.Record, now time.Time) {
	m.items[rec.Key] = rec
	m.writes++
	if m.writes < sweepEvery {
		return
	}
	m.writes = 0
	maps.DeleteFunc(m.items, func(_ string, r idempotency.Record) bool { return !idempotency.Live(r.ExpiresAt.Unix(), now) })
}

// heldLocked returns key's live record if it is an in-progress claim of
// owner at now, and otherwise ErrLockLost.
func (m *Memory) heldLocked(op, key, owner string, now time.Time) (*idempotency.Record, error) {
	cur := m.liveLocked(key, now)
	if cur == nil || cur.Status != idempotency.StatusInProgress || cur.Owner != owner {
		return nil, idempotency.OpError(op, key, idempotency.ErrLockLost)
	}
	return cur, nil
}
