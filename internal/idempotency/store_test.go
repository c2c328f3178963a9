package idempotency

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// store is the behaviour both implementations share; the suite below runs
// against each.
type store interface {
	Begin(ctx context.Context, key, payloadHash string, lockUntil time.Time) (Claim, error)
	Complete(ctx context.Context, key, owner, outcome, detail string, expiresAt time.Time) error
	Release(ctx context.Context, key, owner string) error
	Get(ctx context.Context, key string) (Record, error)
	Defer(ctx context.Context, key, owner, detail string, lockUntil time.Time) error
}

var _ store = (*DynamoDB)(nil) // and idempotencytest.Memory, in memory_test.go

// fakeClock is a goroutine-safe clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// epoch is the suite's start time; its fraction of a second exercises the
// rounding of stored times.
var epoch = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

func newClock() *fakeClock { return &fakeClock{t: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newStoreFunc returns an empty store whose clock is clock.
type newStoreFunc func(t *testing.T, clock *fakeClock) store

const (
	lockFor   = 30 * time.Second   // a Lambda's remaining time
	keepDone  = 7 * 24 * time.Hour // how long callers keep done records
	keyA      = "tr:task.completed:WT0123456789abcdef0123456789abcdef"
	outcomeOK = "closed"
	detailOK  = `{"status":"inactive"}`
)

var (
	hashA = PayloadHash("task.completed", "WT0123456789abcdef0123456789abcdef", "KD01", "UO01")
	hashB = PayloadHash("task.completed", "WT0123456789abcdef0123456789abcdef", "KD01", "UO02")
)

// testStore runs the shared behaviour suite against the stores newStore
// makes.
// SuiteStore and RunStoreSuite let the external test memory_test.go run
// this suite against idempotencytest.Memory, which imports this package.
type SuiteStore = store

// RunStoreSuite runs the store suite against the stores newStore builds.
func RunStoreSuite(t *testing.T, newStore func(now func() time.Time) SuiteStore) {
	testStore(t, func(t *testing.T, clock *fakeClock) store { return newStore(clock.Now) })
}

func testStore(t *testing.T, newStore newStoreFunc) {
	t.Run("ClaimCompleteReplay", func(t *testing.T) { testClaimCompleteReplay(t, newStore) })
	t.Run("PayloadMismatch", func(t *testing.T) { testPayloadMismatch(t, newStore) })
	t.Run("InProgressConflict", func(t *testing.T) { testInProgressConflict(t, newStore) })
	t.Run("TakeoverAfterLockExpiry", func(t *testing.T) { testTakeover(t, newStore) })
	t.Run("LockBoundary", func(t *testing.T) { testLockBoundary(t, newStore) })
	t.Run("ExpiredDoneIsAbsent", func(t *testing.T) { testExpiredDone(t, newStore) })
	t.Run("ExpiryBoundary", func(t *testing.T) { testExpiryBoundary(t, newStore) })
	t.Run("AbandonedClaimRetention", func(t *testing.T) { testClaimRetention(t, newStore) })
	t.Run("CompleteRequiresOwner", func(t *testing.T) { testCompleteRequiresOwner(t, newStore) })
	t.Run("CompleteAfterLockExpiry", func(t *testing.T) { testCompleteAfterLockExpiry(t, newStore) })
	t.Run("ReleaseThenReclaim", func(t *testing.T) { testRelease(t, newStore) })
	t.Run("GetNotFound", func(t *testing.T) { testGetNotFound(t, newStore) })
	t.Run("InvalidArguments", func(t *testing.T) { testInvalidArguments(t, newStore) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, newStore) })
	t.Run("CanceledContext", func(t *testing.T) { testCanceledContext(t, newStore) })
	t.Run("ConcurrentBegin", func(t *testing.T) { testConcurrentBegin(t, newStore) })
	t.Run("ConcurrentTakeover", func(t *testing.T) { testConcurrentTakeover(t, newStore) })
	t.Run("ReactivatedChannel", func(t *testing.T) { testReactivatedChannel(t, newStore) })
	t.Run("KeysAreIndependent", func(t *testing.T) { testKeysIndependent(t, newStore) })
	t.Run("DeferHandsOnDetail", func(t *testing.T) { testDefer(t, newStore) })
}

// testDefer: a deferred claim stays in progress until its new lock expires,
// then the next Begin takes it over and receives the detail.
func testDefer(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	ctx := t.Context()
	first := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
	if first.Detail != "" {
		t.Errorf("fresh claim Detail = %q, want empty", first.Detail)
	}
	const handOn = `{"rechecks":1}`
	if err := s.Defer(ctx, keyA, first.Owner, handOn, clock.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Defer: %v", err)
	}
	// Past the original lock but before the deferred one: still in progress.
	clock.Advance(lockFor + time.Second)
	if _, err := s.Begin(ctx, keyA, hashA, clock.Now().Add(lockFor)); !errors.Is(err, ErrInProgress) {
		t.Errorf("Begin during the deferral error = %v, want ErrInProgress", err)
	}
	if got := mustGet(t, s, keyA); got.Status != StatusInProgress || got.Detail != handOn {
		t.Errorf("deferred record = %+v, want in progress with the detail", got)
	}
	clock.Advance(time.Minute)
	next := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
	if !next.TakenOver || next.Detail != handOn {
		t.Errorf("Begin after the deferral = %+v, want a takeover carrying %s", next, handOn)
	}
	if err := s.Defer(ctx, keyA, first.Owner, handOn, clock.Now().Add(time.Minute)); !errors.Is(err, ErrLockLost) {
		t.Errorf("Defer by the previous owner error = %v, want ErrLockLost", err)
	}
	if err := s.Defer(ctx, keyA, next.Owner, handOn, clock.Now().Add(-time.Second)); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Defer into the past error = %v, want ErrInvalidArgument", err)
	}
	if err := s.Complete(ctx, keyA, next.Owner, outcomeOK, "", clock.Now().Add(keepDone)); err != nil {
		t.Errorf("Complete after a deferral: %v", err)
	}
	if err := s.Defer(ctx, keyA, next.Owner, handOn, clock.Now().Add(time.Minute)); !errors.Is(err, ErrLockLost) {
		t.Errorf("Defer of a done record error = %v, want ErrLockLost", err)
	}
}

