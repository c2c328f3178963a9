package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/dynamotest"
	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/local/sqstrigger"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/queue/sqstest"
)

// A recheck is a batch item failure delayed by RecheckIn, and it holds back
// the rest of its FIFO group.
func TestRecheckOutcome(t *testing.T) {
	x := newHarness(Options{})
	x.proc.answers["k1"] = func() (closejob.Result, error) {
		return closejob.Result{Result: channelclose.Result{Outcome: channelclose.SkippedLiveTask, LiveTaskSID: "WT1"}, RecheckIn: time.Minute, Rechecks: 2}, nil
	}
	failed := x.handle(t,
		sqsRecord("m1", body(t, "k1", job(1)), fifoARN, 1, "g1"),
		sqsRecord("m2", body(t, "k2", job(1)), fifoARN, 1, "g1"),
		sqsRecord("m3", body(t, "k3", job(3)), fifoARN, 1, "g3"))
	if strings.Join(failed, ",") != "m1,m2" {
		t.Errorf("failures = %v, want m1 (recheck) and m2 (blocked behind it)", failed)
	}
	lines := x.jobLines(t)
	if l := lines["m1"]; l["outcome"] != OutcomeRecheck || l["rechecks"] != 2.0 || l["retry_in_s"] != 60.0 || l["live_task_sid"] != "WT1" {
		t.Errorf("recheck line = %v", l)
	}
	if lines["m2"]["outcome"] != OutcomeBlocked || lines["m3"]["outcome"] != "closed" {
		t.Errorf("outcomes m2 %v, m3 %v; want blocked, closed", lines["m2"]["outcome"], lines["m3"]["outcome"])
	}
	if len(x.vis.changes) != 2 || !strings.HasSuffix(x.vis.changes[0], "rh-m1 1m0s") || !strings.HasSuffix(x.vis.changes[1], "rh-m2 1m0s") {
		t.Errorf("visibility changes = %v, want m1 and m2 delayed 1m", x.vis.changes)
	}
}

// Two tasks of one channel end together. Through real SQS semantics
// (goaws) and the DynamoDB store (dynalite), the rechecks close the channel
// once:
//   - standard queue: both closes run while the other task still looks
//     live, and both skip at first;
//   - FIFO queue (one group per channel): the first close skips and holds
//     the group; its recheck closes, and the second finds it closed.
func TestRecheckClosesAfterTwoTasksEndTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("starts goaws and dynalite")
	}
	srv := sqstest.New(t, sqstest.Options{VisibilityTimeout: 30 * time.Second, MaxReceiveCount: 10})
	ddb := dynamotest.NewClient(dynamotest.Start(t))
	for _, fifo := range []bool{false, true} {
		name := map[bool]string{false: "standard", true: "fifo"}[fifo]
		t.Run(name, func(t *testing.T) {
			table := dynamotest.TableName(t)
			dynamotest.CreateTable(t, ddb, table)
			url, dlq := srv.StandardQueueURL(), srv.StandardDLQURL()
			if fifo {
				url, dlq = srv.QueueURL(), srv.DLQURL()
			}
			testTwoTasksEndTogether(t, srv, url, dlq, idempotency.NewDynamoDB(ddb, table, idempotency.Options{}), fifo)
		})
	}
}

