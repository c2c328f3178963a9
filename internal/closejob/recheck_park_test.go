package closejob_test

import (
	"context"
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
	"github.com/flexhook/flexhook/internal/secrets"
)

const (
	racct = "AC0123456789abcdef0123456789abcdef"
	rws   = "WS0123456789abcdef0123456789abcdef"
)

type rcreds struct{}

func (rcreds) Credentials(context.Context) (flex.Credentials, error) {
	return flex.Credentials{AccountSID: racct, Username: racct, Password: secrets.NewValue("tok")}, nil
}
func (rcreds) Refresh(context.Context) (bool, error) { return false, nil }

// recheckWorld is a Flex simulator, a queue-mode Processor on it, and a
// conversation whose agent works task while a transfer invite is declined:
// its task.canceled skips (task is live) and is due for a recheck.
type recheckWorld struct {
	fake      *flextest.Server
	flows     flextest.Flows
	p         *closejob.Processor
	ch        flextest.Channel
	task      flextest.Task
	m         closejob.Message
	firstSkip closejob.Result
}

// With twoInvites, the agent's task is parked first and two invites of the
// parked conversation are pending: the first is declined, and the second,
// still reserved, is the blocking task (w.task).
func newRecheckWorld(t *testing.T, twoInvites bool) *recheckWorld {
	t.Helper()
	fake := flextest.New(flextest.Options{AccountSID: racct, Credentials: map[string]string{racct: "tok"}})
	fake.SetNow(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	api, err := flex.New(rcreds{}, flex.Options{BaseURL: srv.URL, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := &recheckWorld{fake: fake, flows: fake.Flows(rws)}
	w.ch, w.task = w.flows.Start(flextest.Channel{})
	if twoInvites {
		if err := w.flows.Park(w.task.SID); err != nil {
			t.Fatal(err)
		}
		w.task = fake.AddChannelTask(rws, w.ch, flextest.TaskReserved)
	}
	invite := fake.AddChannelTask(rws, w.ch, flextest.TaskReserved)
	if err := w.flows.DeclineInvite(invite.SID); err != nil {
		t.Fatal(err)
	}
	store := idempotencytest.NewMemory(idempotency.Options{Now: fake.Now})
	w.p = closejob.NewProcessor(channelclose.New(api, channelclose.Options{}), store, fake.Now).
		WithRecheck(closejob.Recheck{After: time.Minute, Limit: 3})
	job := channelclose.Job{Source: "taskrouter", EventType: "task.canceled", WorkspaceSID: rws, TaskSID: invite.SID,
		InteractionSID: w.ch.InteractionSID, ChannelSID: w.ch.SID, Status: "closed", Routing: true, Guard: true}
	w.m = closejob.NewMessage(closejob.TaskRouterKey("task.canceled", invite.SID), job, fake.Now())
	res, err := w.p.Run(context.Background(), w.m)
	if err != nil || res.Outcome != channelclose.SkippedLiveTask || res.LiveTaskSID != w.task.SID || res.RecheckIn == 0 {
		t.Fatalf("first run = %+v, %v; want a skip for %s, rechecked", res, err, w.task.SID)
	}
	w.firstSkip = res
	return w
}

func (w *recheckWorld) status(t *testing.T) string {
	t.Helper()
	c, ok := w.fake.Channel(w.ch.InteractionSID, w.ch.SID)
	if !ok {
		t.Fatal("channel gone")
	}
	return c.Status
}

// updates counts the channel updates sent to the simulator.
func (w *recheckWorld) updates() int {
	n := 0
	for _, r := range w.fake.Requests() {
		if r.Method == "POST" && strings.Contains(r.Path, "/Channels/") {
			n++
		}
	}
	return n
}

// Queue mode: a declined transfer invite's task.canceled skips (the agent's
// task is live); the agent parks the conversation before the recheck. The
// recheck sees the blocking task completed — ended on purpose — and makes
// the skip final: the parked channel stays active, no update is sent, and
// no further recheck is scheduled.
func TestRecheckLeavesParkedChannelOpen(t *testing.T) {
	for _, tt := range []struct {
		name string
		wait time.Duration // after the Park, before the recheck
	}{
		{"blocking task still kept", time.Minute + time.Second},
		// TaskRouter deleted the completed task: its task.completed event
		// in the Events resource says how it ended.
		{"blocking task deleted", 6 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newRecheckWorld(t, false)
			if err := w.flows.Park(w.task.SID); err != nil {
				t.Fatal(err)
			}
			w.fake.Advance(tt.wait)
			if _, kept := w.fake.Task(rws, w.task.SID); kept != (tt.wait < 5*time.Minute) {
				t.Fatalf("task kept = %v after %v", kept, tt.wait)
			}
			res, err := w.p.Run(context.Background(), w.m)
			if err != nil || res.Outcome != channelclose.SkippedLiveTask || res.Reason != channelclose.BlockerCompleted ||
				res.LiveTaskSID != w.task.SID || res.RecheckIn != 0 {
				t.Fatalf("recheck = %+v, %v; want a final skip (%s, %s)", res, err, channelclose.BlockerCompleted, w.task.SID)
			}
			if got := w.status(t); got != "active" || w.updates() != 0 {
				t.Fatalf("parked channel %s after the recheck, %d updates sent", got, w.updates())
			}
			// A duplicate replays the final skip and its reason.
			rep, err := w.p.Run(context.Background(), w.m)
			if err != nil || !rep.Replayed || rep.Reason != channelclose.BlockerCompleted || rep.Rechecks != 1 {
				t.Errorf("replay = %+v, %v", rep, err)
			}
		})
	}
}

// The blocking task is canceled too (two invites of a parked conversation
// declined together): the recheck guards again and closes, once — also
// when the canceled task is already deleted and only its event tells.
func TestRecheckClosesWhenBlockingTaskCanceled(t *testing.T) {
	for _, wait := range []time.Duration{time.Minute + time.Second, 6 * time.Minute} {
		w := newRecheckWorld(t, true)
		if err := w.flows.DeclineInvite(w.task.SID); err != nil {
			t.Fatal(err)
		}
		w.fake.Advance(wait)
		res, err := w.p.Run(context.Background(), w.m)
		if err != nil || res.Outcome != channelclose.Closed || res.Reason != "" {
			t.Fatalf("recheck after %v = %+v, %v; want closed", wait, res, err)
		}
		if got := w.status(t); got != "closed" || w.updates() != 1 {
			t.Errorf("channel %s, %d updates; want closed by one update", got, w.updates())
		}
	}
}

// The blocking task is still live at the recheck: the skip is rechecked
// again, and once the agent parks, the next recheck makes it final.
func TestRecheckWaitsForLiveBlockingTask(t *testing.T) {
	w := newRecheckWorld(t, false)
	w.fake.Advance(time.Minute + time.Second)
	res, err := w.p.Run(context.Background(), w.m)
	if err != nil || res.Outcome != channelclose.SkippedLiveTask || res.Reason != "" || res.RecheckIn == 0 || res.Rechecks != 2 {
		t.Fatalf("recheck with the task live = %+v, %v; want another recheck", res, err)
	}
	if err := w.flows.Park(w.task.SID); err != nil {
		t.Fatal(err)
	}
	w.fake.Advance(time.Minute + time.Second)
	res, err = w.p.Run(context.Background(), w.m)
	if err != nil || res.Reason != channelclose.BlockerCompleted || res.RecheckIn != 0 {
		t.Fatalf("recheck after the Park = %+v, %v; want a final skip", res, err)
	}
	if got := w.status(t); got != "active" || w.updates() != 0 {
		t.Errorf("parked channel %s, %d updates", got, w.updates())
	}
}
