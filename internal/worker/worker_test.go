package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
)

const (
	fifoARN     = "arn:aws:sqs:us-east-1:123456789012:flexhook-close.fifo"
	fifoURL     = "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo"
	standardARN = "arn:aws:sqs:us-east-1:123456789012:flexhook-close"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// sid returns a valid SID with prefix whose last digits are n.
func sid(prefix string, n int) string {
	s := fmt.Sprintf("%032x", n)
	return prefix + s
}

func job(n int) channelclose.Job {
	return channelclose.Job{Source: "taskrouter", EventType: "task.completed", WorkspaceSID: sid("WS", 1), TaskSID: sid("WT", n),
		InteractionSID: sid("KD", n), ChannelSID: sid("UO", n), Status: "closed", Routing: true}
}

func body(t *testing.T, key string, j channelclose.Job) string {
	t.Helper()
	b, err := closejob.NewMessage(key, j, t0).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sqsRecord(id, body, arn string, receiveCount int, group string) events.SQSMessage {
	attrs := map[string]string{"ApproximateReceiveCount": strconv.Itoa(receiveCount), "SentTimestamp": "1772600767000"}
	if group != "" {
		attrs["MessageGroupId"] = group
	}
	return events.SQSMessage{MessageId: id, ReceiptHandle: "rh-" + id, Body: body, Attributes: attrs,
		EventSource: "aws:sqs", EventSourceARN: arn, AWSRegion: "us-east-1"}
}

// fakeProcessor answers each key with a scripted result.
type fakeProcessor struct {
	mu      sync.Mutex
	answers map[string]func() (closejob.Result, error)
	runs    []string
}

func (f *fakeProcessor) Run(_ context.Context, m closejob.Message) (closejob.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, m.Key)
	if a, ok := f.answers[m.Key]; ok {
		return a()
	}
	return closejob.Result{Result: channelclose.Result{Outcome: channelclose.Closed, ChannelStatus: "closed", Attempts: 1}}, nil
}

// fakeVisibility records visibility changes.
type fakeVisibility struct {
	mu      sync.Mutex
	changes []string
	err     error
}

func (f *fakeVisibility) ChangeVisibility(_ context.Context, url, rh string, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, fmt.Sprintf("%s %s %v", url, rh, d))
	return f.err
}

// retryable is an error the Processor returns after a transient failure.
type retryable struct{}

func (retryable) Error() string        { return "twilio 503" }
func (retryable) RetryableError() bool { return true }

type harness struct {
	proc    *fakeProcessor
	vis     *fakeVisibility
	logs    *bytes.Buffer
	metrics *bytes.Buffer
	h       *Handler
}

func newHarness(o Options) *harness {
	x := &harness{proc: &fakeProcessor{answers: map[string]func() (closejob.Result, error){}}, vis: &fakeVisibility{},
		logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}}
	if o.Now == nil {
		o.Now = func() time.Time { return t0.Add(time.Minute) }
	}
	o.Metrics = metrics.New(x.metrics, "worker", o.Now)
	x.h = New(x.proc, x.vis, logging.New(x.logs, slog.LevelDebug), o)
	return x
}