func testTwoTasksEndTogether(t *testing.T, srv *sqstest.Server, url, dlq string, store *idempotency.DynamoDB, fifo bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	fake := flextest.New(flextest.Options{AccountSID: acct, Credentials: map[string]string{acct: token}})
	tw := httptest.NewServer(fake)
	t.Cleanup(tw.Close)
	api, err := flex.New(staticCreds{}, flex.Options{BaseURL: tw.URL, MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	proc := closejob.NewProcessor(channelclose.New(api, channelclose.Options{}), store, nil).
		WithRecheck(closejob.Recheck{After: time.Second, Limit: 3})
	logs := &syncBuffer{}
	qc := sqsreceive.New(srv.Client())
	h := New(proc, qc, logging.New(logs, slog.LevelDebug), Options{})
	m, err := sqstrigger.New(qc, url, sqstrigger.Local{Handler: lambda.NewHandler(h.Handle)}, sqstrigger.Options{QueueARN: sqstest.ARN(url), Wait: -1})
	if err != nil {
		t.Fatal(err)
	}

	ws := sid("WS", 1)
	ch := fake.AddChannel(flextest.Channel{})
	tasks := []flextest.Task{fake.AddChannelTask(ws, ch, "assigned"), fake.AddChannelTask(ws, ch, "assigned")}
	sender := queue.NewSender(srv.Client(), url)
	var keys []string
	for _, task := range tasks {
		j := channelclose.Job{Source: channelclose.SourceTaskRouter, EventType: "task.canceled", WorkspaceSID: ws, TaskSID: task.SID,
			InteractionSID: ch.InteractionSID, ChannelSID: ch.SID, Status: "closed", Routing: true, Guard: true}
		key := closejob.TaskRouterKey(j.EventType, task.SID)
		keys = append(keys, key)
		if err := sender.Enqueue(ctx, closejob.NewMessage(key, j, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	// Poll while both tasks look live: on a standard queue until both
	// closes have run, on FIFO until the first has (the second waits
	// behind it in the channel's group).
	want := 2
	if fifo {
		want = 1
	}
	for ctx.Err() == nil {
		out := logs.outcomes(t)
		if len(out) >= want {
			break
		}
		if _, err := m.Poll(ctx); err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
	out := logs.outcomes(t)
	if len(out) != want {
		t.Fatalf("keys run while both tasks were live = %v, want %d", out, want)
	}
	for k, o := range out {
		if len(o) != 1 || o[0] != OutcomeRecheck {
			t.Fatalf("first outcomes of %s = %v, want one recheck", k, o)
		}
	}
	if fake.CloseCount(ch.SID) != 0 {
		t.Fatalf("closed while both tasks were live")
	}
	// Both tasks are canceled now; the rechecks find no live task.
	for _, task := range tasks {
		if err := fake.SetTaskStatus(ws, task.SID, "canceled"); err != nil {
			t.Fatal(err)
		}
	}
	for ctx.Err() == nil {
		if n, _ := srv.Counts(ctx, url); n.Total == 0 {
			break
		}
		if _, err := m.Poll(ctx); err != nil {
			t.Fatalf("Poll: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got, _ := fake.Channel(ch.InteractionSID, ch.SID)
	if got.Status != "closed" || fake.CloseCount(ch.SID) != 1 {
		t.Errorf("channel %s after %d closes, want closed once", got.Status, fake.CloseCount(ch.SID))
	}
	out = logs.outcomes(t)
	finals := map[string]bool{}
	for _, k := range keys {
		o := out[k]
		if len(o) == 0 {
			t.Errorf("key %s never ran", k)
			continue
		}
		finals[o[len(o)-1]] = true
		rec, err := store.Get(ctx, k)
		if err != nil || rec.Status != idempotency.StatusDone || rec.Outcome != o[len(o)-1] {
			t.Errorf("record of %s = %+v, %v; want done with %s", k, rec, err, o[len(o)-1])
		}
	}
	if !finals["closed"] || !finals["already_closed"] || len(finals) != 2 {
		t.Errorf("final outcomes = %v (all: %v), want one closed, and already_closed for the other", finals, out)
	}
	if n, _ := srv.Counts(ctx, dlq); n.Total != 0 {
		t.Errorf("DLQ holds %d messages, want 0", n.Total)
	}
}

// syncBuffer is a log sink safe for the mapping's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// outcomes returns each key's job outcomes in order, skipping blocked
// and in-progress records (held back, not run).
func (s *syncBuffer) outcomes(t *testing.T) map[string][]string {
	t.Helper()
	s.mu.Lock()
	text := s.b.String()
	s.mu.Unlock()
	out := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Message, Key, Outcome string
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Message != "job" || l.Outcome == OutcomeBlocked || l.Outcome == OutcomeInProgress {
			continue
		}
		out[l.Key] = append(out[l.Key], l.Outcome)
	}
	return out
}
