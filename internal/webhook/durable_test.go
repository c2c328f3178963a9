package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// withOptions rebuilds the fixture's handler with a queue and/or a store
// (nil: none).
func (f *fixture) withOptions(o Options, store *idempotencytest.Memory) {
	o.Now = f.clock.Now
	f.handler = newHandler(f.cfg, f.secrets, f.handler.twilio, logging.New(f.logs, f.cfg.LogLevel), o, store)
}

func TestDuplicatesCloseOnce(t *testing.T) {
	f := newFixture(t, nil)
	store := idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now})
	f.withOptions(Options{}, store)
	ch, task := f.channel("canceled")
	ev := f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)
	for i := 0; i < 3; i++ {
		if r := f.invoke(ev); r.Status != 204 {
			t.Fatalf("delivery %d: %d %s", i, r.Status, r.Body)
		}
	}
	if n := f.flexPosts(); n != 1 || f.status(ch) != "closed" {
		t.Errorf("3 deliveries made %d close calls, want 1", n)
	}
	if log := f.lastLog(); log["replayed"] != true || log["outcome"] != "closed" {
		t.Errorf("duplicate summary = %v, want the replayed outcome", log)
	}
}

// The hazard the store prevents: a channel set inactive comes back when the
// customer writes again; a late copy of the old close event must not close
// the new conversation.
func TestLateReplayDoesNotCloseReactivatedChannel(t *testing.T) {
	for _, withStore := range []bool{true, false} {
		name := map[bool]string{true: "with store", false: "guard only"}[withStore]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, map[string]string{"CLOSE_STATUS": "inactive"})
			if withStore {
				f.withOptions(Options{}, idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now}))
			}
			ch, task := f.channel("canceled")
			old := f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)
			if r := f.invoke(old); r.Status != 204 || f.status(ch) != "inactive" {
				t.Fatalf("first close: %d, channel %s", r.Status, f.status(ch))
			}
			// The customer writes again: the channel is active, a new task routed.
			if err := f.fake.ReactivateChannel(ch.InteractionSID, ch.SID); err != nil {
				t.Fatal(err)
			}
			f.fake.AddChannelTask(ws, ch, "assigned")
			f.fake.Reset()
			f.clock.t = f.clock.t.Add(2 * time.Minute)
			if r := f.invoke(old); r.Status != 204 {
				t.Fatalf("replay: %d %s", r.Status, r.Body)
			}
			if f.status(ch) != "active" || f.flexPosts() != 0 {
				t.Errorf("the replayed old event reached the new conversation: channel %s, %d closes", f.status(ch), f.flexPosts())
			}
		})
	}
}

func TestCRMIdempotency(t *testing.T) {
	f := newFixture(t, nil)
	f.withOptions(Options{}, idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now}))
	ch, _ := f.channel("assigned")
	body := closeBody(ch, "closed")
	first := f.invoke(f.signedCRM(body))
	again := f.invoke(f.signedCRM(body))
	if first.Status != 200 || again.Status != 200 || decodeCRM(t, again.Body).Outcome != "closed" || f.flexPosts() != 1 {
		t.Errorf("same webhook-id twice: %d %s / %d %s, %d closes", first.Status, first.Body, again.Status, again.Body, f.flexPosts())
	}
	other, _ := f.channel("assigned")
	if r := f.invoke(f.signedCRM(closeBody(other, "closed"))); r.Status != 422 {
		t.Errorf("same webhook-id for another channel: %d %s, want 422", r.Status, r.Body)
	}
	// A different Idempotency-Key is a different request.
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + crmToken}, "Idempotency-Key": {"k-1"}}
	if r := f.invoke(f.event("POST", "https://"+publicHost+"/crm", h, []byte(closeBody(other, "closed")))); r.Status != 200 {
		t.Errorf("new Idempotency-Key: %d %s", r.Status, r.Body)
	}
}

