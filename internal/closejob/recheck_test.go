package closejob

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
)

// A skipped close is rechecked up to the limit, the count handed on through
// the store, then recorded as final; a recheck that closes ends it.
func TestRecheck(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := func() time.Time { return now }
	skip := channelclose.Result{Outcome: channelclose.SkippedLiveTask, LiveTaskSID: "WT1"}
	t.Run("limit reached", func(t *testing.T) {
		store := idempotencytest.NewMemory(idempotency.Options{Now: clock})
		c := &scripted{results: []channelclose.Result{skip, skip, skip, skip}}
		p := NewProcessor(c, store, clock).WithRecheck(Recheck{After: time.Minute, Limit: 3})
		m := NewMessage("tr:task.canceled:"+wt, job(), now)
		for i := 1; i <= 3; i++ {
			res, err := p.Run(ctx, m)
			if err != nil || res.Outcome != channelclose.SkippedLiveTask || res.RecheckIn != time.Minute || res.Rechecks != i {
				t.Fatalf("run %d = %+v, %v; want a skip rechecked in 1m (recheck %d)", i, res, err, i)
			}
			// A copy arriving before the recheck is due is in progress.
			if _, _, err := p.Check(ctx, m); !errors.Is(err, ErrInProgress) {
				t.Errorf("Check during the recheck wait = %v, want ErrInProgress", err)
			}
			now = now.Add(time.Minute)
		}
		res, err := p.Run(ctx, m)
		if err != nil || res.Outcome != channelclose.SkippedLiveTask || res.RecheckIn != 0 {
			t.Fatalf("run after 3 rechecks = %+v, %v; want a final skip", res, err)
		}
		rec, err := store.Get(ctx, m.Key)
		if err != nil || rec.Status != idempotency.StatusDone || rec.Outcome != "skipped_live_task" {
			t.Errorf("record = %+v, %v; want done skipped_live_task", rec, err)
		}
		if res, _ := p.Run(ctx, m); !res.Replayed || res.Rechecks != 3 || c.calls != 4 {
			t.Errorf("replay = %+v after %d closes; want the final skip with 3 rechecks, 4 closes", res, c.calls)
		}
	})
	t.Run("recheck closes", func(t *testing.T) {
		store := idempotencytest.NewMemory(idempotency.Options{Now: clock})
		c := &scripted{results: []channelclose.Result{skip, {Outcome: channelclose.Closed, ChannelStatus: "closed"}}}
		p := NewProcessor(c, store, clock).WithRecheck(Recheck{After: time.Minute, Limit: 3})
		m := NewMessage("tr:task.canceled:"+wt, job(), now)
		if res, err := p.Run(ctx, m); err != nil || res.RecheckIn != time.Minute {
			t.Fatalf("first run = %+v, %v; want a recheck", res, err)
		}
		// Redelivered too early (clock skew): in progress, nothing run.
		if _, err := p.Run(ctx, m); !errors.Is(err, ErrInProgress) || c.calls != 1 {
			t.Errorf("early redelivery = %v after %d closes, want ErrInProgress and no close", err, c.calls)
		}
		now = now.Add(time.Minute)
		res, err := p.Run(ctx, m)
		if err != nil || res.Outcome != channelclose.Closed || res.RecheckIn != 0 {
			t.Fatalf("recheck = %+v, %v; want closed", res, err)
		}
	})
	t.Run("off without the option or a store", func(t *testing.T) {
		for name, p := range map[string]*Processor{
			"no option": NewProcessor(&scripted{results: []channelclose.Result{skip}}, idempotencytest.NewMemory(idempotency.Options{Now: clock}), clock),
			"no store":  NewProcessor(&scripted{results: []channelclose.Result{skip}}, nil, clock).WithRecheck(Recheck{After: time.Minute, Limit: 3}),
			"limit 0":   NewProcessor(&scripted{results: []channelclose.Result{skip}}, idempotencytest.NewMemory(idempotency.Options{Now: clock}), clock).WithRecheck(Recheck{After: time.Minute}),
		} {
			res, err := p.Run(ctx, NewMessage("tr:task.canceled:"+wt, job(), now))
			if err != nil || res.Outcome != channelclose.SkippedLiveTask || res.RecheckIn != 0 {
				t.Errorf("%s: Run = %+v, %v; want a final skip", name, res, err)
			}
		}
	})
}

// blockers records the blocking task each Close was handed.
type blockers struct {
	scripted
	seen []string
}

func (b *blockers) Close(ctx context.Context, j channelclose.Job) (channelclose.Result, error) {
	b.seen = append(b.seen, j.Blocker)
	return b.scripted.Close(ctx, j)
}

// A recheck hands the blocking task of the previous run to the close path;
// a transient failure during a recheck keeps the count and the blocking
// task (the claim stays deferred, for a moment) instead of starting over;
// a final skip (blocking_task_completed) is recorded, not rechecked.
func TestRecheckKeepsBlockingTask(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := func() time.Time { return now }
	store := idempotencytest.NewMemory(idempotency.Options{Now: clock})
	final := channelclose.Result{Outcome: channelclose.SkippedLiveTask, LiveTaskSID: "WT1", Reason: channelclose.BlockerCompleted}
	c := &blockers{scripted: scripted{
		results: []channelclose.Result{{Outcome: channelclose.SkippedLiveTask, LiveTaskSID: "WT1"}, {}, final},
		errs:    []error{nil, transient{}, nil},
	}}
	p := NewProcessor(c, store, clock).WithRecheck(Recheck{After: time.Minute, Limit: 3})
	m := NewMessage("tr:task.canceled:"+wt, job(), now)
	if res, err := p.Run(ctx, m); err != nil || res.RecheckIn != time.Minute {
		t.Fatalf("first run = %+v, %v; want a recheck", res, err)
	}
	now = now.Add(time.Minute)
	if _, err := p.Run(ctx, m); err == nil {
		t.Fatal("recheck with a transient failure succeeded")
	}
	now = now.Add(2 * time.Second)
	res, err := p.Run(ctx, m)
	if err != nil || res.Reason != channelclose.BlockerCompleted || res.RecheckIn != 0 {
		t.Fatalf("recheck after the failure = %+v, %v; want a final skip after 1 recheck", res, err)
	}
	if want := []string{"", "WT1", "WT1"}; !slices.Equal(c.seen, want) {
		t.Errorf("blocking tasks handed to Close = %q, want %q", c.seen, want)
	}
	rec, err := store.Get(ctx, m.Key)
	if err != nil || rec.Status != idempotency.StatusDone || rec.Outcome != "skipped_live_task" ||
		!strings.Contains(rec.Detail, channelclose.BlockerCompleted) || !strings.Contains(rec.Detail, `"rechecks":1`) {
		t.Errorf("record = %+v, %v", rec, err)
	}
}
