package faults

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/cmd/flexhook/redrive"
	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
)

// channelPath matches every request about one channel's resource.
func channelPath(ch flextest.Channel) string { return "/v1/Interactions/*/Channels/" + ch.SID }

// posts returns the close requests Twilio received for ch, oldest first.
func (s *stack) closeRequests(ch flextest.Channel) []flextest.Request {
	var out []flextest.Request
	for _, r := range s.twilio.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/Channels/"+ch.SID) {
			out = append(out, r)
		}
	}
	return out
}

// queue sends task's task.completed event to the webhook, which must
// accept it (204, queued).
func (s *stack) queue(task flextest.Task) {
	s.t.Helper()
	if r := s.send(s.taskEvent("task.completed", task, time.Now(), "")); r.Status != http.StatusNoContent {
		s.t.Fatalf("the webhook answered %d %s, want 204", r.Status, r.Body)
	}
}

// closedOnce fails the test unless ch is closed, by one close effect.
func (s *stack) closedOnce(ch flextest.Channel) {
	s.t.Helper()
	if got, n := s.status(ch), s.twilio.CloseCount(ch.SID); got != flextest.ChannelClosed || n != 1 {
		s.t.Errorf("channel %s is %s after %d close effects, want closed once; jobs %v", ch.SID, got, n, outcomes(s.jobsOf(ch.SID)))
	}
}

// Twilio 429 with Retry-After: a short Retry-After is waited out within the
// delivery — never sooner — and the close succeeds; one longer than the
// worker's timeout ends the delivery at once, and the job comes back from
// the queue and closes the channel.
func TestTwilio429RetryAfter(t *testing.T) {
	t.Parallel()
	// The short channel's delivery waits out two Retry-After: 1 (over 2s),
	// so the queue's visibility timeout must outlast the worker's timeout,
	// as AWS requires of a real event source mapping; with the default 2s the
	// message came back while its delivery was still closing the channel.
	s := newStack(t, stackOptions{WorkerTimeout: 5 * time.Second, Visibility: 8 * time.Second})
	short, shortTask := s.channel(flextest.TaskCompleted)
	long, longTask := s.channel(flextest.TaskCompleted)
	s.twilio.Inject(flextest.Fault{Method: http.MethodPost, Path: channelPath(short), Status: 429, Code: 20429,
		Header: http.Header{"Retry-After": {"1"}}, Times: 2})
	longFault := flextest.RateLimited(time.Minute, 1)
	longFault.Method, longFault.Path = http.MethodPost, channelPath(long)
	s.twilio.Inject(longFault)
	s.queue(shortTask)
	s.queue(longTask)
	stop := s.runWorker()
	s.eventually(30*time.Second, "both channels closed", func() bool {
		return s.status(short) == flextest.ChannelClosed && s.status(long) == flextest.ChannelClosed && s.queueEmpty()
	})
	stop()
	s.closedOnce(short)
	s.closedOnce(long)

	posts := s.closeRequests(short)
	if len(posts) != 3 || posts[0].Status != 429 || posts[1].Status != 429 || posts[2].Status != 200 {
		t.Fatalf("close requests of the short channel: %+v, want 429, 429, 200", posts)
	}
	for i := 1; i < len(posts); i++ {
		if gap := posts[i].Time.Sub(posts[i-1].Time); gap < time.Second {
			t.Errorf("retry %d came %v after a 429 with Retry-After: 1, want at least 1s", i, gap)
		}
	}
	if got := outcomes(s.jobsOf(short.SID)); !slices.Equal(got, []string{"closed"}) {
		t.Errorf("short channel's jobs %v, want [closed] (retried within the delivery)", got)
	}
	jobs := s.jobsOf(long.SID)
	if got := outcomes(jobs); !slices.Equal(got, []string{"failed_transient", "closed"}) {
		t.Fatalf("long channel's jobs %v, want [failed_transient closed]", got)
	}
	if jobs[0].Attempts > 2 || jobs[0].RetryInS != 1 {
		t.Errorf("the delivery facing Retry-After 60 made %d attempts and retries in %gs; want it to give up at once (GET tasks, one POST) and retry after WORKER_RETRY_BASE", jobs[0].Attempts, jobs[0].RetryInS)
	}
	report("faults: 429 Retry-After 1s ×2: retried within the delivery after %v and %v, closed once; 429 Retry-After 60s: delivery failed at once, redelivered after 1s, closed once\n",
		posts[1].Time.Sub(posts[0].Time).Round(10*time.Millisecond), posts[2].Time.Sub(posts[1].Time).Round(10*time.Millisecond))
}