func (x *harness) handle(t *testing.T, records ...events.SQSMessage) []string {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	resp, err := x.h.Handle(ctx, events.SQSEvent{Records: records})
	if err != nil {
		t.Fatalf("Handle() returned an error: %v", err)
	}
	if resp.BatchItemFailures == nil {
		t.Fatalf("Handle() returned null batchItemFailures")
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// jobLines returns the "job" log lines by message id.
func (x *harness) jobLines(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(x.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["message"] == "job" {
			out[m["message_id"].(string)] = m
		}
	}
	return out
}

func TestHandleOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		answer      func() (closejob.Result, error)
		body        string // default: a valid job
		count       int
		wantOutcome string
		wantFailed  bool
		wantDelay   time.Duration
		wantLevel   string
	}{
		{name: "closed", answer: nil, wantOutcome: "closed", wantLevel: "INFO"},
		{name: "replayed duplicate", answer: func() (closejob.Result, error) {
			return closejob.Result{Result: channelclose.Result{Outcome: channelclose.AlreadyClosed}, Replayed: true}, nil
		}, wantOutcome: "already_closed", wantLevel: "INFO"},
		{name: "live task", answer: func() (closejob.Result, error) {
			return closejob.Result{Result: channelclose.Result{Outcome: channelclose.SkippedLiveTask, LiveTaskSID: sid("WT", 99)}}, nil
		}, wantOutcome: "skipped_live_task", wantLevel: "INFO"},
		{name: "replayed permanent failure", answer: func() (closejob.Result, error) {
			return closejob.Result{Result: channelclose.Result{Outcome: closejob.OutcomeFailedPermanent}, Replayed: true, Failure: "twilio 400"}, nil
		}, wantOutcome: "failed_permanent", wantLevel: "ERROR"},
		{name: "permanent failure is acknowledged", answer: func() (closejob.Result, error) {
			return closejob.Result{}, &closejob.PermanentError{Err: errors.New("twilio 400")}
		}, wantOutcome: "failed_permanent", wantLevel: "ERROR"},
		{name: "payload mismatch is acknowledged", answer: func() (closejob.Result, error) {
			return closejob.Result{}, fmt.Errorf("claim: %w", closejob.ErrPayloadMismatch)
		}, wantOutcome: "failed_permanent", wantLevel: "ERROR"},
		{name: "poison body is acknowledged", body: `{"v":1,"key":`, wantOutcome: "failed_permanent", wantLevel: "ERROR"},
		{name: "wrong version is acknowledged", body: `{"v":9,"key":"k"}`, wantOutcome: "failed_permanent", wantLevel: "ERROR"},
		{name: "in progress retries soon", answer: func() (closejob.Result, error) {
			return closejob.Result{}, fmt.Errorf("claim k: %w", closejob.ErrInProgress)
		}, count: 4, wantOutcome: "in_progress", wantFailed: true, wantDelay: 10 * time.Second, wantLevel: "WARN"},
		{name: "retryable first receive", answer: func() (closejob.Result, error) {
			return closejob.Result{}, retryable{}
		}, count: 1, wantOutcome: "failed_transient", wantFailed: true, wantDelay: 10 * time.Second, wantLevel: "WARN"},
		{name: "retryable third receive backs off", answer: func() (closejob.Result, error) {
			return closejob.Result{}, retryable{}
		}, count: 3, wantOutcome: "failed_transient", wantFailed: true, wantDelay: 40 * time.Second, wantLevel: "WARN"},
		{name: "unclassified error is retried", answer: func() (closejob.Result, error) {
			return closejob.Result{}, errors.New("ResourceNotFoundException")
		}, count: 2, wantOutcome: "failed_transient", wantFailed: true, wantDelay: 20 * time.Second, wantLevel: "WARN"},
		{name: "panic is retried", answer: func() (closejob.Result, error) {
			panic("bug")
		}, count: 1, wantOutcome: "failed_transient", wantFailed: true, wantDelay: 10 * time.Second, wantLevel: "WARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := newHarness(Options{})
			b := tt.body
			if b == "" {
				b = body(t, "tr:key", job(1))
			}
			if tt.answer != nil {
				x.proc.answers["tr:key"] = tt.answer
			}
			count := max(tt.count, 1)
			failed := x.handle(t, sqsRecord("m1", b, fifoARN, count, sid("UO", 1)))
			if got := len(failed) == 1; got != tt.wantFailed {
				t.Errorf("Handle() failures = %v, want failed %v", failed, tt.wantFailed)
			}
			var wantVis []string
			if tt.wantDelay > 0 {
				wantVis = []string{fmt.Sprintf("%s rh-m1 %v", fifoURL, tt.wantDelay)}
			}
			if !slices.Equal(x.vis.changes, wantVis) {
				t.Errorf("visibility changes = %v, want %v", x.vis.changes, wantVis)
			}
			line := x.jobLines(t)["m1"]
			if line == nil {
				t.Fatalf("no job log line:\n%s", x.logs)
			}
			if line["outcome"] != tt.wantOutcome || line["level"] != tt.wantLevel || line["requestId"] != "req-1" {
				t.Errorf("job line outcome %v level %v requestId %v, want %s %s req-1", line["outcome"], line["level"], line["requestId"], tt.wantOutcome, tt.wantLevel)
			}
			if line["receive_count"] != float64(count) {
				t.Errorf("job line receive_count = %v, want %d", line["receive_count"], count)
			}
			if !strings.Contains(x.metrics.String(), `"Outcome":"`+tt.wantOutcome+`"`) || !strings.Contains(x.metrics.String(), `"Route":"sqs"`) {
				t.Errorf("metrics line %s does not count outcome %s on route sqs", x.metrics, tt.wantOutcome)
			}
		})
	}
}

