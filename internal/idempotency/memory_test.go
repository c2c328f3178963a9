package idempotency

import (
	"fmt"
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	testStore(t, func(t *testing.T, clock *fakeClock) store {
		return NewMemory(Options{Now: clock.Now})
	})
}

func TestMemorySweepsExpiredRecords(t *testing.T) {
	clock := newClock()
	m := NewMemory(Options{Now: clock.Now})
	const old = 10
	for i := range old {
		key := fmt.Sprintf("old:%d", i)
		c := mustBegin(t, m, key, hashA, clock.Now().Add(lockFor))
		if err := m.Complete(t.Context(), key, c.Owner, outcomeOK, "", clock.Now().Add(time.Hour)); err != nil {
			t.Fatalf("Complete(%q): %v", key, err)
		}
	}
	clock.Advance(2 * time.Hour)
	// sweepEvery writes after the old records expired include a sweep.
	for i := range sweepEvery {
		mustBegin(t, m, fmt.Sprintf("new:%d", i), hashA, clock.Now().Add(lockFor))
	}
	m.mu.Lock()
	n := len(m.items)
	m.mu.Unlock()
	if n != sweepEvery {
		t.Errorf("%d live and %d expired records after %d writes: %d held, want %d", sweepEvery, old, sweepEvery, n, sweepEvery)
	}
}