// Bursts of 5xx — Twilio's 503 and 500 error JSON, a load balancer's 502
// HTML page — across several jobs: retried with backoff, within the
// delivery or on the next one; every channel ends closed once and nothing
// reaches the dead-letter queue.
func TestTwilio5xxBursts(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	s.twilio.Inject(flextest.Unavailable(3))
	s.twilio.Inject(flextest.BadGateway(2))
	s.twilio.Inject(flextest.Fault{Status: 500, Times: 2})
	s.twilio.Inject(flextest.Unavailable(4))
	var chans []flextest.Channel
	for range 4 {
		ch, task := s.channel(flextest.TaskCompleted)
		chans = append(chans, ch)
		s.queue(task)
	}
	stop := s.runWorker()
	s.eventually(60*time.Second, "every channel closed", func() bool {
		for _, ch := range chans {
			if s.status(ch) != flextest.ChannelClosed {
				return false
			}
		}
		return s.queueEmpty()
	})
	stop()
	faulted := 0
	for _, r := range s.twilio.Requests() {
		if r.Fault {
			faulted++
		}
	}
	if faulted != 11 {
		t.Errorf("%d requests answered by a fault, want all 11 injected", faulted)
	}
	retried := 0
	for _, ch := range chans {
		s.closedOnce(ch)
		for _, j := range s.jobsOf(ch.SID) {
			if j.Outcome == "failed_transient" {
				retried++
			}
		}
	}
	if n := s.count(s.sqs.DLQURL()); n != 0 {
		t.Errorf("%d jobs in the dead-letter queue, want none", n)
	}
	report("faults: 5xx bursts: 11 Twilio answers 503/502 HTML/500 across 4 jobs; %d deliveries failed and were redelivered; 4/4 channels closed once, dead-letter queue empty\n", retried)
}

// A Twilio 500 that does not go away: the job is delivered maxReceiveCount
// times, then waits in the dead-letter queue with the channel open and no
// outcome recorded; once Twilio is fixed, redrive moves it back and the
// worker closes the channel.
func TestPersistent500UntilDLQ(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{MaxReceiveCount: 3, Visibility: time.Second, WorkerTimeout: 3 * time.Second})
	ch, task := s.channel(flextest.TaskCompleted)
	s.twilio.Inject(flextest.Fault{Method: http.MethodPost, Path: channelPath(ch), Status: 500})
	s.queue(task)
	stop := s.runWorker()
	s.eventually(60*time.Second, "the job in the dead-letter queue", func() bool { return s.count(s.sqs.DLQURL()) == 1 && s.queueEmpty() })
	stop()
	// One failed delivery per receive; a delivery that ran out of time
	// (a slow machine) fails the invocation without a job line, and counts
	// as a receive all the same.
	got := outcomes(s.jobsOf(ch.SID))
	if len(got) == 0 || len(got) > 3 || slices.ContainsFunc(got, func(o string) bool { return o != "failed_transient" }) {
		t.Errorf("jobs %v, want up to three failed_transient (maxReceiveCount 3)", got)
	}
	if got := s.status(ch); got != flextest.ChannelActive {
		t.Errorf("channel %s, want active", got)
	}
	key := closejob.TaskRouterKey("task.completed", task.SID)
	// No outcome is recorded: each failed delivery released its claim — or,
	// when a delivery ran out of time, left it in progress until its lock
	// expired, for the next delivery to take over.
	if rec, err := s.store.Get(context.Background(), key); !errors.Is(err, idempotency.ErrNotFound) && (err != nil || rec.Status != idempotency.StatusInProgress) {
		t.Errorf("table record of the dead-lettered job: %+v, %v; want none, or an abandoned claim", rec, err)
	}

	s.twilio.ClearFaults()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := redrive.New(s.q, s.sqs.DLQURL(), s.sqs.QueueURL(), redrive.Options{Wait: time.Second}).Move(ctx, redrive.Filter{SID: ch.SID})
	if err != nil || rep.Moved != 1 || rep.Entries[0].Key != key {
		t.Fatalf("redrive = %+v, %v; want the job moved", rep, err)
	}
	stop = s.runWorker()
	s.eventually(30*time.Second, "the redriven job done", func() bool { return s.status(ch) == flextest.ChannelClosed && s.queueEmpty() })
	stop()
	s.closedOnce(ch)
	if rec, err := s.store.Get(ctx, key); err != nil || rec.Outcome != "closed" {
		t.Errorf("table record after the redrive: %+v, %v; want closed", rec, err)
	}
	report("faults: persistent 500: 3 failed deliveries, then the dead-letter queue (channel open, no outcome recorded); after the fix redrive moved it back and the worker closed the channel once\n")
}