func TestInProgressDuplicate(t *testing.T) {
	f := newFixture(t, nil)
	store := idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now})
	f.withOptions(Options{}, store)
	_, task := f.channel("canceled")
	form := f.taskEvent("task.canceled", task)
	// Another container holds the claim for this event right now.
	ev, err := taskrouter.Parse(form)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := f.handler.rules.Decide(ev)
	job := taskRouterJob(f.cfg, ev, d)
	m := closejob.NewMessage(closejob.TaskRouterKey(form.Get("EventType"), form.Get("TaskSid")), job, f.clock.Now())
	if _, err := store.Begin(context.Background(), m.Key, m.PayloadHash, f.clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	r := f.invoke(f.signedTaskRouter(form, authToken))
	// TaskRouter does not retry a 4xx: a duplicate of an event whose first
	// copy may still fail is answered 503, which a #rp=5xx URL retries.
	if r.Status != http.StatusServiceUnavailable || r.Header["Retry-After"] == "" || f.flexPosts() != 0 {
		t.Errorf("duplicate in progress: %d %v, %d closes; want 503 with Retry-After and none", r.Status, r.Header, f.flexPosts())
	}
	if log := f.lastLog(); log["outcome"] != "duplicate" {
		t.Errorf("duplicate in progress logged outcome %v, want duplicate", log["outcome"])
	}
}

// TestCRMInProgressDuplicate: the CRM route keeps 409 for a duplicate in
// progress; a CRM retries 4xx on its own terms.
func TestCRMInProgressDuplicate(t *testing.T) {
	f := newFixture(t, nil)
	store := idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now})
	f.withOptions(Options{}, store)
	ch, _ := f.channel("assigned")
	if _, err := store.Begin(context.Background(), closejob.CRMKey("msg_test", ""), "another-hash-is-not-checked-first", f.clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	r := f.invoke(f.signedCRM(closeBody(ch, "closed")))
	// The claim's payload differs, which the store reports first: 422.
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("CRM with a key claimed for another payload: %d %s, want 422", r.Status, r.Body)
	}
	ch2, _ := f.channel("assigned")
	body := closeBody(ch2, "closed")
	job := closerJobForCRM(f, ch2)
	h, err := crm.Sign(crmSecret, "msg_other", f.clock.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	h.Set("Content-Type", "application/json")
	m := closejob.NewMessage(closejob.CRMKey("msg_other", ""), job, f.clock.Now())
	if _, err := store.Begin(context.Background(), m.Key, m.PayloadHash, f.clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	r = f.invoke(f.event("POST", "https://"+publicHost+"/crm", h, []byte(body)))
	if r.Status != http.StatusConflict || r.Header["Retry-After"] == "" || f.flexPosts() != 0 {
		t.Errorf("CRM duplicate in progress: %d %v %s; want 409 with Retry-After and no close", r.Status, r.Header, r.Body)
	}
}

// closerJobForCRM is the job the CRM route makes for a close of ch by
// channel SID with the fixture's defaults.
func closerJobForCRM(f *fixture, ch flextest.Channel) channelclose.Job {
	return channelclose.Job{Source: channelclose.SourceCRM, InteractionSID: ch.InteractionSID, ChannelSID: ch.SID,
		Status: f.cfg.CloseStatus, Routing: f.cfg.Routing(f.cfg.CloseStatus)}
}

func TestPermanentFailureIsNotRetriedByDuplicates(t *testing.T) {
	f := newFixture(t, nil)
	f.withOptions(Options{}, idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now}))
	_, task := f.channel("canceled")
	f.fake.Inject(flextest.Fault{Method: "POST", Status: 400, Code: 45359})
	ev := f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)
	if r := f.invoke(ev); r.Status != 502 {
		t.Fatalf("first: %d", r.Status)
	}
	f.fake.ClearFaults()
	before := f.flexPosts()
	if r := f.invoke(ev); r.Status != 502 || f.flexPosts() != before {
		t.Errorf("duplicate of a permanent failure: %d, %d new closes; want the recorded 502 and none", r.Status, f.flexPosts()-before)
	}
}

func TestDryRun(t *testing.T) {
	f := newFixture(t, map[string]string{"DRY_RUN": "true"})
	ch, task := f.channel("canceled")
	if r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)); r.Status != 204 {
		t.Fatalf("dry run: %d", r.Status)
	}
	log := f.lastLog()
	want := "UpdateInteractionChannel " + ch.InteractionSID + "/" + ch.SID + ` Status=closed Routing={"status":"closed"}`
	if log["outcome"] != "dry_run" || log["dry_run_request"] != want || f.flexPosts() != 0 || f.status(ch) != "active" {
		t.Errorf("dry run summary = %v, %d closes; want dry_run describing %s", log, f.flexPosts(), want)
	}
}

