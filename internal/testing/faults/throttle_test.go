package faults

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/dynamotest"
)

// The Throttle answers as DynamoDB does when it throttles, so the real SDK
// decodes its answers into the throttling error codes, and the idempotency
// store classifies them as retryable; with no share it forwards to dynalite
// unchanged.
func TestThrottle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts dynalite")
	}
	ddb := dynamotest.Start(t)
	table := dynamotest.TableName(t)
	dynamotest.CreateTable(t, dynamotest.NewClient(ddb), table)
	th, err := NewThrottle(ddb, 1)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(th)
	defer srv.Close()
	once := dynamotest.NewClient(srv.URL, func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
	store := idempotency.NewDynamoDB(once, table, idempotency.Options{})
	ctx := context.Background()
	lock := time.Now().Add(time.Minute)

	if _, err := store.Begin(ctx, "k0", "h", lock); err != nil {
		t.Fatalf("Begin without throttling = %v", err)
	}
	th.SetShare(1)
	for i, want := range []string{CodeProvisionedThroughputExceeded, CodeThrottling, CodeProvisionedThroughputExceeded} {
		_, err := store.Begin(ctx, "k1", "h", lock)
		var se *idempotency.Error
		var api smithy.APIError
		if !errors.As(err, &se) || !se.RetryableError() || se.Code != want || !errors.As(err, &api) || api.ErrorCode() != want {
			t.Errorf("Begin #%d while throttled = %v, want a retryable *idempotency.Error with code %s", i+1, err, want)
		}
	}
	if st := th.Stats(); st.Requests != 4 || st.Total() != 3 {
		t.Errorf("Stats = %+v, want 4 requests, 3 throttled", st)
	}

	// The SDK's own retryer retries throttling: one call, several
	// requests, all throttled, then the throttling error.
	retrying := dynamotest.NewClient(srv.URL)
	before := th.Stats()
	_, err = retrying.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "k0"}}})
	after := th.Stats()
	var api smithy.APIError
	if n := after.Requests - before.Requests; !errors.As(err, &api) || n < 2 || after.Throttled["GetItem"] != n {
		t.Errorf("GetItem with every request throttled = %v after %d requests (%d throttled), want the SDK to retry, then fail with the throttling error", err, n, after.Throttled["GetItem"])
	}

	th.SetShare(0)
	if rec, err := store.Get(ctx, "k0"); err != nil || rec.Key != "k0" {
		t.Errorf("Get after throttling stopped = %+v, %v", rec, err)
	}
}

func TestNewThrottleBadTarget(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:8000", "ftp://x", "http://"} {
		if _, err := NewThrottle(target, 1); err == nil {
			t.Errorf("NewThrottle(%q) = nil error, want one", target)
		}
	}
}
