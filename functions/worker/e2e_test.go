package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/idempotency/dynamotest"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/local/sqstrigger"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/queue/sqstest"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
)

// The end-to-end tests run the real worker bootstrap under the AWS Lambda
// Runtime Interface Emulator, fed by the event source mapping emulator from
// goaws, with the idempotency table in dynalite and Twilio and Secrets
// Manager faked on loopback — every AWS service reached only through the
// AWS_ENDPOINT_URL_* variables, as in a local run.

// bootstrap builds the function once per test binary.
var bootstrap = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "flexhook-worker-e2e-")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return emulator.Build(ctx, "./functions/worker", dir)
})

const ws = samples.WorkspaceSID

type stack struct {
	t       *testing.T
	twilio  *flextest.Server
	sqs     *sqstest.Server
	q       *sqsreceive.Client
	env     []string
	timeout time.Duration
	fn      *emulator.Instance
	logs    *emulator.Output
	closes  chan struct{} // receives when a close request reaches Twilio
}

// startStack starts every dependency and the function.
func startStack(t *testing.T, so sqstest.Options, timeout time.Duration, extraEnv ...string) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test under the Lambda emulator; skipped with -short")
	}
	if _, err := bootstrap(); err != nil {
		t.Fatalf("build bootstrap: %v", err)
	}
	s := &stack{t: t, logs: &emulator.Output{}, timeout: timeout}
	s.twilio = flextest.New(flextest.Options{AccountSID: samples.AccountSID,
		Credentials: map[string]string{samples.AccountSID: samples.AuthToken}})
	s.twilio.AddWorkspace(ws)
	s.closes = make(chan struct{}, 1)
	tw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			select { // signal that a close is in flight
			case s.closes <- struct{}{}:
			default:
			}
		}
		s.twilio.ServeHTTP(w, r)
	}))
	t.Cleanup(tw.Close)
	sm := secretstest.New()
	sm.Put("flexhook/local", samples.SecretJSON())
	smSrv := httptest.NewServer(sm)
	t.Cleanup(smSrv.Close)
	s.sqs = sqstest.New(t, so)
	s.q = sqsreceive.New(s.sqs.Client())
	ddb := dynamotest.Start(t)
	table := dynamotest.TableName(t)
	dynamotest.CreateTable(t, dynamotest.NewClient(ddb), table)

	s.env = append([]string{
		"TWILIO_SECRET_ID=flexhook/local",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + smSrv.URL,
		"AWS_ENDPOINT_URL_SQS=" + s.sqs.Endpoint(),
		"AWS_ENDPOINT_URL_DYNAMODB=" + ddb,
		"IDEMPOTENCY_TABLE=" + table,
		"TWILIO_API_BASE_URL=" + tw.URL,
		"AWS_REGION=us-east-1",
		"WORKER_RETRY_BASE=1s",
		"AWS_LAMBDA_FUNCTION_NAME=flexhook-worker-e2e",
	}, extraEnv...)
	s.start()
	return s
}

// start starts (or restarts) the function under a new emulator.
func (s *stack) start() {
	s.t.Helper()
	bin, _ := bootstrap()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fn, err := emulator.Start(ctx, emulator.Options{Bootstrap: bin, Env: s.env, Timeout: s.timeout, Stdout: s.logs})
	if err != nil {
		s.t.Fatalf("start emulator: %v", err)
	}
	s.t.Cleanup(func() { fn.Close() })
	s.fn = fn
}