// After a record of a FIFO group fails, the later records of the group are
// returned unprocessed, in order; other groups go on.
func TestFIFOGroupRule(t *testing.T) {
	x := newHarness(Options{})
	x.proc.answers["a1"] = func() (closejob.Result, error) { return closejob.Result{}, retryable{} }
	ja, jb := job(1), job(2)
	failed := x.handle(t,
		sqsRecord("a1", body(t, "a1", ja), fifoARN, 2, ja.ChannelSID),
		sqsRecord("b1", body(t, "b1", jb), fifoARN, 1, jb.ChannelSID),
		sqsRecord("a2", body(t, "a2", ja), fifoARN, 1, ja.ChannelSID),
		sqsRecord("a3", `poison`, fifoARN, 1, ja.ChannelSID),
		sqsRecord("b2", body(t, "b2", jb), fifoARN, 1, jb.ChannelSID),
	)
	if want := []string{"a1", "a2", "a3"}; !slices.Equal(failed, want) {
		t.Errorf("failures = %v, want %v", failed, want)
	}
	if want := []string{"a1", "b1", "b2"}; !slices.Equal(x.proc.runs, want) {
		t.Errorf("processed %v, want %v", x.proc.runs, want)
	}
	lines := x.jobLines(t)
	for _, id := range []string{"a2", "a3"} {
		if lines[id]["outcome"] != OutcomeBlocked {
			t.Errorf("%s outcome = %v, want blocked", id, lines[id]["outcome"])
		}
	}
	// The blocked records wait as long as the one they follow.
	want := []string{fifoURL + " rh-a1 20s", fifoURL + " rh-a2 20s", fifoURL + " rh-a3 20s"}
	if !slices.Equal(x.vis.changes, want) {
		t.Errorf("visibility changes = %v, want %v", x.vis.changes, want)
	}
}

// Without a MessageGroupId attribute (goaws), a FIFO queue's group is the
// job's channel; a standard queue has no group rule.
func TestGroupFallback(t *testing.T) {
	ja := job(1)
	for _, tt := range []struct {
		arn  string
		want []string
	}{
		{fifoARN, []string{"a1", "a2"}},
		{standardARN, []string{"a1"}},
	} {
		x := newHarness(Options{})
		x.proc.answers["a1"] = func() (closejob.Result, error) { return closejob.Result{}, retryable{} }
		failed := x.handle(t,
			sqsRecord("a1", body(t, "a1", ja), tt.arn, 1, ""),
			sqsRecord("a2", body(t, "a2", ja), tt.arn, 1, ""),
		)
		if !slices.Equal(failed, tt.want) {
			t.Errorf("%s: failures = %v, want %v", tt.arn, failed, tt.want)
		}
	}
}

// Records not started when the deadline is too close are deferred.
func TestDeadlineDefers(t *testing.T) {
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	x := newHarness(Options{Now: clock, Reserve: 2 * time.Second})
	x.proc.answers["k1"] = func() (closejob.Result, error) {
		mu.Lock()
		now = now.Add(9 * time.Second) // the first close takes most of the budget
		mu.Unlock()
		return closejob.Result{Result: channelclose.Result{Outcome: channelclose.Closed}}, nil
	}
	ctx, cancel := context.WithDeadline(context.Background(), t0.Add(10*time.Second))
	defer cancel()
	resp, _ := x.h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{
		sqsRecord("m1", body(t, "k1", job(1)), fifoARN, 1, ""),
		sqsRecord("m2", body(t, "k2", job(2)), fifoARN, 1, ""),
	}})
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m2" {
		t.Errorf("failures = %+v, want m2 deferred", resp.BatchItemFailures)
	}
	if !slices.Equal(x.proc.runs, []string{"k1"}) {
		t.Errorf("processed %v, want only k1", x.proc.runs)
	}
	if got := x.jobLines(t)["m2"]["outcome"]; got != OutcomeDeferred {
		t.Errorf("m2 outcome = %v, want deferred", got)
	}
	if len(x.vis.changes) != 0 {
		t.Errorf("deferred record changed visibility: %v", x.vis.changes)
	}
}

