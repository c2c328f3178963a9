package sweeper

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/closer"
	"github.com/flexhook/flexhook/internal/delivery"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flextest"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/secrets"
)

const (
	acct  = "AC0123456789abcdef0123456789abcdef"
	token = "tok1"
	ws    = "WS0123456789abcdef0123456789abcdef"
)

type creds struct{}

func (creds) Credentials(context.Context) (flex.Credentials, error) {
	return flex.Credentials{AccountSID: acct, Username: acct, Password: secrets.NewValue(token)}, nil
}
func (creds) Refresh(context.Context) (bool, error) { return false, nil }

type world struct {
	fake  *flextest.Server
	api   *flex.Client
	now   time.Time
	store *idempotency.Memory
}

func newWorld(t *testing.T) *world {
	w := &world{now: time.Now().Truncate(time.Second)}
	w.fake = flextest.New(flextest.Options{AccountSID: acct, Credentials: map[string]string{acct: token}})
	w.fake.AddWorkspace(ws)
	srv := httptest.NewServer(w.fake)
	t.Cleanup(srv.Close)
	api, err := flex.New(creds{}, flex.Options{BaseURL: srv.URL, MaxAttempts: 2, BaseDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w.api = api
	w.store = idempotency.NewMemory(idempotency.Options{})
	return w
}

// task adds a task on ch (nil: a voice task) that last changed ago.
func (w *world) task(ch *flextest.Channel, status string, ago time.Duration) flextest.Task {
	attrs := `{"call_sid":"CA1"}`
	if ch != nil {
		attrs = flextest.NewAttributes(*ch).JSON()
	}
	at := w.now.Add(-ago)
	return w.fake.AddTask(flextest.Task{WorkspaceSID: ws, AssignmentStatus: status, Attributes: attrs, DateCreated: at.Add(-time.Minute), DateUpdated: at})
}

func (w *world) channel(status string) *flextest.Channel {
	ch := w.fake.AddChannel(flextest.Channel{Status: status})
	return &ch
}

func (w *world) sweeper(dryRun bool, o Options) *Sweeper {
	p := delivery.NewProcessor(closer.New(w.api, closer.Options{DryRun: dryRun}), w.store, nil)
	o.Now = func() time.Time { return w.now }
	o.Sleep = func(context.Context, time.Duration) error { return nil }
	return New(w.api, p, ws, o)
}

func (w *world) status(ch *flextest.Channel) string {
	c, _ := w.fake.Channel(ch.InteractionSID, ch.SID)
	return c.Status
}

func TestSweepClosesOrphans(t *testing.T) {
	w := newWorld(t)
	orphan := w.channel("active")
	w.task(orphan, "completed", 30*time.Minute)
	w.task(orphan, "canceled", 40*time.Minute) // a second task on the same channel
	transferred := w.channel("active")
	w.task(transferred, "completed", 20*time.Minute)
	w.task(transferred, "assigned", 10*time.Minute)
	done := w.channel("closed")
	w.task(done, "completed", 15*time.Minute)
	fresh := w.channel("active")
	w.task(fresh, "completed", 30*time.Second) // the webhook is handling it
	old := w.channel("active")
	w.task(old, "completed", 5*time.Hour) // outside the look-back window
	w.task(nil, "canceled", 20*time.Minute)

	rep, err := w.sweeper(false, Options{Lookback: 2 * time.Hour}).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w.status(orphan) != "closed" || w.status(transferred) != "active" || w.status(fresh) != "active" || w.status(old) != "active" {
		t.Errorf("after the sweep: orphan %s, transferred %s, fresh %s, old %s; want closed, active, active, active",
			w.status(orphan), w.status(transferred), w.status(fresh), w.status(old))
	}
	if rep.Outcomes["closed"] != 1 || rep.Outcomes["skipped_live_task"] != 1 || rep.Open != 2 || rep.Channels != 3 || rep.Tasks != 6 || rep.FlexTasks != 5 {
		t.Errorf("report = %+v", rep)
	}
	if w.fake.CloseCount(orphan.SID) != 1 {
		t.Errorf("orphan closed %d times", w.fake.CloseCount(orphan.SID))
	}
	// A second sweep finds nothing new to close.
	before := w.fake.Count("POST", "/v1/Interactions")
	if rep, _ := w.sweeper(false, Options{}).Sweep(context.Background()); rep.Outcomes["closed"] != 0 {
		t.Errorf("second sweep closed again: %+v", rep)
	}
	if after := w.fake.Count("POST", "/v1/Interactions"); after != before {
		t.Errorf("second sweep made %d close calls", after-before)
	}
}

func TestSweepDryRun(t *testing.T) {
	w := newWorld(t)
	orphan := w.channel("active")
	w.task(orphan, "canceled", 30*time.Minute)
	rep, err := w.sweeper(true, Options{}).Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if w.status(orphan) != "active" || rep.Outcomes["dry_run"] != 1 || rep.Actions[0].Request == "" {
		t.Errorf("dry run: channel %s, report %+v", w.status(orphan), rep)
	}
}

func TestSweepBounds(t *testing.T) {
	w := newWorld(t)
	for i := 0; i < 5; i++ {
		w.task(w.channel("active"), "completed", time.Duration(10+i)*time.Minute)
	}
	rep, _ := w.sweeper(false, Options{MaxCloses: 2}).Sweep(context.Background())
	if rep.Outcomes["closed"] != 2 || !rep.Truncated {
		t.Errorf("MaxCloses 2: %+v", rep)
	}
	ctx, cancel := context.WithDeadline(context.Background(), w.now.Add(5*time.Second))
	defer cancel()
	rep, _ = w.sweeper(false, Options{}).Sweep(ctx)
	if rep.Tasks != 0 || !rep.Truncated {
		t.Errorf("sweep inside the safety margin started work: %+v", rep)
	}
}

func TestLambdaLogsAndReports(t *testing.T) {
	w := newWorld(t)
	orphan := w.channel("active")
	w.task(orphan, "completed", 30*time.Minute)
	var logs, emf strings.Builder
	l := NewLambda(w.sweeper(false, Options{}), logging.New(&logs, slog.LevelInfo), metrics.New(&emf, "sweeper", nil))
	rep, err := l.Handle(context.Background(), json.RawMessage(`{"source":"aws.events"}`))
	if err != nil || rep.Outcomes["closed"] != 1 {
		t.Fatalf("Handle = %+v, %v", rep, err)
	}
	if !strings.Contains(logs.String(), `"message":"sweep channel"`) || !strings.Contains(logs.String(), orphan.SID) ||
		!strings.Contains(logs.String(), `"message":"sweep"`) {
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

// A channel skipped for a live task is looked at again by the next run, and
// closed once that task has ended too.
func TestSweepRevisitsSkippedChannels(t *testing.T) {
	w := newWorld(t)
	ch := w.channel("active")
	w.task(ch, "completed", 30*time.Minute)
	live := w.task(ch, "assigned", 20*time.Minute)
	if rep, _ := w.sweeper(false, Options{}).Sweep(context.Background()); rep.Outcomes["skipped_live_task"] != 1 {
		t.Fatalf("first sweep: %+v", rep)
	}
	if err := w.fake.SetTaskStatus(ws, live.SID, "completed"); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(15 * time.Minute)
	if rep, _ := w.sweeper(false, Options{}).Sweep(context.Background()); rep.Outcomes["closed"] != 1 || w.status(ch) != "closed" {
		t.Errorf("second sweep: %+v, channel %s; want it closed", rep, w.status(ch))
	}
}

// Only the configured close events count: with task.completed not among
// them, a completed task's channel is left alone.
func TestSweepFollowsCloseEvents(t *testing.T) {
	w := newWorld(t)
	completed := w.channel("active")
	w.task(completed, "completed", 30*time.Minute)
	canceled := w.channel("active")
	w.task(canceled, "canceled", 30*time.Minute)
	rep, _ := w.sweeper(false, Options{Statuses: []string{"canceled"}}).Sweep(context.Background())
	if w.status(completed) != "active" || w.status(canceled) != "closed" || rep.Tasks != 1 {
		t.Errorf("completed %s, canceled %s, report %+v", w.status(completed), w.status(canceled), rep)
	}
}

// The look-back window is on when a task ended, not when it was created: a
// long conversation that ended recently is swept; one that ended before the
// window is not.
func TestSweepWindowIsOnEndTime(t *testing.T) {
	w := newWorld(t)
	long := w.channel("active")
	w.fake.AddTask(flextest.Task{WorkspaceSID: ws, AssignmentStatus: "completed", Attributes: flextest.NewAttributes(*long).JSON(),
		DateCreated: w.now.Add(-6 * time.Hour), DateUpdated: w.now.Add(-30 * time.Minute)})
	old := w.channel("active")
	w.fake.AddTask(flextest.Task{WorkspaceSID: ws, AssignmentStatus: "completed", Attributes: flextest.NewAttributes(*old).JSON(),
		DateCreated: w.now.Add(-5 * time.Hour), DateUpdated: w.now.Add(-3 * time.Hour)})
	w.sweeper(false, Options{Lookback: 2 * time.Hour}).Sweep(context.Background())
	if w.status(long) != "closed" || w.status(old) != "active" {
		t.Errorf("long conversation %s (want closed), ended before the window %s (want active)", w.status(long), w.status(old))
	}
}
