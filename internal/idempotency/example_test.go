package idempotency_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
)

// The webhook's use of a store: the first delivery closes the channel, a
// duplicate replays the stored outcome.
func Example() {
	ctx := context.Background()
	store := idempotencytest.NewMemory(idempotency.Options{}) // or idempotency.NewDynamoDB in a Lambda
	key := "tr:task.completed:WT0123456789abcdef0123456789abcdef"
	hash := idempotency.PayloadHash("task.completed", "WT0123456789abcdef0123456789abcdef", "KD01", "UO01")

	handle := func() string {
		claim, err := store.Begin(ctx, key, hash, time.Now().Add(30*time.Second))
		switch {
		case errors.Is(err, idempotency.ErrInProgress):
			return "409: being processed"
		case errors.Is(err, idempotency.ErrPayloadMismatch):
			return "422: key reused"
		case err != nil:
			return "503: " + err.Error()
		case claim.Done != nil:
			return "200: replayed " + claim.Done.Outcome
		}
		// ... close the Interaction Channel here ...
		if err := store.Complete(ctx, key, claim.Owner, "closed", `{"status":"inactive"}`, time.Now().Add(7*24*time.Hour)); err != nil {
			return "500: " + err.Error()
		}
		return "200: closed"
	}

	fmt.Println(handle())
	fmt.Println(handle())
	// Output:
	// 200: closed
	// 200: replayed closed
}
