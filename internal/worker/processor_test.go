package worker

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/secrets"
)

const (
	acct  = "AC0123456789abcdef0123456789abcdef"
	token = "tokenWORKER0123456789"
)

// staticCreds authenticates the Twilio client with one auth token.
type staticCreds struct{}

func (staticCreds) Credentials(context.Context) (flex.Credentials, error) {
	return flex.Credentials{AccountSID: acct, Username: acct, Password: secrets.NewValue(token)}, nil
}
func (staticCreds) Refresh(context.Context) (bool, error) { return false, nil }

// stack is the worker over the real Processor, closer, Twilio client and a
// memory idempotency store, against the Twilio fake.
type stack struct {
	fake *flextest.Server
	x    *harness
}

func newStack(t *testing.T) *stack {
	t.Helper()
	fake := flextest.New(flextest.Options{AccountSID: acct, Credentials: map[string]string{acct: token}})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	api, err := flex.New(staticCreds{}, flex.Options{BaseURL: srv.URL, MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	proc := closejob.NewProcessor(channelclose.New(api, channelclose.Options{}), idempotencytest.NewMemory(idempotency.Options{}), nil)
	x := newHarness(Options{Now: time.Now})
	x.h = New(proc, x.vis, logging.New(x.logs, slog.LevelDebug), Options{})
	return &stack{fake: fake, x: x}
}

func (s *stack) deliver(t *testing.T, records ...events.SQSMessage) []string {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req"})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := s.x.h.Handle(ctx, events.SQSEvent{Records: records})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// An SQS redelivery of a processed message replays its outcome: one close.
func TestRedeliveryClosesOnce(t *testing.T) {
	s := newStack(t)
	ch := s.fake.AddChannel(flextest.Channel{})
	j := job(1)
	j.InteractionSID, j.ChannelSID = ch.InteractionSID, ch.SID
	b := body(t, "tr:token:x", j)
	if failed := s.deliver(t, sqsRecord("m1", b, fifoARN, 1, ""), sqsRecord("m2", b, fifoARN, 1, "")); len(failed) != 0 {
		t.Fatalf("failures = %v", failed)
	}
	if failed := s.deliver(t, sqsRecord("m1", b, fifoARN, 2, "")); len(failed) != 0 {
		t.Fatalf("failures on redelivery = %v", failed)
	}
	if n := s.fake.CloseCount(ch.SID); n != 1 {
		t.Errorf("CloseCount = %d after three deliveries of one event, want 1", n)
	}
	if n := s.fake.Count("POST", "/v1/Interactions"); n != 1 {
		t.Errorf("Twilio close calls = %d, want 1 (duplicates replayed from the store)", n)
	}
	lines := s.x.jobLines(t)
	if lines["m2"]["replayed"] != true || lines["m2"]["outcome"] != "closed" {
		t.Errorf("duplicate's job line = %v, want a replayed closed", lines["m2"])
	}
}

// A Twilio outage is retried: the claim is released, so the next delivery
// closes.
func TestOutageIsRetried(t *testing.T) {
	s := newStack(t)
	ch := s.fake.AddChannel(flextest.Channel{})
	j := job(2)
	j.InteractionSID, j.ChannelSID = ch.InteractionSID, ch.SID
	b := body(t, "tr:token:y", j)
	s.fake.Inject(flextest.Unavailable(0))
	if failed := s.deliver(t, sqsRecord("m1", b, fifoARN, 1, "")); !slices.Equal(failed, []string{"m1"}) {
		t.Fatalf("failures during the outage = %v, want m1", failed)
	}
	if got := s.x.jobLines(t)["m1"]["outcome"]; got != OutcomeFailedTransient {
		t.Errorf("outcome during the outage = %v, want failed_transient", got)
	}
	if len(s.x.vis.changes) != 1 {
		t.Errorf("visibility changes = %v, want one backoff", s.x.vis.changes)
	}
	s.fake.ClearFaults()
	if failed := s.deliver(t, sqsRecord("m1", b, fifoARN, 2, "")); len(failed) != 0 {
		t.Fatalf("failures after the outage = %v", failed)
	}
	if st, _ := s.fake.Channel(ch.InteractionSID, ch.SID); st.Status != "closed" {
		t.Errorf("channel %s after recovery, want closed", st.Status)
	}
}

// A channel that does not exist is an outcome, not a retry.
func TestMissingChannel(t *testing.T) {
	s := newStack(t)
	if failed := s.deliver(t, sqsRecord("m1", body(t, "tr:token:z", job(3)), fifoARN, 1, "")); len(failed) != 0 {
		t.Fatalf("failures = %v", failed)
	}
	if got := s.x.jobLines(t)["m1"]["outcome"]; got != "not_found" {
		t.Errorf("outcome = %v, want not_found", got)
	}
}