// mapping is the event source mapping from the FIFO close queue to the
// running function.
func (s *stack) mapping() *sqstrigger.Mapping {
	s.t.Helper()
	m, err := sqstrigger.New(s.q, s.sqs.QueueURL(), sqstrigger.Emulator{Instance: s.fn}, sqstrigger.Options{QueueARN: sqstest.ARN(s.sqs.QueueURL())})
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// channel adds an active channel whose task has just completed, and the
// close job that task's event makes.
func (s *stack) channel() (flextest.Channel, channelclose.Job) {
	ch := s.twilio.AddChannel(flextest.Channel{})
	task := s.twilio.AddChannelTask(ws, ch, flextest.TaskCompleted)
	return ch, channelclose.Job{Source: "taskrouter", EventType: "task.completed", WorkspaceSID: ws, TaskSID: task.SID,
		InteractionSID: ch.InteractionSID, ChannelSID: ch.SID, Status: "closed", Routing: true, Guard: true}
}

func (s *stack) enqueue(key string, j channelclose.Job) closejob.Message {
	s.t.Helper()
	m := closejob.NewMessage(key, j, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := queue.NewSender(s.sqs.Client(), s.sqs.QueueURL()).Enqueue(ctx, m); err != nil {
		s.t.Fatalf("enqueue: %v", err)
	}
	return m
}

// pollUntil polls through m until cond holds, at most rounds times.
func (s *stack) pollUntil(m *sqstrigger.Mapping, rounds int, what string, cond func() bool) sqstrigger.Stats {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var total sqstrigger.Stats
	for range rounds {
		st, err := m.Poll(ctx)
		if err != nil {
			s.t.Fatalf("poll: %v", err)
		}
		total = add(total, st)
		if cond() {
			return total
		}
	}
	s.t.Fatalf("%s: not after %d polls (%+v)\nlogs:\n%s", what, rounds, total, s.logs)
	return total
}

func add(a, b sqstrigger.Stats) sqstrigger.Stats {
	return sqstrigger.Stats{Polls: a.Polls + b.Polls, Received: a.Received + b.Received, Invocations: a.Invocations + b.Invocations,
		FunctionErrors: a.FunctionErrors + b.FunctionErrors, Deleted: a.Deleted + b.Deleted, Failed: a.Failed + b.Failed}
}

func (s *stack) counts(url string) sqstest.Counts {
	s.t.Helper()
	n, err := s.sqs.Counts(context.Background(), url)
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *stack) status(ch flextest.Channel) string {
	got, _ := s.twilio.Channel(ch.InteractionSID, ch.SID)
	return got.Status
}

// waitLogs waits until cond holds of the function's output, which the
// emulator copies asynchronously: a line may arrive after Invoke returned.
func (s *stack) waitLogs(what string, cond func() bool) {
	s.t.Helper()
	for limit := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(limit) {
			s.t.Fatalf("%s: not in the function's output:\n%s", what, s.logs)
		}
	}
}

// jobLines returns the function's "job" log lines.
func (s *stack) jobLines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["message"] == "job" {
			out = append(out, m)
		}
	}
	return out
}

func (s *stack) outcomes(key string) []string {
	var out []string
	for _, l := range s.jobLines() {
		if l["key"] == key {
			out = append(out, l["outcome"].(string))
		}
	}
	return out
}