// mustBegin claims key and fails t unless it got a fresh claim.
func mustBegin(t *testing.T, s store, key, hash string, lockUntil time.Time) Claim {
	t.Helper()
	c, err := s.Begin(t.Context(), key, hash, lockUntil)
	if err != nil {
		t.Fatalf("Begin(%q) error = %v, want a claim", key, err)
	}
	if c.Owner == "" || c.Done != nil {
		t.Fatalf("Begin(%q) = %+v, want a fresh claim with an owner", key, c)
	}
	return c
}

// mustGet returns key's record and fails t if it has none.
func mustGet(t *testing.T, s store, key string) Record {
	t.Helper()
	r, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q) error = %v, want a record", key, err)
	}
	return r
}

// wantGetNotFound fails t unless key has no live record.
func wantGetNotFound(t *testing.T, s store, key string) {
	t.Helper()
	if r, err := s.Get(t.Context(), key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(%q) = %+v, %v, want ErrNotFound", key, r, err)
	}
}

func testClaimCompleteReplay(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	ctx := t.Context()

	c := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
	if c.TakenOver {
		t.Errorf("Begin on a new key: TakenOver = true, want false")
	}
	got := mustGet(t, s, keyA)
	want := Record{
		Key:         keyA,
		Status:      StatusInProgress,
		PayloadHash: hashA,
		LockUntil:   time.Date(2026, 3, 14, 15, 9, 56, 535_000_000, time.UTC),
		// The lock expiry plus DefaultClaimRetention, rounded up to a second.
		ExpiresAt: time.Date(2026, 3, 15, 15, 9, 57, 0, time.UTC),
		Owner:     c.Owner,
		UpdatedAt: epoch,
	}
	if got != want {
		t.Errorf("Get after Begin = %+v, want %+v", got, want)
	}

	clock.Advance(1500 * time.Millisecond)
	if err := s.Complete(ctx, keyA, c.Owner, outcomeOK, detailOK, clock.Now().Add(keepDone)); err != nil {
		t.Fatalf("Complete(%q, owner) error = %v, want nil", keyA, err)
	}
	want = Record{
		Key:         keyA,
		Status:      StatusDone,
		PayloadHash: hashA,
		Outcome:     outcomeOK,
		Detail:      detailOK,
		ExpiresAt:   time.Date(2026, 3, 21, 15, 9, 29, 0, time.UTC), // 15:09:28.035 rounded up
		Owner:       c.Owner,
		UpdatedAt:   time.Date(2026, 3, 14, 15, 9, 28, 35_000_000, time.UTC),
	}
	if got := mustGet(t, s, keyA); got != want {
		t.Errorf("Get after Complete = %+v, want %+v", got, want)
	}

	// A duplicate replays the stored outcome, even days later.
	clock.Advance(3 * 24 * time.Hour)
	dup, err := s.Begin(ctx, keyA, hashA, clock.Now().Add(lockFor))
	if err != nil {
		t.Fatalf("Begin(%q) of a done key error = %v, want a replay", keyA, err)
	}
	if dup.Done == nil || *dup.Done != want || dup.Owner != "" || dup.TakenOver {
		t.Errorf("Begin(%q) of a done key = %+v (Done %+v), want Done = %+v and no owner", keyA, dup, dup.Done, want)
	}
	if got := mustGet(t, s, keyA); got != want {
		t.Errorf("Get after replay = %+v, want unchanged %+v", got, want)
	}
}