// recordingQueue is the SQS sender, in memory.
type recordingQueue struct {
	mu   sync.Mutex
	msgs []closejob.Message
	err  error
}

func (q *recordingQueue) Enqueue(_ context.Context, m closejob.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		return q.err
	}
	q.msgs = append(q.msgs, m)
	return nil
}

func TestDurableModeEnqueues(t *testing.T) {
	f := newFixture(t, map[string]string{"TASKROUTER_WORKSPACE_SID": ws})
	q := &recordingQueue{}
	store := idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now})
	f.withOptions(Options{Queue: q}, store)
	ch, task := f.channel("canceled")
	form := f.taskEvent("task.canceled", task)
	h := f.signedTaskRouter(form, authToken)
	if r := f.invoke(h); r.Status != 204 {
		t.Fatalf("TaskRouter in durable mode: %d %s", r.Status, r.Body)
	}
	if len(q.msgs) != 1 || f.flexPosts() != 0 || len(f.fake.Requests()) != 0 {
		t.Fatalf("durable mode: %d messages, %d Twilio calls; want 1 message and no call", len(q.msgs), len(f.fake.Requests()))
	}
	m := q.msgs[0]
	if m.Job.ChannelSID != ch.SID || m.Job.TaskSID != task.SID || !m.Job.Guard || m.Key != closejob.TaskRouterKey(form.Get("EventType"), form.Get("TaskSid")) {
		t.Errorf("enqueued %+v", m)
	}
	if f.lastLog()["outcome"] != "queued" {
		t.Errorf("outcome = %v, want queued", f.lastLog()["outcome"])
	}
	// CRM answers 202.
	r := f.invoke(f.signedCRM(closeBody(ch, "")))
	if got := decodeCRM(t, r.Body); r.Status != 202 || got.Outcome != "queued" || got.ChannelSID != ch.SID {
		t.Errorf("CRM in durable mode: %d %s, want 202 queued", r.Status, r.Body)
	}
	// The worker finished the TaskRouter job: a duplicate is answered
	// from the store, not enqueued again.
	claim, _ := store.Begin(context.Background(), m.Key, m.PayloadHash, f.clock.Now().Add(time.Minute))
	if err := store.Complete(context.Background(), m.Key, claim.Owner, "closed", `{"channel_status":"closed"}`, f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := f.invoke(h); r.Status != 204 || len(q.msgs) != 2 {
		t.Errorf("duplicate after the worker finished: %d, %d messages; want 204 and no new message", r.Status, len(q.msgs))
	}
	// A failure to enqueue is a 503, never a silent drop.
	q.err = errors.New("sqs: throttled")
	_, task2 := f.channel("canceled")
	r = f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task2), authToken))
	if r.Status != 503 || r.Header["Retry-After"] == "" || !strings.Contains(f.lastLog()["error"].(string), "enqueue") {
		t.Errorf("enqueue failure: %d %v, want 503 with Retry-After", r.Status, r.Header)
	}
}

// In durable mode too, a duplicate of a job the worker failed for good is
// answered as the failure it was, not as a success.
func TestDurableDuplicateOfPermanentFailure(t *testing.T) {
	f := newFixture(t, nil)
	q := &recordingQueue{}
	store := idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now})
	f.withOptions(Options{Queue: q}, store)
	_, task := f.channel("canceled")
	ev := f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)
	if r := f.invoke(ev); r.Status != 204 || len(q.msgs) != 1 {
		t.Fatalf("first delivery: %d, %d messages", r.Status, len(q.msgs))
	}
	m := q.msgs[0]
	claim, _ := store.Begin(context.Background(), m.Key, m.PayloadHash, f.clock.Now().Add(time.Minute))
	if err := store.Complete(context.Background(), m.Key, claim.Owner, closejob.OutcomeFailedPermanent, `{"failure":"twilio 400 (code 45359)"}`, f.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if r := f.invoke(ev); r.Status != 502 || len(q.msgs) != 1 {
		t.Errorf("duplicate of a failed job: %d, %d messages; want 502 and no new message", r.Status, len(q.msgs))
	}
	if log := f.lastLog(); log["outcome"] != "failed_permanent" || log["replayed"] != true {
		t.Errorf("summary = %v", log)
	}
}
