// Package retry holds flexhook's one backoff policy and its one
// context-aware sleep, used by the Twilio client's retries, the worker's
// visibility backoff and the cold-start secret fetch.
//
// The policy is exponential backoff, optionally with full jitter, capped,
// and never shorter than a server's Retry-After, as in
// https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff is exponential backoff: the delay before retry n is
// Base·2^(n-1), capped at Max, then passed through Jitter.
type Backoff struct {
	// Base is the delay before the first retry.
	Base time.Duration
	// Max caps the delay before jitter; zero or less means no cap.
	Max time.Duration
	// Jitter maps the capped delay d to the delay used, in [0, d]. Nil
	// means no jitter; FullJitter is the usual choice for clients.
	Jitter func(d time.Duration) time.Duration
}

// Delay returns the delay before retry number n (1 for the first retry):
// Base·2^(n-1) capped at Max, jittered, and at least retryAfter (a
// server's Retry-After; 0 when it gave none).
func (b Backoff) Delay(n int, retryAfter time.Duration) time.Duration {
	d := b.Base
	for i := 1; i < n && d < 1<<62 && (b.Max <= 0 || d < b.Max); i++ {
		d *= 2
	}
	if b.Max > 0 {
		d = min(d, b.Max)
	}
	if b.Jitter != nil {
		d = b.Jitter(d)
	}
	return max(d, retryAfter)
}

// FullJitter returns a uniformly random duration in [0, d].
func FullJitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// Retryable reports whether err's class says the same call may succeed
// later. The class is decided once, where the knowledge is — the Twilio
// adapter (flex.Error), the secrets cache, the queue and the idempotency
// store — by a RetryableError method, as aws-sdk-go-v2 does; everything
// else reads it here and never re-derives it from HTTP statuses.
func Retryable(err error) bool {
	var r interface{ RetryableError() bool }
	return errors.As(err, &r) && r.RetryableError()
}

// Sleep waits for d, or until ctx is done, when it returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