// A worker killed in the middle of a batch (while its close request hangs
// in Twilio) loses nothing: the whole batch comes back; jobs it had
// finished replay their recorded outcome without a second close, and the
// interrupted one is retried (in_progress while the dead claim's lock
// lasts), then closes once.
func TestWorkerKilledMidBatch(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{MaxReceiveCount: 10, Visibility: 2 * time.Second, WorkerTimeout: 4 * time.Second})
	var chans []flextest.Channel
	for range 4 {
		ch, task := s.channel(flextest.TaskCompleted)
		chans = append(chans, ch)
		s.queue(task)
	}
	hung := chans[2]
	s.twilio.Inject(flextest.Fault{Method: http.MethodPost, Path: channelPath(hung), Delay: time.Minute, Times: 1})
	m := s.mapping()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		st, err := m.Poll(ctx)
		if err == nil && st.FunctionErrors == 0 {
			err = errors.New("the killed invocation did not fail")
		}
		done <- err
	}()
	for uo := ""; uo != hung.SID; {
		select {
		case uo = <-s.posts:
		case <-time.After(30 * time.Second):
			t.Fatalf("the hung close never reached Twilio\n%s", tail(s.workerLogs.String(), 20))
		}
	}
	var before []string // channels closed before the kill
	for _, ch := range chans {
		if s.status(ch) == flextest.ChannelClosed {
			before = append(before, ch.SID)
		}
	}
	s.restartWorker() // kills the running worker: its invocation fails
	if err := <-done; err != nil {
		t.Fatalf("poll during the kill: %v", err)
	}
	if got := s.status(hung); got != flextest.ChannelActive {
		t.Fatalf("hung channel %s after the kill, want active", got)
	}
	stop := s.runWorker()
	s.eventually(60*time.Second, "every job done after the restart", func() bool {
		for _, ch := range chans {
			if s.status(ch) != flextest.ChannelClosed {
				return false
			}
		}
		return s.queueEmpty()
	})
	stop()
	for _, ch := range chans {
		s.closedOnce(ch)
		jobs := s.jobsOf(ch.SID)
		if slices.Contains(before, ch.SID) && !slices.Contains(outcomes(jobs), "closed (replayed)") {
			t.Errorf("channel %s, closed before the kill: jobs %v, want its redelivery replayed", ch.SID, outcomes(jobs))
		}
	}
	for _, o := range outcomes(s.jobsOf(hung.SID)) {
		if o != "in_progress" && o != "closed" {
			t.Errorf("hung channel's jobs %v, want in_progress until the dead claim expires, then closed", outcomes(s.jobsOf(hung.SID)))
			break
		}
	}
	if n := s.count(s.sqs.DLQURL()); n != 0 {
		t.Errorf("%d jobs in the dead-letter queue, want none", n)
	}
	report("faults: worker killed mid-batch: %d of 4 jobs had closed before the kill and replayed on redelivery; the interrupted one went %v; 4/4 channels closed once\n",
		len(before), outcomes(s.jobsOf(hung.SID)))
}