func testPayloadMismatch(t *testing.T, newStore newStoreFunc) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s store, clock *fakeClock)
	}{
		{
			name: "done record",
			setup: func(t *testing.T, s store, clock *fakeClock) {
				c := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
				if err := s.Complete(t.Context(), keyA, c.Owner, outcomeOK, "", clock.Now().Add(keepDone)); err != nil {
					t.Fatalf("Complete: %v", err)
				}
			},
		},
		{
			name: "locked claim",
			setup: func(t *testing.T, s store, clock *fakeClock) {
				mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
			},
		},
		{
			name: "abandoned claim",
			setup: func(t *testing.T, s store, clock *fakeClock) {
				mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
				clock.Advance(lockFor + time.Minute)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			s := newStore(t, clock)
			tt.setup(t, s, clock)
			before := mustGet(t, s, keyA)
			c, err := s.Begin(t.Context(), keyA, hashB, clock.Now().Add(lockFor))
			if !errors.Is(err, ErrPayloadMismatch) {
				t.Errorf("Begin(%q, other payload) = %+v, %v, want ErrPayloadMismatch", keyA, c, err)
			}
			if after := mustGet(t, s, keyA); after != before {
				t.Errorf("record after refused Begin = %+v, want unchanged %+v", after, before)
			}
		})
	}
}

func testInProgressConflict(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	first := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
	clock.Advance(lockFor / 2)
	c, err := s.Begin(t.Context(), keyA, hashA, clock.Now().Add(lockFor))
	if !errors.Is(err, ErrInProgress) {
		t.Fatalf("second Begin(%q) while locked = %+v, %v, want ErrInProgress", keyA, c, err)
	}
	if got := mustGet(t, s, keyA); got.Owner != first.Owner || got.Status != StatusInProgress {
		t.Errorf("record after refused Begin = %+v, want the first claim (owner %q)", got, first.Owner)
	}
}

func testTakeover(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	ctx := t.Context()
	crashed := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))

	clock.Advance(lockFor + time.Second)
	retry := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
	if !retry.TakenOver {
		t.Errorf("Begin after the lock expired: TakenOver = false, want true")
	}
	if retry.Owner == crashed.Owner {
		t.Errorf("Begin after the lock expired: owner = %q, the crashed owner's; want a new one", retry.Owner)
	}
	got := mustGet(t, s, keyA)
	if wantLock := time.Date(2026, 3, 14, 15, 10, 27, 535_000_000, time.UTC); got.Owner != retry.Owner || !got.LockUntil.Equal(wantLock) {
		t.Errorf("record after takeover: owner %q lock %v, want owner %q lock %v", got.Owner, got.LockUntil, retry.Owner, wantLock)
	}

	// The crashed owner wakes up: it can neither complete nor release.
	if err := s.Complete(ctx, keyA, crashed.Owner, outcomeOK, "", clock.Now().Add(keepDone)); !errors.Is(err, ErrLockLost) {
		t.Errorf("Complete by the previous owner error = %v, want ErrLockLost", err)
	}
	if err := s.Release(ctx, keyA, crashed.Owner); !errors.Is(err, ErrLockLost) {
		t.Errorf("Release by the previous owner error = %v, want ErrLockLost", err)
	}
	if err := s.Complete(ctx, keyA, retry.Owner, outcomeOK, "", clock.Now().Add(keepDone)); err != nil {
		t.Errorf("Complete by the new owner error = %v, want nil", err)
	}
}