// Jobs on the queue close their channels, once each: an SQS duplicate of a
// processed message replays the recorded outcome, and a poison message is
// acknowledged rather than retried.
func TestWorkerClosesChannels(t *testing.T) {
	s := startStack(t, sqstest.Options{VisibilityTimeout: 5 * time.Second}, 10*time.Second)
	var chans []flextest.Channel
	var msgs []closejob.Message
	for i := range 3 {
		ch, j := s.channel()
		chans = append(chans, ch)
		msgs = append(msgs, s.enqueue("tr:token:e2e-"+string(rune('a'+i)), j))
	}
	if _, err := s.q.Send(context.Background(), s.sqs.QueueURL(), queue.Outgoing{Body: "not a job", GroupID: "poison", DedupID: "poison"}); err != nil {
		t.Fatal(err)
	}
	m := s.mapping()
	s.pollUntil(m, 10, "queue drained", func() bool { return s.counts(s.sqs.QueueURL()).Total == 0 })
	for i, ch := range chans {
		if got := s.status(ch); got != "closed" {
			t.Errorf("channel %d is %s, want closed", i, got)
		}
		if n := s.twilio.CloseCount(ch.SID); n != 1 {
			t.Errorf("channel %d closed %d times, want 1", i, n)
		}
		if i == 0 {
			s.waitLogs("four job lines", func() bool { return len(s.jobLines()) >= 4 })
		}
		if got := s.outcomes(msgs[i].Key); len(got) != 1 || got[0] != "closed" {
			t.Errorf("job %s outcomes %v, want [closed]", msgs[i].Key, got)
		}
	}

	// SQS delivers at least once: the same message again (a new send with
	// another deduplication id, as a redelivery would be) is replayed.
	body, _ := msgs[0].Encode()
	if _, err := s.q.Send(context.Background(), s.sqs.QueueURL(), queue.Outgoing{Body: body, GroupID: chans[0].SID, DedupID: "redelivery"}); err != nil {
		t.Fatal(err)
	}
	s.pollUntil(m, 10, "duplicate consumed", func() bool { return s.counts(s.sqs.QueueURL()).Total == 0 })
	if n := s.twilio.CloseCount(chans[0].SID); n != 1 {
		t.Errorf("a duplicate delivery closed the channel again: %d closes", n)
	}
	if n := s.twilio.Count("POST", "/v1/Interactions/"+chans[0].InteractionSID); n != 1 {
		t.Errorf("a duplicate delivery called Twilio: %d close requests, want 1", n)
	}
	s.waitLogs("five job lines", func() bool { return len(s.jobLines()) >= 5 })
	var replayed bool
	for _, l := range s.jobLines() {
		if l["key"] == msgs[0].Key && l["replayed"] == true && l["outcome"] == "closed" {
			replayed = true
		}
	}
	if !replayed {
		t.Errorf("no replayed job line for the duplicate:\n%s", s.logs)
	}
	if n := s.counts(s.sqs.DLQURL()); n.Total != 0 {
		t.Errorf("DLQ holds %d messages, want 0 (the poison message is acknowledged)", n.Total)
	}
	var poison bool
	for _, l := range s.jobLines() {
		if l["requestId"] == nil {
			t.Errorf("job line without requestId: %v", l)
		}
		if l["outcome"] == "failed_permanent" && l["key"] == nil {
			poison = true
		}
	}
	if !poison {
		t.Errorf("no failed_permanent job line for the poison message")
	}
	out := s.logs.String()
	if strings.Contains(out, samples.AuthToken) {
		t.Errorf("function output contains the auth token")
	}
	// The Function dimension is the Lambda function name.
	if !strings.Contains(out, `"Function":"flexhook-worker-e2e"`) || !strings.Contains(out, `"Route":"sqs"`) {
		t.Errorf("no EMF metrics line for the worker:\n%s", out)
	}
}

// A Twilio error that does not go away is retried with backoff until
// maxReceiveCount, and the message then waits in the dead-letter queue.
func TestWorkerPersistentFailureGoesToDLQ(t *testing.T) {
	// A 5s timeout leaves the job time after a cold start on a loaded machine
	// (with 2s and the 1s reserve, a slow start deferred it); the visibility
	// timeout outlasts it, as AWS requires, and each failure brings the
	// message back after WORKER_RETRY_BASE (1s) through ChangeMessageVisibility.
	s := startStack(t, sqstest.Options{VisibilityTimeout: 6 * time.Second, MaxReceiveCount: 3}, 5*time.Second)
	ch, j := s.channel()
	msg := s.enqueue("tr:token:e2e-dlq", j)
	s.twilio.Inject(flextest.Fault{Method: "POST", Path: "/v1/Interactions", Status: 500})
	m := s.mapping()
	st := s.pollUntil(m, 40, "message in the DLQ", func() bool { return s.counts(s.sqs.DLQURL()).Total == 1 })
	s.waitLogs("three job lines", func() bool { return len(s.jobLines()) >= 3 })
	if got := s.outcomes(msg.Key); len(got) != 3 || got[0] != "failed_transient" || got[2] != "failed_transient" {
		t.Errorf("job outcomes %v, want three failed_transient (maxReceiveCount 3)", got)
	}
	if st.Deleted != 0 || st.Failed != 3 {
		t.Errorf("mapping stats %+v, want 3 failed and nothing deleted", st)
	}
	if got := s.status(ch); got != "active" {
		t.Errorf("channel is %s, want active", got)
	}
	if n := s.counts(s.sqs.QueueURL()); n.Total != 0 {
		t.Errorf("close queue holds %d messages, want 0", n.Total)
	}
	dlq, err := s.q.Receive(context.Background(), s.sqs.DLQURL(), sqsreceive.ReceiveOptions{Max: 10})
	if err != nil || len(dlq) != 1 {
		t.Fatalf("DLQ receive = %d, %v", len(dlq), err)
	}
	if got, err := closejob.DecodeMessage(dlq[0].Body); err != nil || got.Key != msg.Key {
		t.Errorf("DLQ message decodes to %+v, %v; want key %s", got, err, msg.Key)
	}
	for _, l := range s.jobLines() {
		if l["retry_in_s"] != float64(1) {
			t.Errorf("retry_in_s = %v, want 1 (WORKER_RETRY_BASE; goaws always reports receive count 1)", l["retry_in_s"])
		}
	}
}