// SQS delivers at least once: the same message twice in the queue, and
// once more after it was processed, make one close; the copies replay the
// recorded outcome without calling Twilio.
func TestSQSDuplicateDelivery(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	ch, task := s.channel(flextest.TaskCompleted)
	job := channelclose.Job{Source: "taskrouter", EventType: "task.completed", WorkspaceSID: ws, TaskSID: task.SID,
		InteractionSID: ch.InteractionSID, ChannelSID: ch.SID, Status: "closed", Routing: true, Guard: true}
	body, err := closejob.NewMessage(closejob.TaskRouterKey("task.completed", task.SID), job, time.Now()).Encode()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, id := range []string{"first", "redelivery"} {
		if _, err := s.q.Send(ctx, s.sqs.QueueURL(), queue.Outgoing{Body: body, GroupID: ch.SID, DedupID: id}); err != nil {
			t.Fatal(err)
		}
	}
	stop := s.runWorker()
	s.eventually(30*time.Second, "both copies consumed", func() bool { return len(s.jobsOf(ch.SID)) == 2 && s.queueEmpty() })
	if _, err := s.q.Send(ctx, s.sqs.QueueURL(), queue.Outgoing{Body: body, GroupID: ch.SID, DedupID: "late"}); err != nil {
		t.Fatal(err)
	}
	s.eventually(30*time.Second, "the late copy consumed", func() bool { return len(s.jobsOf(ch.SID)) == 3 && s.queueEmpty() })
	stop()
	s.closedOnce(ch)
	if got := outcomes(s.jobsOf(ch.SID)); !slices.Equal(got, []string{"closed", "closed (replayed)", "closed (replayed)"}) {
		t.Errorf("jobs %v, want closed, then two replays", got)
	}
	if n := len(s.closeRequests(ch)); n != 1 {
		t.Errorf("%d close requests reached Twilio, want 1", n)
	}
	report("faults: SQS duplicate delivery: 3 copies of one message → 1 close request, 1 close effect, 2 replays\n")
}