func testLockBoundary(t *testing.T, newStore newStoreFunc) {
	tests := []struct {
		name    string
		offset  time.Duration // from the stored LockUntil
		wantErr error         // nil: taken over
	}{
		{name: "one millisecond before", offset: -time.Millisecond, wantErr: ErrInProgress},
		{name: "at the lock expiry", offset: 0},
		{name: "after", offset: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			s := newStore(t, clock)
			mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
			clock.Set(mustGet(t, s, keyA).LockUntil.Add(tt.offset))
			c, err := s.Begin(t.Context(), keyA, hashA, clock.Now().Add(lockFor))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Begin at lock expiry %+v = %+v, %v, want %v", tt.offset, c, err, tt.wantErr)
				}
				return
			}
			if err != nil || !c.TakenOver {
				t.Errorf("Begin at lock expiry %+v = %+v, %v, want a takeover", tt.offset, c, err)
			}
		})
	}
}

func testExpiredDone(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	ctx := t.Context()
	c := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
	if err := s.Complete(ctx, keyA, c.Owner, outcomeOK, detailOK, clock.Now().Add(time.Hour)); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	clock.Advance(time.Hour + time.Second)
	wantGetNotFound(t, s, keyA)

	// Even a different payload may claim the key now: the old record is
	// gone as far as the store is concerned (TTL deletion is eventual).
	again := mustBegin(t, s, keyA, hashB, clock.Now().Add(lockFor))
	if again.TakenOver {
		t.Errorf("Begin over an expired done record: TakenOver = true, want false")
	}
	if got := mustGet(t, s, keyA); got.Status != StatusInProgress || got.PayloadHash != hashB || got.Outcome != "" || got.Detail != "" {
		t.Errorf("record after reclaiming = %+v, want a fresh in-progress claim of the new payload", got)
	}
	// The old owner's token means nothing any more.
	if err := s.Complete(ctx, keyA, c.Owner, outcomeOK, "", clock.Now().Add(keepDone)); !errors.Is(err, ErrLockLost) {
		t.Errorf("Complete by the expired record's owner error = %v, want ErrLockLost", err)
	}
}

func testExpiryBoundary(t *testing.T, newStore newStoreFunc) {
	tests := []struct {
		name     string
		offset   time.Duration // from the stored ExpiresAt
		wantLive bool
	}{
		{name: "one millisecond before", offset: -time.Millisecond, wantLive: true},
		{name: "at expiry", offset: 0, wantLive: false},
		{name: "after", offset: time.Second, wantLive: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			s := newStore(t, clock)
			c := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
			requested := clock.Now().Add(time.Hour)
			if err := s.Complete(t.Context(), keyA, c.Owner, outcomeOK, "", requested); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			exp := mustGet(t, s, keyA).ExpiresAt
			if exp.Before(requested) || !exp.Before(requested.Add(time.Second)) {
				t.Fatalf("ExpiresAt = %v for a requested %v, want it rounded up to the second", exp, requested)
			}
			clock.Set(exp.Add(tt.offset))
			r, err := s.Get(t.Context(), keyA)
			if gotLive := err == nil; gotLive != tt.wantLive {
				t.Errorf("Get at expiry %+v = %+v, %v, want live %v", tt.offset, r, err, tt.wantLive)
			}
			d, err := s.Begin(t.Context(), keyA, hashA, clock.Now().Add(lockFor))
			if err != nil {
				t.Fatalf("Begin at expiry %+v error = %v", tt.offset, err)
			}
			if gotReplay := d.Done != nil; gotReplay != tt.wantLive {
				t.Errorf("Begin at expiry %+v = %+v, want a replay: %v", tt.offset, d, tt.wantLive)
			}
		})
	}
}

func testClaimRetention(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	lockUntil := clock.Now().Add(lockFor)
	abandoned := mustBegin(t, s, keyA, hashA, lockUntil)

	clock.Set(lockUntil.Add(DefaultClaimRetention - time.Second))
	if _, err := s.Begin(t.Context(), keyA, hashB, clock.Now().Add(lockFor)); !errors.Is(err, ErrPayloadMismatch) {
		t.Errorf("Begin(other payload) just before the abandoned claim expires error = %v, want ErrPayloadMismatch", err)
	}
	clock.Set(lockUntil.Add(DefaultClaimRetention + time.Second))
	wantGetNotFound(t, s, keyA)
	// Its owner, were it still running, holds nothing any more.
	if err := s.Complete(t.Context(), keyA, abandoned.Owner, outcomeOK, "", clock.Now().Add(keepDone)); !errors.Is(err, ErrLockLost) {
		t.Errorf("Complete of an expired claim by its owner error = %v, want ErrLockLost", err)
	}
	if err := s.Release(t.Context(), keyA, abandoned.Owner); !errors.Is(err, ErrLockLost) {
		t.Errorf("Release of an expired claim by its owner error = %v, want ErrLockLost", err)
	}
	c := mustBegin(t, s, keyA, hashB, clock.Now().Add(lockFor))
	if c.TakenOver {
		t.Errorf("Begin after the abandoned claim expired: TakenOver = true, want false")
	}
}

