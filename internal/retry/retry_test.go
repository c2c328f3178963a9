package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	half := func(d time.Duration) time.Duration { return d / 2 }
	tests := []struct {
		name       string
		b          Backoff
		n          int
		retryAfter time.Duration
		want       time.Duration
	}{
		{"first retry is Base", Backoff{Base: 200 * time.Millisecond, Max: 4 * time.Second}, 1, 0, 200 * time.Millisecond},
		{"doubles", Backoff{Base: 200 * time.Millisecond, Max: 4 * time.Second}, 3, 0, 800 * time.Millisecond},
		{"capped", Backoff{Base: 200 * time.Millisecond, Max: 4 * time.Second}, 6, 0, 4 * time.Second},
		{"cap not a power of two", Backoff{Base: 10 * time.Second, Max: 15 * time.Minute}, 8, 0, 15 * time.Minute},
		{"huge n neither overflows nor loops", Backoff{Base: time.Second, Max: time.Hour}, 1 << 30, 0, time.Hour},
		{"huge n without a cap stops doubling before it overflows", Backoff{Base: time.Second}, 1 << 30, 0, time.Second << 33},
		{"n below 1 is the first retry", Backoff{Base: time.Second, Max: time.Hour}, 0, 0, time.Second},
		{"jitter applied after the cap", Backoff{Base: time.Second, Max: 2 * time.Second, Jitter: half}, 5, 0, time.Second},
		{"Retry-After is a floor", Backoff{Base: time.Second, Max: 2 * time.Second, Jitter: half}, 1, 3 * time.Second, 3 * time.Second},
		{"Retry-After below the delay", Backoff{Base: time.Second, Max: 2 * time.Second}, 2, time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Delay(tt.n, tt.retryAfter); got != tt.want {
				t.Errorf("%+v.Delay(%d, %v) = %v, want %v", tt.b, tt.n, tt.retryAfter, got, tt.want)
			}
		})
	}
}

func TestFullJitter(t *testing.T) {
	if got := FullJitter(0); got != 0 {
		t.Errorf("FullJitter(0) = %v, want 0", got)
	}
	seen := map[time.Duration]bool{}
	for range 1000 {
		d := FullJitter(3)
		if d < 0 || d > 3 {
			t.Fatalf("FullJitter(3) = %v, want within [0, 3]", d)
		}
		seen[d] = true
	}
	if len(seen) != 4 {
		t.Errorf("FullJitter(3) over 1000 draws took %d distinct values, want all 4", len(seen))
	}
}

func TestSleep(t *testing.T) {
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Errorf("Sleep(1ms) = %v, want nil", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(cancelled, 1h) = %v, want context.Canceled", err)
	}
}

type classed bool

func (c classed) Error() string        { return "classed" }
func (c classed) RetryableError() bool { return bool(c) }

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"unclassified", errors.New("boom"), false},
		{"retryable", classed(true), true},
		{"permanent", classed(false), false},
		{"wrapped retryable", fmt.Errorf("close: %w", classed(true)), true},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