// A worker killed in the middle of a close does not lose the job: the
// message comes back after its visibility timeout, the new container takes
// over the dead one's expired claim in the idempotency table, and the
// channel is closed once.
func TestWorkerKilledMidBatch(t *testing.T) {
	s := startStack(t, sqstest.Options{VisibilityTimeout: 2 * time.Second, MaxReceiveCount: 10}, 3*time.Second)
	ch, j := s.channel()
	msg := s.enqueue("tr:token:e2e-kill", j)
	// Twilio hangs on the close, so the invocation is in flight when the
	// function is killed.
	s.twilio.Inject(flextest.Fault{Method: "POST", Path: "/v1/Interactions", Delay: time.Minute, Times: 1})
	m := s.mapping()
	type result struct {
		st  sqstrigger.Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		st, err := m.Poll(ctx)
		done <- result{st, err}
	}()
	select {
	case <-s.closes:
	case <-time.After(30 * time.Second):
		t.Fatalf("the close never reached Twilio\nlogs:\n%s", s.logs)
	}
	if err := s.fn.Close(); err != nil {
		t.Fatalf("kill the function: %v", err)
	}
	r := <-done
	if r.err != nil || r.st.FunctionErrors != 1 || r.st.Deleted != 0 {
		t.Fatalf("poll during the kill = %+v, %v; want a failed invocation and nothing deleted\nlogs:\n%s", r.st, r.err, s.logs)
	}
	if got := s.status(ch); got != "active" {
		t.Fatalf("channel is %s after the kill, want active (the hung close had no effect)", got)
	}

	s.start()
	m = s.mapping()
	s.pollUntil(m, 30, "job done after restart", func() bool {
		return s.counts(s.sqs.QueueURL()).Total == 0
	})
	if got := s.status(ch); got != "closed" {
		t.Errorf("channel is %s, want closed", got)
	}
	if n := s.twilio.CloseCount(ch.SID); n != 1 {
		t.Errorf("channel closed %d times, want 1", n)
	}
	s.waitLogs("the closed job line", func() bool { return slices.Contains(s.outcomes(msg.Key), "closed") })
	got := s.outcomes(msg.Key)
	t.Logf("outcomes after the restart: %v", got)
	if len(got) == 0 || got[len(got)-1] != "closed" {
		t.Errorf("job outcomes after restart %v, want to end with closed", got)
	}
	for _, o := range got[:max(len(got)-1, 0)] {
		if o != "in_progress" {
			t.Errorf("job outcome %s before the close, want only in_progress (the dead claim's lock)\n%s", o, s.logs)
		}
	}
	if n := s.counts(s.sqs.DLQURL()); n.Total != 0 {
		t.Errorf("DLQ holds %d messages, want 0", n.Total)
	}
}

// A bad setting fails the cold start with a message naming it.
func TestColdStartConfigError(t *testing.T) {
	s := startStack(t, sqstest.Options{}, 3*time.Second, "WORKER_RETRY_BASE=soon")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.fn.Invoke(ctx, []byte(`{"Records":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Failed() {
		t.Fatalf("invoke with WORKER_RETRY_BASE=soon succeeded: %s", res.Payload)
	}
	s.waitLogs("the failure naming WORKER_RETRY_BASE", func() bool { return strings.Contains(s.logs.String(), "WORKER_RETRY_BASE") })
}