func testCompleteRequiresOwner(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	ctx := t.Context()
	exp := clock.Now().Add(keepDone)

	if err := s.Complete(ctx, keyA, "nobody", outcomeOK, "", exp); !errors.Is(err, ErrLockLost) {
		t.Errorf("Complete of an unclaimed key error = %v, want ErrLockLost", err)
	}
	wantGetNotFound(t, s, keyA) // Complete must not create the item

	c := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
	if err := s.Complete(ctx, keyA, "someone-else", outcomeOK, "", exp); !errors.Is(err, ErrLockLost) {
		t.Errorf("Complete by a non-owner error = %v, want ErrLockLost", err)
	}
	if got := mustGet(t, s, keyA); got.Status != StatusInProgress || got.Owner != c.Owner {
		t.Errorf("record after a non-owner's Complete = %+v, want the owner's claim unchanged", got)
	}
	if err := s.Complete(ctx, keyA, c.Owner, outcomeOK, detailOK, exp); err != nil {
		t.Fatalf("Complete by the owner error = %v", err)
	}
	done := mustGet(t, s, keyA)
	if err := s.Complete(ctx, keyA, c.Owner, "failed_permanent", "", exp.Add(time.Hour)); !errors.Is(err, ErrLockLost) {
		t.Errorf("second Complete by the owner error = %v, want ErrLockLost", err)
	}
	if got := mustGet(t, s, keyA); got != done {
		t.Errorf("record after a second Complete = %+v, want unchanged %+v", got, done)
	}
}

func testCompleteAfterLockExpiry(t *testing.T, newStore newStoreFunc) {
	// An owner that overran its lock but was not taken over may still
	// record what it did.
	clock := newClock()
	s := newStore(t, clock)
	c := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
	clock.Advance(2 * lockFor)
	if err := s.Complete(t.Context(), keyA, c.Owner, outcomeOK, "", clock.Now().Add(keepDone)); err != nil {
		t.Errorf("Complete after the lock expired, without takeover: error = %v, want nil", err)
	}
	if got := mustGet(t, s, keyA); got.Status != StatusDone || got.Outcome != outcomeOK {
		t.Errorf("record = %+v, want done with outcome %q", got, outcomeOK)
	}
}

func testRelease(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	ctx := t.Context()
	c := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))

	if err := s.Release(ctx, keyA, "someone-else"); !errors.Is(err, ErrLockLost) {
		t.Errorf("Release by a non-owner error = %v, want ErrLockLost", err)
	}
	if got := mustGet(t, s, keyA); got.Owner != c.Owner {
		t.Errorf("record after a non-owner's Release = %+v, want the claim of %q", got, c.Owner)
	}
	if err := s.Release(ctx, keyA, c.Owner); err != nil {
		t.Fatalf("Release by the owner error = %v, want nil", err)
	}
	wantGetNotFound(t, s, keyA)
	if err := s.Release(ctx, keyA, c.Owner); !errors.Is(err, ErrLockLost) {
		t.Errorf("second Release error = %v, want ErrLockLost", err)
	}

	// The retry claims the key again, before the old lock would have
	// expired, and may use a different payload.
	retry := mustBegin(t, s, keyA, hashB, clock.Now().Add(lockFor))
	if retry.TakenOver || retry.Owner == c.Owner {
		t.Errorf("Begin after Release = %+v, want a fresh claim with a new owner", retry)
	}
	if err := s.Complete(ctx, keyA, retry.Owner, outcomeOK, "", clock.Now().Add(keepDone)); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if err := s.Release(ctx, keyA, retry.Owner); !errors.Is(err, ErrLockLost) {
		t.Errorf("Release of a done record error = %v, want ErrLockLost", err)
	}
	if got := mustGet(t, s, keyA); got.Status != StatusDone {
		t.Errorf("record after Release of a done record = %+v, want it still done", got)
	}
}

