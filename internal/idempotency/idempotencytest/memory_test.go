package idempotencytest

import (
	"fmt"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/idempotency"
)

// The store's behaviour is tested against both stores by the idempotency
// package's conformance suite (idempotency/memory_test.go); this test covers
// what only the in-memory store does.
func TestMemorySweepsExpiredRecords(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := NewMemory(idempotency.Options{Now: func() time.Time { return now }})
	const old = 10
	for i := range old {
		key := fmt.Sprintf("old:%d", i)
		c := mustBegin(t, m, key, now.Add(time.Minute))
		if err := m.Complete(t.Context(), key, c.Owner, "closed", "", now.Add(time.Hour)); err != nil {
			t.Fatalf("Complete(%q): %v", key, err)
		}
	}
	now = now.Add(2 * time.Hour)
	// sweepEvery writes after the old records expired include a sweep.
	for i := range sweepEvery {
		mustBegin(t, m, fmt.Sprintf("new:%d", i), now.Add(time.Minute))
	}
	m.mu.Lock()
	n := len(m.items)
	m.mu.Unlock()
	if n != sweepEvery {
		t.Errorf("%d live and %d expired records after %d writes: %d held, want %d", sweepEvery, old, sweepEvery, n, sweepEvery)
	}
}

func mustBegin(t *testing.T, m *Memory, key string, lockUntil time.Time) idempotency.Claim {
	t.Helper()
	c, err := m.Begin(t.Context(), key, idempotency.PayloadHash("a"), lockUntil)
	if err != nil || c.Owner == "" {
		t.Fatalf("Begin(%q) = %+v, %v; want a claim", key, c, err)
	}
	return c
}
