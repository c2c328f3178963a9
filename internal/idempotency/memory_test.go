package idempotency_test

import (
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
)

// The in-memory store of package idempotencytest passes the same suite as
// DynamoDB, so tests that use it see the deployed behaviour.
func TestMemory(t *testing.T) {
	idempotency.RunStoreSuite(t, func(now func() time.Time) idempotency.SuiteStore {
		return idempotencytest.NewMemory(idempotency.Options{Now: now})
	})
}