func testGetNotFound(t *testing.T, newStore newStoreFunc) {
	s := newStore(t, newClock())
	wantGetNotFound(t, s, "crm:never-seen")
}

func testInvalidArguments(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	ctx := t.Context()
	now := clock.Now()
	c := mustBegin(t, s, keyA, hashA, now.Add(lockFor))
	claimed := mustGet(t, s, keyA)

	tests := []struct {
		name string
		call func() error
	}{
		{"Begin empty key", func() error { _, err := s.Begin(ctx, "", hashA, now.Add(lockFor)); return err }},
		{"Begin key too long", func() error {
			_, err := s.Begin(ctx, strings.Repeat("k", MaxKeyBytes+1), hashA, now.Add(lockFor))
			return err
		}},
		{"Begin key not UTF-8", func() error { _, err := s.Begin(ctx, "tr:\xff", hashA, now.Add(lockFor)); return err }},
		{"Begin empty hash", func() error { _, err := s.Begin(ctx, "k2", "", now.Add(lockFor)); return err }},
		{"Begin lock in the past", func() error { _, err := s.Begin(ctx, "k2", hashA, now.Add(-time.Second)); return err }},
		{"Begin lock now", func() error { _, err := s.Begin(ctx, "k2", hashA, now); return err }},
		{"Complete empty owner", func() error { return s.Complete(ctx, keyA, "", outcomeOK, "", now.Add(keepDone)) }},
		{"Complete empty outcome", func() error { return s.Complete(ctx, keyA, c.Owner, "", "", now.Add(keepDone)) }},
		{"Complete detail too long", func() error {
			return s.Complete(ctx, keyA, c.Owner, outcomeOK, strings.Repeat("d", MaxFieldBytes+1), now.Add(keepDone))
		}},
		{"Complete detail not UTF-8", func() error { return s.Complete(ctx, keyA, c.Owner, outcomeOK, "\xc3", now.Add(keepDone)) }},
		{"Complete expiry in the past", func() error { return s.Complete(ctx, keyA, c.Owner, outcomeOK, "", now.Add(-time.Second)) }},
		{"Release empty key", func() error { return s.Release(ctx, "", c.Owner) }},
		{"Release empty owner", func() error { return s.Release(ctx, keyA, "") }},
		{"Get empty key", func() error { _, err := s.Get(ctx, ""); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s: error = %v, want ErrInvalidArgument", tt.name, err)
			}
			if got := mustGet(t, s, keyA); got != claimed {
				t.Errorf("%s changed the record to %+v, want %+v", tt.name, got, claimed)
			}
			wantGetNotFound(t, s, "k2")
		})
	}
}

func testLimits(t *testing.T, newStore newStoreFunc) {
	// The largest accepted values must be accepted by both stores alike.
	clock := newClock()
	s := newStore(t, clock)
	key := "tr:" + strings.Repeat("é", (MaxKeyBytes-3)/2) // multi-byte UTF-8
	if len(key) > MaxKeyBytes || len(key) < MaxKeyBytes-1 {
		t.Fatalf("test key is %d bytes, want about %d", len(key), MaxKeyBytes)
	}
	c := mustBegin(t, s, key, hashA, clock.Now().Add(lockFor))
	detail := strings.Repeat("d", MaxFieldBytes)
	if err := s.Complete(t.Context(), key, c.Owner, outcomeOK, detail, clock.Now().Add(keepDone)); err != nil {
		t.Fatalf("Complete with a %d-byte detail error = %v, want nil", len(detail), err)
	}
	if got := mustGet(t, s, key); got.Key != key || got.Detail != detail {
		t.Errorf("Get(%d-byte key) returned key of %d bytes and detail of %d bytes, want them unchanged", len(key), len(got.Key), len(got.Detail))
	}
}

func testCanceledContext(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Begin(ctx, keyA, hashA, clock.Now().Add(lockFor))
	var se *Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &se) || !se.RetryableError() {
		t.Errorf("Begin with a canceled context error = %v, want a retryable *Error wrapping context.Canceled", err)
	}
	wantGetNotFound(t, s, keyA)
}

