package sweeper

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/secrets"
)

const (
	acct  = "AC0123456789abcdef0123456789abcdef"
	token = "tok1"
	ws    = "WS0123456789abcdef0123456789abcdef"
)

// orphanEvents are the close events whose decision does not depend on the
// task status rule (every such event in these tests carries a status that
// agrees with it).
var orphanEvents = []string{"task.canceled", "workflow.timeout", "task.deleted"}

type creds struct{}

func (creds) Credentials(context.Context) (flex.Credentials, error) {
	return flex.Credentials{AccountSID: acct, Username: acct, Password: secrets.NewValue(token)}, nil
}
func (creds) Refresh(context.Context) (bool, error) { return false, nil }

// world is a simulated Flex account whose clock the test moves.
type world struct {
	fake  *flextest.Server
	flows flextest.Flows
	api   *flex.Client
	store *idempotencytest.Memory
}

func newWorld(t *testing.T) *world {
	w := &world{}
	w.fake = flextest.New(flextest.Options{AccountSID: acct, Credentials: map[string]string{acct: token}})
	w.fake.SetNow(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	w.flows = w.fake.Flows(ws)
	srv := httptest.NewServer(w.fake)
	t.Cleanup(srv.Close)
	api, err := flex.New(creds{}, flex.Options{BaseURL: srv.URL, MaxAttempts: 2, BaseDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.api = api
	w.store = idempotencytest.NewMemory(idempotency.Options{})
	return w
}

func (w *world) sweeper(dryRun bool, o Options) *Sweeper {
	p := closejob.NewProcessor(channelclose.New(w.api, channelclose.Options{DryRun: dryRun}), w.store, nil)
	o.Now = w.fake.Now
	o.Sleep = func(context.Context, time.Duration) error { return nil }
	if o.CloseEvents == nil {
		o.CloseEvents = orphanEvents
	}
	return New(w.api, p, ws, o)
}

func (w *world) status(ch flextest.Channel) string {
	c, _ := w.fake.Channel(ch.InteractionSID, ch.SID)
	return c.Status
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Conversation endings of the simulated day.
const (
	endChat          = iota // the agent ends the chat: Flex closes the channel
	leave                   // Leave after an earlier declined invite: inactive, must stay so
	park                    // parked: active with no task, must stay so
	declined                // unpark invite declined: orphan
	timedOut                // customer wrote to a parked channel, workflow timed out: orphan
	deleted                 // live task deleted through the API: orphan
	failed                  // interaction creation failed
	declinedLive            // an extra invite declined while the agent still works the task
	declinedThenPark        // an invite declined while the agent works, then Park: must stay active
	kinds
)

// conversation plays one conversation ending in kind.
func (w *world) conversation(t *testing.T, kind int) flextest.Channel {
	t.Helper()
	fl := w.flows
	ch, task := fl.Start(flextest.Channel{})
	switch kind {
	case endChat:
		must(t, fl.AgentEndsChat(task.SID))
	case leave:
		must(t, fl.Park(task.SID))
		invite, err := fl.Unpark(ch.InteractionSID, ch.SID)
		must(t, err)
		must(t, fl.DeclineInvite(invite.SID))
		next, err := fl.CustomerMessage(ch.InteractionSID, ch.SID)
		must(t, err)
		must(t, w.fake.SetTaskStatus(ws, next.SID, flextest.TaskAssigned))
		must(t, fl.Leave(next.SID))
	case park:
		must(t, fl.Park(task.SID))
	case declined:
		must(t, fl.Park(task.SID))
		invite, err := fl.Unpark(ch.InteractionSID, ch.SID)
		must(t, err)
		must(t, fl.DeclineInvite(invite.SID))
	case timedOut:
		must(t, fl.Park(task.SID))
		next, err := fl.CustomerMessage(ch.InteractionSID, ch.SID)
		must(t, err)
		must(t, fl.WorkflowTimeout(next.SID))
	case deleted:
		must(t, fl.DeleteTask(task.SID))
	case failed:
		must(t, fl.FailChannel(ch.InteractionSID, ch.SID))
	case declinedLive:
		extra := w.fake.AddChannelTask(ws, ch, flextest.TaskReserved)
		must(t, fl.DeclineInvite(extra.SID))
	case declinedThenPark:
		extra := w.fake.AddChannelTask(ws, ch, flextest.TaskReserved)
		must(t, fl.DeclineInvite(extra.SID))
		w.fake.Advance(time.Minute)
		must(t, fl.Park(task.SID))
	}
	return ch
}

// day plays n conversations spread over 24 hours, cycling through the
// endings, and moves the clock 10 minutes past the last one.
func (w *world) day(t *testing.T, n int) [kinds][]flextest.Channel {
	var out [kinds][]flextest.Channel
	step := 24 * time.Hour / time.Duration(n)
	start := w.fake.Now()
	for i := 0; i < n; i++ {
		// Conversations start step apart, whatever time each one takes.
		w.fake.SetNow(start.Add(time.Duration(i+1) * step))
		k := i % kinds
		out[k] = append(out[k], w.conversation(t, k))
	}
	w.fake.Advance(10 * time.Minute)
	return out
}

// Over a simulated day with more than one page of events, and every ended
// task already deleted by TaskRouter, the sweeper closes exactly the
// orphans and leaves Leave, Park, live and failed conversations alone.
func TestSweepDay(t *testing.T) {
	w := newWorld(t)
	chans := w.day(t, 576)
	for _, task := range w.fake.Tasks(ws) {
		if task.AssignmentStatus == flextest.TaskCanceled || task.AssignmentStatus == flextest.TaskCompleted {
			t.Fatalf("ended task %s still listed: a task list could have found it", task.SID)
		}
	}
	w.fake.Reset()
	rep, err := w.sweeper(false, Options{Lookback: 25 * time.Hour}).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	per := len(chans[0]) // 72
	want := map[int]string{endChat: "closed", leave: "inactive", park: "active", declined: "closed", timedOut: "closed",
		deleted: "closed", failed: "failed", declinedLive: "active", declinedThenPark: "active"}
	for kind, status := range want {
		for _, ch := range chans[kind] {
			if got := w.status(ch); got != status {
				t.Fatalf("conversation kind %d: channel %s, want %s", kind, got, status)
			}
		}
	}
	if rep.Outcomes["closed"] != 3*per || rep.Outcomes["skipped_live_task"] != per || len(rep.Outcomes) != 2 ||
		rep.Left["inactive"] != per || rep.Left["failed"] != per || rep.Open != 4*per || rep.Truncated {
		t.Errorf("report: outcomes %v, left %v, open %d, truncated %v", rep.Outcomes, rep.Left, rep.Open, rep.Truncated)
	}
	// Events per conversation: one task.canceled each for leave, declined,
	// failed, declinedLive and declinedThenPark, workflow.timeout and
	// task.canceled for timedOut, task.deleted for deleted. The declined
	// invite of declinedThenPark is superseded by the Park's
	// task.completed.
	if rep.Events != 8*per || rep.Closing != 7*per || rep.Ignored[ReasonSuperseded] != per || len(rep.Ignored) != 1 {
		t.Errorf("report: %d events, %d closing, ignored %v", rep.Events, rep.Closing, rep.Ignored)
	}
	// Each orphan closed once, nothing else updated; every page read.
	if n := w.fake.Count("POST", "/v1/Interactions"); n != 3*per {
		t.Errorf("%d channel updates, want %d", n, 3*per)
	}
	// The close path's look is the only fetch of each channel.
	if n := w.fake.Count("GET", "/v1/Interactions"); n != rep.Channels {
		t.Errorf("%d channel fetches for %d channels, want one each", n, rep.Channels)
	}
	pages := map[string]int{}
	for _, r := range w.fake.Requests() {
		if strings.HasSuffix(r.Path, "/Events") {
			pages[r.Query.Get("EventType")]++
			if r.Query.Has("Page") {
				t.Errorf("Events read with Page: %v", r.Query)
			}
		}
	}
	// Every page of each close event type and of the two task event types
	// (task.created and task.completed, the extra walks) is read, 200
	// events a page.
	kept := map[string]int{}
	for _, e := range w.fake.Events(ws) {
		kept[e.Type]++
	}
	if kept["task.created"] <= 400 || kept["task.completed"] <= 200 {
		t.Fatalf("the day has %v events: want more than two pages of task.created", kept)
	}
	for _, typ := range append([]string{"task.created", "task.completed"}, orphanEvents...) {
		if want := (kept[typ] + 199) / 200; pages[typ] != want {
			t.Errorf("%d Events pages of %s for %d events, want %d", pages[typ], typ, kept[typ], want)
		}
	}
	if len(pages) != len(orphanEvents)+2 {
		t.Errorf("Events pages by type %v", pages)
	}
	if rep.TaskEvents != kept["task.created"]+kept["task.completed"] {
		t.Errorf("report: %d task events, want %d", rep.TaskEvents, kept["task.created"]+kept["task.completed"])
	}
	// A second sweep closes nothing more.
	w.fake.Reset()
	rep, err = w.sweeper(false, Options{Lookback: 25 * time.Hour}).Sweep(context.Background())
	if err != nil || rep.Outcomes["closed"] != 0 || w.fake.Count("POST", "/v1/Interactions") != 0 {
		t.Errorf("second sweep: %+v, %v", rep.Outcomes, err)
	}
}

// With the default close events, task.system-deleted of every ended task is
// in the walk too. Only deletions of still-live tasks may close: the
// deletion of a parked or left conversation's completed task must not.
func TestSweepDefaultEventsSparesParkAndLeave(t *testing.T) {
	w := newWorld(t)
	chans := w.day(t, 96)
	rep, err := w.sweeper(false, Options{Lookback: 25 * time.Hour, CloseEvents: defaultCloseEvents()}).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range chans[park] {
		if w.status(ch) != "active" {
			t.Fatalf("parked channel %s", w.status(ch))
		}
	}
	for _, ch := range chans[leave] {
		if w.status(ch) != "inactive" {
			t.Fatalf("left channel %s", w.status(ch))
		}
	}
	for _, ch := range append(append(chans[declined], chans[timedOut]...), chans[deleted]...) {
		if w.status(ch) != "closed" {
			t.Fatalf("orphan %s, want closed", w.status(ch))
		}
	}
	if rep.Ignored["task_already_ended"] == 0 {
		t.Errorf("no deletion of an ended task ignored: %+v", rep.Ignored)
	}
}

func TestSweepDryRun(t *testing.T) {
	w := newWorld(t)
	orphan := w.conversation(t, declined)
	w.fake.Advance(10 * time.Minute)
	rep, err := w.sweeper(true, Options{}).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w.status(orphan) != "active" || rep.Outcomes["dry_run"] != 1 || rep.Actions[0].Request == "" ||
		w.fake.Count("POST", "/v1/Interactions") != 0 {
		t.Errorf("dry run: channel %s, report %+v", w.status(orphan), rep)
	}
}

// Events older than the look-back window, or younger than MinAge (the
// webhook's), are not swept.
func TestSweepWindow(t *testing.T) {
	w := newWorld(t)
	old := w.conversation(t, declined)
	w.fake.Advance(3 * time.Hour)
	inside := w.conversation(t, timedOut)
	w.fake.Advance(30 * time.Minute)
	fresh := w.conversation(t, deleted)
	w.fake.Advance(time.Minute)
	rep, err := w.sweeper(false, Options{Lookback: 2 * time.Hour}).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w.status(old) != "active" || w.status(inside) != "closed" || w.status(fresh) != "active" || rep.Events != 2 {
		t.Errorf("before the window %s, inside %s, fresh %s (want active, closed, active); %d events",
			w.status(old), w.status(inside), w.status(fresh), rep.Events)
	}
}

func TestSweepBounds(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 5; i++ {
		w.conversation(t, declined)
		w.fake.Advance(time.Minute)
	}
	w.fake.Advance(10 * time.Minute)
	rep, _ := w.sweeper(false, Options{MaxCloses: 2}).Sweep(context.Background())
	if rep.Outcomes["closed"] != 2 || !rep.Truncated {
		t.Errorf("MaxCloses 2: %+v", rep)
	}
	ctx, cancel := context.WithDeadline(context.Background(), w.fake.Now().Add(5*time.Second))
	defer cancel()
	rep, _ = w.sweeper(false, Options{}).Sweep(ctx)
	if rep.Events != 0 || !rep.Truncated {
		t.Errorf("sweep inside the safety margin started work: %+v", rep)
	}
}

// An event whose attributes are malformed, or that names no channel, is
// counted and skipped like the webhook would.
func TestSweepIgnoredEvents(t *testing.T) {
	w := newWorld(t)
	now := w.fake.Now()
	w.fake.AddEvent(flextest.Event{WorkspaceSID: ws, Type: "task.canceled", TaskSID: flextest.NewSID("WT"), Date: now.Add(-time.Hour),
		TaskAssignmentStatus: "canceled", TaskAttributes: `{"call_sid":"CA1"}`})
	w.fake.AddEvent(flextest.Event{WorkspaceSID: ws, Type: "task.canceled", TaskSID: flextest.NewSID("WT"), Date: now.Add(-time.Hour),
		TaskAssignmentStatus: "canceled", TaskAttributes: `{"flexInteractionChannelSid":"UO../x","flexInteractionSid":"KD1"}`})
	rep, err := w.sweeper(false, Options{}).Sweep(context.Background())
	if err != nil || rep.Ignored["not_flex_task"] != 1 || rep.Ignored["invalid_attributes"] != 1 || rep.Channels != 0 {
		t.Errorf("report %+v, %v", rep, err)
	}
}

func TestLambdaLogsAndReports(t *testing.T) {
	w := newWorld(t)
	orphan := w.conversation(t, timedOut)
	w.fake.Advance(10 * time.Minute)
	var logs, emf strings.Builder
	l := NewLambda(w.sweeper(false, Options{}), logging.New(&logs, slog.LevelInfo), metrics.New(&emf, "sweeper", nil))
	rep, err := l.Handle(context.Background(), json.RawMessage(`{"source":"aws.events"}`))
	if err != nil || rep.Outcomes["closed"] != 1 {
		t.Fatalf("Handle = %+v, %v", rep, err)
	}
	if !strings.Contains(logs.String(), `"message":"sweep channel"`) || !strings.Contains(logs.String(), orphan.SID) ||
		!strings.Contains(logs.String(), `"event_type":"task.canceled"`) || !strings.Contains(logs.String(), `"message":"sweep"`) {
		t.Errorf("logs = %s", logs.String())
	}
	if !strings.Contains(emf.String(), `"Route":"sweep","Outcome":"closed"`) {
		t.Errorf("metrics = %s", emf.String())
	}
	w.fake.Inject(flextest.Unavailable(0))
	if _, err := l.Handle(context.Background(), nil); err == nil {
		t.Errorf("Handle with TaskRouter down succeeded")
	}
}

// A channel skipped for a live task is looked at again by the next run,
// and closed once that task has ended too.
func TestSweepRevisitsSkippedChannels(t *testing.T) {
	w := newWorld(t)
	ch, task := w.flows.Start(flextest.Channel{})
	extra := w.fake.AddChannelTask(ws, ch, flextest.TaskReserved)
	must(t, w.flows.DeclineInvite(extra.SID))
	w.fake.Advance(10 * time.Minute)
	if rep, _ := w.sweeper(false, Options{}).Sweep(context.Background()); rep.Outcomes["skipped_live_task"] != 1 {
		t.Fatalf("first sweep: %+v", rep)
	}
	// The live task is deleted through the API: an orphan now.
	must(t, w.flows.DeleteTask(task.SID))
	w.fake.Advance(15 * time.Minute)
	if rep, _ := w.sweeper(false, Options{}).Sweep(context.Background()); rep.Outcomes["closed"] != 1 || w.status(ch) != "closed" {
		t.Errorf("second sweep: %+v, channel %s; want it closed", rep, w.status(ch))
	}
}

// Only the configured close events are walked as close events (besides
// task.created and task.completed, read to find superseded ones).
func TestSweepFollowsCloseEvents(t *testing.T) {
	w := newWorld(t)
	timedOutCh := w.conversation(t, timedOut)
	deletedCh := w.conversation(t, deleted)
	w.fake.Advance(10 * time.Minute)
	rep, _ := w.sweeper(false, Options{CloseEvents: []string{"task.deleted"}}).Sweep(context.Background())
	if w.status(timedOutCh) != "active" || w.status(deletedCh) != "closed" || rep.Events != 1 {
		t.Errorf("timed out %s, deleted %s, report %+v", w.status(timedOutCh), w.status(deletedCh), rep)
	}
	for _, r := range w.fake.Requests() {
		if typ := r.Query.Get("EventType"); strings.HasSuffix(r.Path, "/Events") && typ != "task.deleted" && typ != "task.created" && typ != "task.completed" {
			t.Errorf("walked %s", r.Query.Get("EventType"))
		}
	}
}

// An invite declined while the agent works the task (a declined transfer),
// then the agent parks the conversation: the channel is Park (active, no
// live task, its task completed) and must stay open. The declined invite's
// task.canceled is older than the Park's task.completed: superseded.
func TestSweepLeavesParkAfterDeclinedInvite(t *testing.T) {
	for _, parkAfter := range []time.Duration{time.Minute, 9 * time.Minute} {
		w := newWorld(t)
		ch, task := w.flows.Start(flextest.Channel{})
		extra := w.fake.AddChannelTask(ws, ch, flextest.TaskReserved)
		must(t, w.flows.DeclineInvite(extra.SID))
		w.fake.Advance(parkAfter)
		must(t, w.flows.Park(task.SID))
		// 9 minutes: the Park is younger than MinAge; it supersedes all
		// the same.
		w.fake.Advance(10*time.Minute - parkAfter)
		rep, err := w.sweeper(false, Options{CloseEvents: defaultCloseEvents()}).Sweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := w.status(ch); got != "active" || rep.Ignored[ReasonSuperseded] != 1 || rep.Channels != 0 ||
			w.fake.Count("GET", "/v1/Interactions") != 0 {
			t.Fatalf("Park %v after the decline: channel %s after the sweep (report %+v)", parkAfter, got, rep)
		}
	}
}

// A close event newer than the Park still closes: Park, then the unpark
// invite declined, or the customer's new task timing out in the workflow.
func TestSweepClosesOrphanAfterPark(t *testing.T) {
	w := newWorld(t)
	fl := w.flows
	declinedCh, task := fl.Start(flextest.Channel{})
	must(t, fl.Park(task.SID))
	w.fake.Advance(time.Minute)
	invite, err := fl.Unpark(declinedCh.InteractionSID, declinedCh.SID)
	must(t, err)
	w.fake.Advance(time.Minute)
	must(t, fl.DeclineInvite(invite.SID))

	timedOutCh, task2 := fl.Start(flextest.Channel{})
	must(t, fl.Park(task2.SID))
	w.fake.Advance(time.Minute)
	next, err := fl.CustomerMessage(timedOutCh.InteractionSID, timedOutCh.SID)
	must(t, err)
	w.fake.Advance(time.Minute)
	must(t, fl.WorkflowTimeout(next.SID))

	w.fake.Advance(10 * time.Minute)
	rep, err := w.sweeper(false, Options{CloseEvents: defaultCloseEvents()}).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w.status(declinedCh) != "closed" || w.status(timedOutCh) != "closed" || rep.Ignored[ReasonSuperseded] != 0 ||
		w.fake.Count("POST", "/v1/Interactions") != 2 {
		t.Errorf("channels %s, %s; report %+v", w.status(declinedCh), w.status(timedOutCh), rep)
	}
}

// pageBound is the Twilio adapter with a smaller page bound: a walk of a
// type in bounded stops after limit events with flex.ErrTooManyPages, as
// flex.Client.Events does after its last page.
type pageBound struct {
	api     *flex.Client
	bounded map[string]bool
	limit   int
}

func (p pageBound) Events(ctx context.Context, ws string, f flex.EventFilter, visit func(flex.Event) error) error {
	n := 0
	err := p.api.Events(ctx, ws, f, func(e flex.Event) error {
		if p.bounded[f.Type] && n == p.limit {
			return flex.ErrTooManyPages
		}
		n++
		return visit(e)
	})
	return err
}

// A walk stopped at its page bound is reported — Truncated, a warning,
// logged — never taken for the whole: a close walk cut short goes on with
// the next type; a task walk cut short leaves the close events older than
// what it saw for a later sweep (they cannot be known not to be
// superseded), while newer ones still close.
func TestSweepReportsPageBound(t *testing.T) {
	w := newWorld(t)
	var orphans []flextest.Channel
	for range 3 {
		orphans = append(orphans, w.conversation(t, declined))
		w.fake.Advance(time.Minute)
	}
	w.fake.Advance(10 * time.Minute)
	newSweeper := func(bounded string, limit int) *Sweeper {
		s := w.sweeper(false, Options{})
		s.api = pageBound{api: w.api, bounded: map[string]bool{bounded: true}, limit: limit}
		return s
	}
	// The task.created walk sees the 4 newest task.created events, those
	// of the 2 newest of 3 conversations (each: its task, its unpark
	// invite): the oldest conversation's close event is not examined.
	var logs strings.Builder
	l := NewLambda(newSweeper("task.created", 4), logging.New(&logs, slog.LevelInfo), nil)
	rep, err := l.Handle(context.Background(), nil)
	if err != nil || !rep.Truncated || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "task.created") ||
		!strings.Contains(rep.Warnings[0], flex.ErrTooManyPages.Error()) {
		t.Fatalf("task walk bounded: %+v, %v", rep, err)
	}
	if w.status(orphans[0]) != "active" || w.status(orphans[1]) != "closed" || w.status(orphans[2]) != "closed" {
		t.Errorf("channels %s %s %s; want the oldest left for a later sweep, the others closed",
			w.status(orphans[0]), w.status(orphans[1]), w.status(orphans[2]))
	}
	if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), "sweep truncated") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	// The task.canceled walk bounded: the next type is still walked, and
	// the report says the sweep is incomplete.
	rep, err = newSweeper("task.canceled", 1).Sweep(context.Background())
	if err != nil || !rep.Truncated || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "task.canceled") {
		t.Fatalf("close walk bounded: %+v, %v", rep, err)
	}
	walked := map[string]bool{}
	for _, r := range w.fake.Requests() {
		walked[r.Query.Get("EventType")] = true
	}
	if !walked["workflow.timeout"] || !walked["task.deleted"] {
		t.Errorf("types walked %v: want the walk to go on after the bounded one", walked)
	}
}