// The same webhook event three times — Twilio retrying a delivery with the
// same I-Twilio-Idempotency-Token — makes one queued job (SQS FIFO drops
// the copies by deduplication id) and one close; once the job is done, a
// fourth copy is answered from the idempotency table and queues nothing.
// The same holds for a CRM callback sent three times with one webhook-id.
func TestWebhookDuplicates(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	ch, task := s.channel(flextest.TaskCompleted)
	crmCh, _ := s.channel(flextest.TaskCompleted)
	ev := s.taskEvent("task.completed", task, time.Now(), "twilio-retry-token")
	crmEv := s.crmEvent(crmCh, "msg_dup3x", time.Now())
	for i := range 3 {
		if r := s.send(ev); r.Status != http.StatusNoContent {
			t.Fatalf("TaskRouter delivery %d answered %d %s, want 204", i+1, r.Status, r.Body)
		}
		if r := s.send(crmEv); r.Status != http.StatusAccepted {
			t.Fatalf("CRM delivery %d answered %d %s, want 202", i+1, r.Status, r.Body)
		}
	}
	if n := s.count(s.sqs.QueueURL()); n != 2 {
		t.Fatalf("close queue holds %d messages after 3+3 deliveries, want 2 (one per event)", n)
	}
	stop := s.runWorker()
	s.eventually(30*time.Second, "both jobs done", func() bool { return s.queueEmpty() && len(s.jobsOf(ch.SID)) == 1 && len(s.jobsOf(crmCh.SID)) == 1 })
	stop()
	s.closedOnce(ch)
	s.closedOnce(crmCh)

	if r := s.send(ev); r.Status != http.StatusNoContent {
		t.Errorf("a late copy answered %d, want 204", r.Status)
	}
	if r := s.send(crmEv); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"outcome":"closed"`) {
		t.Errorf("a late CRM copy answered %d %s, want 200 with the recorded outcome", r.Status, r.Body)
	}
	sums := lines(s.webhookLogs, "request")
	var got []string
	for _, l := range sums {
		if l.ChannelSID == ch.SID {
			got = append(got, outcomes([]logLine{l})[0])
		}
	}
	if !slices.Equal(got, []string{"queued", "queued", "queued", "closed (replayed)"}) {
		t.Errorf("webhook outcomes for the TaskRouter event %v, want queued ×3 then the replayed outcome", got)
	}
	if n := s.count(s.sqs.QueueURL()); n != 0 {
		t.Errorf("the late copies queued %d jobs, want none", n)
	}
	report("faults: webhook duplicates: the same TaskRouter event and CRM callback 3× each → 2 queued jobs, 2 close effects; late copies answered from the table (204, 200 closed)\n")
}

// Secrets Manager down when the functions start cold: the cold start does
// not crash; the webhook answers 503 with Retry-After (no event is accepted
// that cannot be authenticated) and the worker retries its job; once
// Secrets Manager is back, the event is accepted and both jobs close their
// channels.
func TestSecretsManagerOutageAtColdStart(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{MaxReceiveCount: 10})
	s.secrets.Inject(secretstest.Fault{Type: secretstest.CodeInternal, Operation: secretstest.OpGetSecretValue})
	ch, task := s.channel(flextest.TaskCompleted)
	ev := s.taskEvent("task.completed", task, time.Now(), "")
	r := s.send(ev)
	if r.Status != http.StatusServiceUnavailable || r.Header["Retry-After"] == "" {
		t.Fatalf("webhook during the outage answered %d %v %s, want 503 with Retry-After", r.Status, r.Header, r.Body)
	}
	queued, queuedTask := s.channel(flextest.TaskCompleted)
	job := channelclose.Job{Source: "taskrouter", EventType: "task.completed", WorkspaceSID: ws, TaskSID: queuedTask.SID,
		InteractionSID: queued.InteractionSID, ChannelSID: queued.SID, Status: "closed", Routing: true, Guard: true}
	if err := queue.NewSender(s.sqs.Client(), s.sqs.QueueURL()).Enqueue(context.Background(),
		closejob.NewMessage(closejob.TaskRouterKey("task.completed", queuedTask.SID), job, time.Now())); err != nil {
		t.Fatal(err)
	}
	stop := s.runWorker()
	s.eventually(30*time.Second, "the worker's failed delivery", func() bool { return len(s.jobsOf(queued.SID)) > 0 })
	if got := s.jobsOf(queued.SID)[0]; got.Outcome != "failed_transient" {
		t.Errorf("worker job during the outage: %+v, want failed_transient", got)
	}
	calls := s.secrets.Count(secretstest.OpGetSecretValue)
	s.secrets.ClearFaults()
	if r := s.send(ev); r.Status != http.StatusNoContent {
		t.Fatalf("webhook after the outage answered %d %s, want 204", r.Status, r.Body)
	}
	s.eventually(30*time.Second, "both channels closed", func() bool {
		return s.status(ch) == flextest.ChannelClosed && s.status(queued) == flextest.ChannelClosed && s.queueEmpty()
	})
	stop()
	s.closedOnce(ch)
	s.closedOnce(queued)
	if !strings.Contains(s.webhookLogs.String(), "cold start") && !strings.Contains(s.webhookLogs.String(), "secret") {
		t.Errorf("the webhook logged nothing about the failed warm-up:\n%s", tail(s.webhookLogs.String(), 10))
	}
	report("faults: Secrets Manager outage at cold start: %d failed GetSecretValue calls; webhook 503 + Retry-After, worker job retried; after recovery both channels closed once\n", calls)
}

// DynamoDB throttling: 30 % of the idempotency table's requests answered
// ProvisionedThroughputExceededException or ThrottlingException. The SDK
// retries most away; what remains fails the request (the webhook answers
// 503 and the sender retries; the worker's delivery fails and comes back).
// Every channel closes once, and nothing reaches the dead-letter queue.
//
// The SDK backs off throttling errors by a second or more per retry, so the
// worker runs with its production timeout (30s, template.yaml): with a
// few seconds a batch of throttled records times out as a whole, again and
// again, until its messages reach the dead-letter queue.
func TestDynamoDBThrottling(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{MaxReceiveCount: 10, WorkerTimeout: 30 * time.Second, Visibility: 35 * time.Second})
	// Every request throttled: the SDK's retries run out and the webhook
	// answers 503, accepting nothing; the sender tries again later.
	s.throttle.SetShare(1)
	first, firstTask := s.channel(flextest.TaskCompleted)
	firstEv := s.taskEvent("task.completed", firstTask, time.Now(), "")
	if r := s.send(firstEv); r.Status != http.StatusServiceUnavailable || r.Header["Retry-After"] == "" {
		t.Fatalf("webhook with every table request throttled answered %d %s, want 503 with Retry-After", r.Status, r.Body)
	}
	exhausted := s.throttle.Stats().Total()
	if n := s.count(s.sqs.QueueURL()); n != 0 {
		t.Fatalf("the refused event queued %d jobs", n)
	}

	s.throttle.SetShare(0.3)
	const n = 15
	chans := []flextest.Channel{first}
	unavailable := 0
	if r := s.send(firstEv); r.Status != http.StatusNoContent {
		for attempt := 2; r.Status == http.StatusServiceUnavailable && attempt <= 10; attempt++ {
			unavailable++
			r = s.send(firstEv)
		}
		if r.Status != http.StatusNoContent {
			t.Fatalf("the first event, sent again, answered %d %s", r.Status, r.Body)
		}
	}
	stop := s.runWorker()
	for range n {
		ch, task := s.channel(flextest.TaskCompleted)
		chans = append(chans, ch)
		ev := s.taskEvent("task.completed", task, time.Now(), "")
		for attempt := 1; ; attempt++ {
			r := s.send(ev)
			if r.Status == http.StatusNoContent {
				break
			}
			if r.Status != http.StatusServiceUnavailable || attempt == 10 {
				t.Fatalf("webhook answered %d %s (attempt %d), want 204, or 503 while throttled", r.Status, r.Body, attempt)
			}
			unavailable++
		}
	}
	s.eventually(90*time.Second, "every channel closed", func() bool {
		for _, ch := range chans {
			if s.status(ch) != flextest.ChannelClosed {
				return false
			}
		}
		return s.queueEmpty()
	})
	stop()
	s.throttle.SetShare(0)
	failed := 0
	for _, ch := range chans {
		s.closedOnce(ch)
		for _, j := range s.jobsOf(ch.SID) {
			if j.Outcome == "failed_transient" || j.Outcome == "in_progress" {
				failed++
			}
		}
	}
	st := s.throttle.Stats()
	if st.Total() == 0 {
		t.Fatalf("nothing was throttled: %+v", st)
	}
	if n := s.count(s.sqs.DLQURL()); n != 0 {
		t.Errorf("%d jobs in the dead-letter queue, want none", n)
	}
	report("faults: DynamoDB throttling: all requests throttled → the SDK gave up after %d attempts, webhook 503 + Retry-After, nothing queued; "+
		"then 30%%: %d of %d table requests throttled (all: %s), webhook 503s resent %d, worker deliveries retried %d; %d/%d channels closed once, dead-letter queue empty\n",
		exhausted, st.Total()-exhausted, st.Requests-exhausted, countsByName(st.Throttled), unavailable, failed, len(chans), len(chans))
}

// Clock skew: a TaskRouter event's TimestampMs may be up to
// TASKROUTER_MAX_EVENT_AGE (15m) old and 5m ahead of the function's clock;
// further either way it is refused (403) and nothing is queued. A CRM
// callback's webhook-timestamp may be 5m off either way, else 401.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{})
	now := time.Now()
	tests := []struct {
		name string
		crm  bool
		skew time.Duration
		want int
	}{
		{"TaskRouter event 14m old", false, -14 * time.Minute, http.StatusNoContent},
		{"TaskRouter event 16m old", false, -16 * time.Minute, http.StatusForbidden},
		{"TaskRouter event 4m ahead", false, 4 * time.Minute, http.StatusNoContent},
		{"TaskRouter event 6m ahead", false, 6 * time.Minute, http.StatusForbidden},
		{"CRM callback 4m old", true, -4 * time.Minute, http.StatusAccepted},
		{"CRM callback 6m old", true, -6 * time.Minute, http.StatusUnauthorized},
		{"CRM callback 4m ahead", true, 4 * time.Minute, http.StatusAccepted},
		{"CRM callback 6m ahead", true, 6 * time.Minute, http.StatusUnauthorized},
	}
	chans := make([]flextest.Channel, len(tests))
	for i, tt := range tests {
		ch, task := s.channel(flextest.TaskCompleted)
		chans[i] = ch
		ev := s.taskEvent("task.completed", task, now.Add(tt.skew), "")
		if tt.crm {
			ev = s.crmEvent(ch, "msg_skew"+task.SID[2:10], now.Add(tt.skew))
		}
		if r := s.send(ev); r.Status != tt.want {
			t.Errorf("%s: answered %d %s, want %d", tt.name, r.Status, r.Body, tt.want)
		}
	}
	stop := s.runWorker()
	s.eventually(30*time.Second, "the accepted events' channels closed", func() bool {
		for i, tt := range tests {
			if tt.want/100 == 2 && s.status(chans[i]) != flextest.ChannelClosed {
				return false
			}
		}
		return s.queueEmpty()
	})
	stop()
	for i, tt := range tests {
		if tt.want/100 == 2 {
			s.closedOnce(chans[i])
			continue
		}
		if got, jobs := s.status(chans[i]), s.jobsOf(chans[i].SID); got != flextest.ChannelActive || len(jobs) != 0 {
			t.Errorf("%s: channel %s with jobs %v, want active and nothing queued", tt.name, got, outcomes(jobs))
		}
	}
	report("faults: clock skew: TaskRouter events 14m old / 4m ahead accepted, 16m old / 6m ahead refused 403; CRM callbacks ±4m accepted, ±6m refused 401; nothing queued for the refused\n")
}