func testConcurrentBegin(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	claims, conflicts := beginConcurrently(t, s, clock, 16)
	if len(claims) != 1 || conflicts != 15 {
		t.Fatalf("16 concurrent Begin: %d claims and %d ErrInProgress, want 1 and 15", len(claims), conflicts)
	}
	if claims[0].TakenOver {
		t.Errorf("the only claim of a new key has TakenOver = true, want false")
	}
	if got := mustGet(t, s, keyA); got.Owner != claims[0].Owner {
		t.Errorf("stored owner = %q, want the winner %q", got.Owner, claims[0].Owner)
	}
}

func testConcurrentTakeover(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	crashed := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
	clock.Advance(lockFor + time.Second)
	claims, conflicts := beginConcurrently(t, s, clock, 16)
	if len(claims) != 1 || conflicts != 15 {
		t.Fatalf("16 concurrent Begin after the lock expired: %d claims and %d ErrInProgress, want 1 and 15", len(claims), conflicts)
	}
	if !claims[0].TakenOver || claims[0].Owner == crashed.Owner {
		t.Errorf("winning claim = %+v, want a takeover by a new owner", claims[0])
	}
}

// beginConcurrently runs n Begin calls on keyA at once and returns the
// fresh claims and the number of ErrInProgress answers; any other result
// fails t.
func beginConcurrently(t *testing.T, s store, clock *fakeClock, n int) (claims []Claim, conflicts int) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		start = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			c, err := s.Begin(t.Context(), keyA, hashA, clock.Now().Add(lockFor))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, ErrInProgress):
				conflicts++
			case err != nil:
				t.Errorf("concurrent Begin error = %v, want a claim or ErrInProgress", err)
			case c.Done != nil:
				t.Errorf("concurrent Begin = replay %+v, want a claim or ErrInProgress", c.Done)
			default:
				claims = append(claims, c)
			}
		})
	}
	close(start)
	wg.Wait()
	return claims, conflicts
}

// testReactivatedChannel plays the hazard the store exists for: a channel
// closed by an event is reactivated when the customer writes again, then a
// late copy of the same event arrives. It must replay the first outcome and
// leave the new conversation open.
func testReactivatedChannel(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	ctx := t.Context()
	channel := struct {
		status string
		closes int // calls to Twilio
	}{status: "active"}

	handle := func(key, hash string) (outcome string, replayed bool) {
		t.Helper()
		claim, err := s.Begin(ctx, key, hash, clock.Now().Add(lockFor))
		if err != nil {
			t.Fatalf("Begin(%q) error = %v", key, err)
		}
		if claim.Done != nil {
			return claim.Done.Outcome, true
		}
		channel.closes++
		channel.status = "inactive"
		if err := s.Complete(ctx, key, claim.Owner, outcomeOK, `{"status":"inactive"}`, clock.Now().Add(keepDone)); err != nil {
			t.Fatalf("Complete(%q) error = %v", key, err)
		}
		return outcomeOK, false
	}

	if outcome, replayed := handle(keyA, hashA); outcome != outcomeOK || replayed {
		t.Fatalf("first delivery = %q (replayed %v), want %q processed", outcome, replayed, outcomeOK)
	}
	clock.Advance(4 * time.Minute)
	channel.status = "active" // the customer wrote again

	for _, delay := range []time.Duration{time.Second, 10 * time.Minute, 6 * 24 * time.Hour} {
		clock.Advance(delay)
		outcome, replayed := handle(keyA, hashA)
		if outcome != outcomeOK || !replayed {
			t.Errorf("replay after %v = %q (replayed %v), want the stored %q replayed", delay, outcome, replayed, outcomeOK)
		}
	}
	if channel.closes != 1 || channel.status != "active" {
		t.Errorf("after replays: %d closes, channel %s; want 1 close and the reactivated channel still active", channel.closes, channel.status)
	}
}

func testKeysIndependent(t *testing.T, newStore newStoreFunc) {
	clock := newClock()
	s := newStore(t, clock)
	a := mustBegin(t, s, "tr:a", hashA, clock.Now().Add(lockFor))
	b := mustBegin(t, s, "crm:a", hashA, clock.Now().Add(lockFor))
	if err := s.Complete(t.Context(), "tr:a", a.Owner, outcomeOK, "", clock.Now().Add(keepDone)); err != nil {
		t.Fatalf("Complete(tr:a): %v", err)
	}
	if got := mustGet(t, s, "crm:a"); got.Status != StatusInProgress || got.Owner != b.Owner {
		t.Errorf("Get(crm:a) = %+v, want its own in-progress claim", got)
	}
}