// A failed visibility change is logged; the record is still reported.
func TestVisibilityFailure(t *testing.T) {
	x := newHarness(Options{})
	x.vis.err = errors.New("sqs down")
	x.proc.answers["k"] = func() (closejob.Result, error) { return closejob.Result{}, retryable{} }
	failed := x.handle(t, sqsRecord("m1", body(t, "k", job(1)), fifoARN, 1, ""))
	if !slices.Equal(failed, []string{"m1"}) {
		t.Errorf("failures = %v, want m1", failed)
	}
	if got := x.jobLines(t)["m1"]["visibility_error"]; got != "sqs down" {
		t.Errorf("visibility_error = %v, want sqs down", got)
	}
	// A record whose eventSourceARN is not a queue cannot be delayed.
	x = newHarness(Options{})
	x.proc.answers["k"] = func() (closejob.Result, error) { return closejob.Result{}, retryable{} }
	x.handle(t, sqsRecord("m1", body(t, "k", job(1)), "bogus", 1, ""))
	if got := x.jobLines(t)["m1"]["visibility_error"]; got == nil {
		t.Errorf("no visibility_error for a bad eventSourceARN")
	}
}

func TestLogLineFields(t *testing.T) {
	x := newHarness(Options{})
	j := job(7)
	x.proc.answers["tr:k"] = func() (closejob.Result, error) {
		return closejob.Result{Result: channelclose.Result{Outcome: channelclose.Closed, ChannelStatus: "closed", Attempts: 2}}, nil
	}
	x.handle(t, sqsRecord("m1", body(t, "tr:k", j), fifoARN, 1, ""))
	line := x.jobLines(t)["m1"]
	for k, want := range map[string]any{
		"key": "tr:k", "channel_sid": j.ChannelSID, "task_sid": j.TaskSID, "interaction_sid": j.InteractionSID,
		"attempts": float64(2), "replayed": false, "event_type": "task.completed", "queue_age_s": float64(60),
	} {
		if line[k] != want {
			t.Errorf("job line %s = %v, want %v", k, line[k], want)
		}
	}
	if strings.Contains(x.logs.String(), `"routing"`) || strings.Contains(x.logs.String(), `"hash"`) {
		t.Errorf("log contains the message body:\n%s", x.logs)
	}
	var emf map[string]any
	if err := json.Unmarshal(x.metrics.Bytes(), &emf); err != nil {
		t.Fatalf("metrics line: %v", err)
	}
	if emf["Function"] != "worker" || emf["FlexAttempts"] != float64(2) || emf["ColdStart"] != float64(1) {
		t.Errorf("metrics = %v, want function worker, 2 attempts, a cold start", emf)
	}
}

// DRY_RUN: the job line says which Flex update was not sent, as the
// webhook's summary line does.
func TestLogLineDryRun(t *testing.T) {
	x := newHarness(Options{})
	j := job(8)
	x.proc.answers["tr:dry"] = func() (closejob.Result, error) {
		return closejob.Result{Result: channelclose.Result{Outcome: channelclose.DryRun, ChannelStatus: "active", Request: j.Request()}}, nil
	}
	x.proc.answers["tr:real"] = func() (closejob.Result, error) {
		return closejob.Result{Result: channelclose.Result{Outcome: channelclose.Closed, ChannelStatus: "closed", Request: j.Request()}}, nil
	}
	x.handle(t, sqsRecord("m1", body(t, "tr:dry", j), standardARN, 1, ""), sqsRecord("m2", body(t, "tr:real", j), standardARN, 1, ""))
	lines := x.jobLines(t)
	if got := lines["m1"]["dry_run_request"]; got != j.Request() || lines["m1"]["outcome"] != "dry_run" {
		t.Errorf("dry-run job line: outcome %v, dry_run_request %v; want dry_run, %q", lines["m1"]["outcome"], got, j.Request())
	}
	if got, ok := lines["m2"]["dry_run_request"]; ok {
		t.Errorf("a real close's job line has dry_run_request %v", got)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{0, 10 * time.Second}, {1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second},
		{7, 640 * time.Second}, {8, 15 * time.Minute}, {1000, 15 * time.Minute},
	}
	for _, tt := range tests {
		if got := Backoff(tt.n, 10*time.Second, 15*time.Minute); got != tt.want {
			t.Errorf("Backoff(%d, 10s, 15m) = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	h := New(&fakeProcessor{}, &fakeVisibility{}, slog.Default(), Options{RetryMax: 48 * time.Hour})
	if h.o.RetryBase != DefaultRetryBase || h.o.RetryMax != 12*time.Hour || h.o.InProgressDelay != DefaultRetryBase || h.o.Reserve != DefaultReserve {
		t.Errorf("defaults = %+v", h.o)
	}
	h = New(&fakeProcessor{}, &fakeVisibility{}, slog.Default(), Options{RetryBase: time.Minute, RetryMax: time.Second})
	if h.o.RetryMax != time.Minute {
		t.Errorf("RetryMax below RetryBase became %v, want RetryBase", h.o.RetryMax)
	}
}
