package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/local/stack"
)

const ws = samples.WorkspaceSID

// buildDir holds the binaries the tests build; TestMain removes it.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flexhook-scenarios-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bootstraps are the function binaries, built once per test binary.
type bootstraps struct{ webhook, worker, sweeper string }

var binaries = sync.OnceValues(func() (bootstraps, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var b bootstraps
	var err error
	for _, f := range []struct {
		pkg string
		out *string
	}{{"./functions/webhook", &b.webhook}, {"./functions/worker", &b.worker}, {"./functions/sweeper", &b.sweeper}} {
		if *f.out, err = emulator.Build(ctx, f.pkg, filepath.Join(buildDir, filepath.Base(f.pkg))); err != nil {
			return b, err
		}
	}
	return b, nil
})

func build(t *testing.T) bootstraps {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the function binaries under the Lambda emulator with goaws and dynalite; skipped with -short")
	}
	b, err := binaries()
	if err != nil {
		t.Fatalf("build the functions: %v", err)
	}
	return b
}

// harness is one flexhook deployment (one mode) on loopback, with the
// simulator's event callbacks pointed at its API gateway.
type harness struct {
	sys   *stack.System
	tw    *flextest.Server
	fl    flextest.Flows
	queue bool
	logs  *emulator.Output
}

func start(t *testing.T, queue bool, b bootstraps) *harness {
	t.Helper()
	logs := &emulator.Output{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sys, err := stack.Start(ctx, stack.Options{
		Addr: "127.0.0.1:0", Durable: queue, Bootstrap: b.webhook, WorkerBootstrap: b.worker, Logs: logs,
		// The default close events (task.completed is not one); an
		// explicit CLOSE_STATUS=closed, under which Leave must still
		// never be closed.
		Env: []string{"CLOSE_STATUS=closed"},
	})
	if err != nil {
		t.Fatalf("start the local system: %v", err)
	}
	t.Cleanup(func() { sys.Close() })
	if queue && !sys.HasTable() {
		msg := "queue mode needs dynalite for the idempotency table (and its rechecks); run `npm ci`"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this test fails instead of skipping)")
		}
		t.Skip(msg)
	}
	tw := sys.Twilio()
	tw.SetEventCallbackURL(sys.URL() + "/taskrouter")
	return &harness{sys: sys, tw: tw, fl: tw.Flows(ws), queue: queue, logs: logs}
}

// settle waits until the close jobs queued so far are done (queue mode).
func (h *harness) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.sys.Drained(ctx); err != nil {
		t.Fatalf("close queue not drained: %v\n%s", err, tail(h.logs.String(), 30))
	}
}

// step fails on a flow's error and waits for its close jobs, so that each
// flow is handled before the next changes Flex.
func (h *harness) step(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	h.settle(t)
}

// Twilio calls, as callName names them.
const (
	getChannel  = "GET channel"
	getTasks    = "GET tasks"
	getTask     = "GET task"
	postChannel = "POST channel"
)

// closeCalls are the calls of a close: the look, the live-task guard, the
// update.
var closeCalls = []string{getChannel, getTasks, postChannel}

// flowScenario is one Flex flow played against a deployment.
type flowScenario struct {
	name      string
	queueOnly bool
	// play plays the flow and returns the channel to check.
	play func(t *testing.T, h *harness) flextest.Channel
	// want is the channel's final status; calls the Twilio calls made
	// about it, in order (queueCalls in queue mode, when they differ);
	// closes the number of closes that changed it.
	want              string
	calls, queueCalls []string
	closes            int
	// outcomes must each be among the decisions logged about the
	// channel: "event_type outcome" (with " reason" when ignored), from
	// the webhook's request lines and the worker's job lines.
	outcomes []string
	// queueOutcomes, when set, replace outcomes in queue mode.
	queueOutcomes []string
}

var flowScenarios = []flowScenario{
	{
		// The Flex UI closes the channel itself; task.wrapup and
		// task.completed are not close events: nothing to do.
		name: "agent ends chat",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, task := h.fl.Start(flextest.Channel{})
			h.step(t, h.fl.AgentEndsChat(task.SID))
			return ch
		},
		want:     flextest.ChannelClosed,
		outcomes: []string{"task.wrapup ignored event_not_configured", "task.completed ignored event_not_configured"},
	},
	{
		// Leave: the channel waits for the customer. A leftover invite
		// declined afterwards is a close event, but the look finds the
		// channel inactive and sends nothing, even with CLOSE_STATUS=closed.
		name: "leave",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, task := h.fl.Start(flextest.Channel{})
			invite := h.tw.AddChannelTask(ws, ch, flextest.TaskReserved)
			h.step(t, h.fl.Leave(task.SID))
			h.step(t, h.fl.DeclineInvite(invite.SID))
			return ch
		},
		want:     flextest.ChannelInactive,
		calls:    []string{getChannel},
		outcomes: []string{"task.completed ignored event_not_configured", "task.canceled already_closed"},
	},
	{
		name: "park",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, task := h.fl.Start(flextest.Channel{})
			h.step(t, h.fl.Park(task.SID))
			return ch
		},
		want:     flextest.ChannelActive,
		outcomes: []string{"task.completed ignored event_not_configured"},
	},
	{
		// The customer reactivates a left channel; its new task is
		// declined: the conversation is orphaned and closed.
		name: "customer reactivates a left channel, new task canceled",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, task := h.fl.Start(flextest.Channel{})
			h.step(t, h.fl.Leave(task.SID))
			next, err := h.fl.CustomerMessage(ch.InteractionSID, ch.SID)
			h.step(t, err)
			h.step(t, h.fl.DeclineInvite(next.SID))
			return ch
		},
		want: flextest.ChannelClosed, calls: closeCalls, closes: 1,
	},
	{
		// A transfer to a queue: the transferred-away task completes
		// while the new one waits in the queue: left open. Nobody accepts
		// the new task: its workflow.timeout closes, once; its
		// task.canceled finds the channel closed.
		name: "transfer to a queue, then the new task times out",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, task := h.fl.Start(flextest.Channel{})
			next, err := h.fl.TransferToQueue(task.SID)
			h.step(t, err)
			if got := status(h.tw, ch); got != flextest.ChannelActive || h.tw.CloseCount(ch.SID) != 0 {
				t.Fatalf("after the transfer: channel %s, %d closes", got, h.tw.CloseCount(ch.SID))
			}
			h.step(t, h.fl.WorkflowTimeout(next.SID))
			return ch
		},
		want: flextest.ChannelClosed, calls: append(slices.Clone(closeCalls), getChannel), closes: 1,
		outcomes: []string{"task.completed ignored event_not_configured", "workflow.timeout closed", "task.canceled already_closed"},
	},
	{
		// An invite declined while the agent works the task (a declined
		// transfer), then the agent parks the conversation. Sync: the
		// decline's task.canceled skips (the agent's task is live).
		// Queue: it skips and waits for its recheck; the agent parks
		// meanwhile; the recheck fetches the blocking task, finds it
		// completed (ended on purpose) and makes the skip final. The
		// parked channel stays active.
		name: "declined invite while the agent works, then Park",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, task := h.fl.Start(flextest.Channel{})
			invite := h.tw.AddChannelTask(ws, ch, flextest.TaskReserved)
			if err := h.fl.DeclineInvite(invite.SID); err != nil {
				t.Fatal(err)
			}
			h.await(t, "the first live-task look", func() bool { return slices.Contains(callsAbout(h.tw, ch.SID), getTasks) })
			h.step(t, h.fl.Park(task.SID))
			return ch
		},
		want:       flextest.ChannelActive,
		calls:      []string{getChannel, getTasks},
		queueCalls: []string{getChannel, getTasks, getChannel, getTask},
		outcomes:   []string{"task.canceled skipped_live_task", "task.completed ignored event_not_configured"},
		queueOutcomes: []string{"task.canceled recheck", "task.canceled skipped_live_task blocking_task_completed",
			"task.completed ignored event_not_configured"},
	},
	{
		// A parked conversation's unpark invite is declined: orphaned.
		name: "declined invite",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, task := h.fl.Start(flextest.Channel{})
			h.step(t, h.fl.Park(task.SID))
			invite, err := h.fl.Unpark(ch.InteractionSID, ch.SID)
			h.step(t, err)
			h.step(t, h.fl.DeclineInvite(invite.SID))
			return ch
		},
		want: flextest.ChannelClosed, calls: closeCalls, closes: 1,
	},
	{
		// The customer writes to a parked channel and nobody accepts:
		// workflow.timeout closes, its task.canceled finds it closed.
		name: "workflow timeout",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, task := h.fl.Start(flextest.Channel{})
			h.step(t, h.fl.Park(task.SID))
			next, err := h.fl.CustomerMessage(ch.InteractionSID, ch.SID)
			h.step(t, err)
			h.step(t, h.fl.WorkflowTimeout(next.SID))
			return ch
		},
		want: flextest.ChannelClosed, calls: append(slices.Clone(closeCalls), getChannel), closes: 1,
		outcomes: []string{"workflow.timeout closed", "task.canceled already_closed"},
	},
	{
		name: "live task deleted",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, task := h.fl.Start(flextest.Channel{})
			h.step(t, h.fl.DeleteTask(task.SID))
			return ch
		},
		want: flextest.ChannelClosed, calls: closeCalls, closes: 1, outcomes: []string{"task.deleted closed"},
	},
	{
		// Five minutes after a parked conversation's task completed,
		// TaskRouter deletes it: task.system-deleted of an ended task is
		// ignored, the channel stays parked.
		name: "ended task's task.system-deleted",
		play: func(t *testing.T, h *harness) flextest.Channel {
			h.tw.SetNow(time.Now().Add(-taskRetention - 30*time.Second))
			ch, task := h.fl.Start(flextest.Channel{})
			h.step(t, h.fl.Park(task.SID))
			from := len(h.tw.Callbacks())
			h.tw.SetNow(time.Now()) // retention runs out 30s ago
			h.settle(t)
			var sent []string
			for _, cb := range h.tw.Callbacks()[from:] {
				if cb.Event.TaskSID == task.SID {
					sent = append(sent, cb.Event.Type+" "+strconv.Itoa(cb.Status))
				}
			}
			if !slices.Equal(sent, []string{"task.system-deleted 204"}) {
				t.Errorf("callbacks after retention = %v, want task.system-deleted answered 204", sent)
			}
			return ch
		},
		want:     flextest.ChannelActive,
		outcomes: []string{"task.system-deleted ignored task_already_ended"},
	},
	{
		// Interaction creation failed: its task.canceled finds nothing
		// to close.
		name: "failed channel",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch, _ := h.fl.Start(flextest.Channel{})
			h.step(t, h.fl.FailChannel(ch.InteractionSID, ch.SID))
			return ch
		},
		want: flextest.ChannelFailed, calls: []string{getChannel}, outcomes: []string{"task.canceled not_closable"},
	},
	{
		// Two invites of one channel time out one after the other. Sync:
		// the first one's events skip (the other is live), the second's
		// close. Queue: the first one's workflow.timeout skips and waits
		// for its recheck, holding the channel's FIFO group; the second
		// times out meanwhile; the recheck fetches the blocking task
		// (canceled: guard again), closes, and the three jobs behind it
		// find the channel closed.
		name: "two tasks end one after the other",
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch := h.tw.AddChannel(flextest.Channel{})
			a := h.tw.AddChannelTask(ws, ch, flextest.TaskReserved)
			b := h.tw.AddChannelTask(ws, ch, flextest.TaskReserved)
			if err := h.fl.WorkflowTimeout(a.SID); err != nil {
				t.Fatal(err)
			}
			h.await(t, "the first live-task look", func() bool { return slices.Contains(callsAbout(h.tw, ch.SID), getTasks) })
			h.step(t, h.fl.WorkflowTimeout(b.SID))
			return ch
		},
		want: flextest.ChannelClosed,
		// workflow.timeout and task.canceled of a: skipped; of b: closed,
		// then already closed.
		calls:      []string{getChannel, getTasks, getChannel, getTasks, getChannel, getTasks, postChannel, getChannel},
		queueCalls: []string{getChannel, getTasks, getChannel, getTask, getTasks, postChannel, getChannel, getChannel, getChannel},
		closes:     1,
	},
	{
		// Two tasks end together: each event is handled while the other
		// task still looks live, so both skip at first; the recheck
		// (RECHECK_AFTER 1s) finds both ended and closes once.
		name: "two tasks end together", queueOnly: true,
		play: func(t *testing.T, h *harness) flextest.Channel {
			ch := h.tw.AddChannel(flextest.Channel{})
			tasks := []flextest.Task{h.tw.AddChannelTask(ws, ch, flextest.TaskReserved), h.tw.AddChannelTask(ws, ch, flextest.TaskReserved)}
			for _, task := range tasks {
				h.deliver(t, "task.canceled", task, flextest.TaskCanceled)
			}
			// The first job has looked at the live tasks: TaskRouter
			// catches up, its callbacks already delivered above.
			h.await(t, "the first live-task look", func() bool { return slices.Contains(callsAbout(h.tw, ch.SID), getTasks) })
			h.tw.SetEventCallbackURL("")
			defer h.tw.SetEventCallbackURL(h.sys.URL() + "/taskrouter")
			for _, task := range tasks {
				if err := h.tw.SetTaskStatus(ws, task.SID, flextest.TaskCanceled); err != nil {
					t.Fatal(err)
				}
			}
			h.settle(t)
			return ch
		},
		want: flextest.ChannelClosed,
		// First job: skipped; its recheck: the blocking task canceled,
		// closed; the second job (behind it in the channel's FIFO group):
		// already closed.
		calls:    []string{getChannel, getTasks, getChannel, getTask, getTasks, postChannel, getChannel},
		closes:   1,
		outcomes: []string{"task.canceled recheck", "task.canceled closed", "task.canceled already_closed"},
	},
}

// TestFlows plays each Flex flow against both delivery modes and checks the
// channel's final status and the exact Twilio calls made about it.
func TestFlows(t *testing.T) {
	b := build(t)
	for _, mode := range []string{"sync", "queue"} {
		t.Run(mode, func(t *testing.T) {
			h := start(t, mode == "queue", b)
			for _, sc := range flowScenarios {
				if sc.queueOnly && !h.queue {
					continue
				}
				t.Run(sc.name, func(t *testing.T) { h.run(t, sc) })
			}
		})
	}
}

func (h *harness) run(t *testing.T, sc flowScenario) {
	// Each scenario starts now, by a clock that stays put: retention of
	// earlier scenarios' tasks runs first.
	h.tw.SetNow(time.Now())
	h.settle(t)
	h.tw.Reset()
	from, logFrom := len(h.tw.Callbacks()), len(h.logs.String())
	ch := sc.play(t, h)
	outcomes := sc.outcomes
	if h.queue && sc.queueOutcomes != nil {
		outcomes = sc.queueOutcomes
	}
	for _, want := range outcomes {
		h.await(t, "decision "+want, func() bool {
			return slices.Contains(decisions(h.logs.String()[logFrom:], ch.SID, tasksOf(h.tw, ch.SID)), want)
		})
	}
	if got := status(h.tw, ch); got != sc.want {
		t.Errorf("channel %s, want %s", got, sc.want)
	}
	calls := sc.calls
	if h.queue && sc.queueCalls != nil {
		calls = sc.queueCalls
	}
	if got := callsAbout(h.tw, ch.SID); !slices.Equal(got, calls) {
		t.Errorf("Twilio calls = %q, want %q", got, calls)
	}
	tasks := tasksOf(h.tw, ch.SID)
	for _, r := range h.tw.Requests() {
		if !about(r, ch.SID, tasks) {
			t.Errorf("Twilio call about another channel: %s %s?%s", r.Method, r.Path, r.Query.Encode())
		}
	}
	if got := h.tw.CloseCount(ch.SID); got != sc.closes {
		t.Errorf("%d closes, want %d", got, sc.closes)
	}
	for _, cb := range h.tw.Callbacks()[from:] {
		if cb.Status/100 != 2 {
			t.Errorf("callback %s of %s answered %d %s", cb.Event.Type, cb.Event.TaskSID, cb.Status, cb.Err)
		}
	}
	if t.Failed() {
		t.Logf("function output:\n%s", tail(h.logs.String(), 40))
	}
}

// deliver sends TaskRouter's eventType callback about task, reporting
// status, through the gateway, signed as the simulator signs.
func (h *harness) deliver(t *testing.T, eventType string, task flextest.Task, status string) {
	t.Helper()
	now := h.tw.Now()
	form := h.tw.CallbackForm(flextest.Event{
		SID: flextest.NewSID("EV"), Type: eventType, Date: now, WorkspaceSID: ws,
		TaskSID: task.SID, TaskAttributes: task.Attributes, TaskAssignmentStatus: status,
		TaskChannel: task.TaskChannelUniqueName, TaskDateCreated: task.DateCreated,
	})
	u := h.sys.URL() + "/taskrouter"
	req, err := stack.TaskRouterRequest(u, samples.AuthToken, form)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("I-Twilio-Idempotency-Token", flextest.NewSID("EV"))
	hreq, err := req.HTTP(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s of %s answered %d", eventType, task.SID, resp.StatusCode)
	}
}

// await polls cond until it holds, failing after 20 seconds.
func (h *harness) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s\n%s", what, tail(h.logs.String(), 30))
		}
	}
}

func status(tw *flextest.Server, ch flextest.Channel) string {
	c, ok := tw.Channel(ch.InteractionSID, ch.SID)
	if !ok {
		return "missing"
	}
	return c.Status
}

// callsAbout returns the Twilio calls logged about channel uo — its own
// path, a task list filtered on it, or one of its tasks — named by
// callName.
func callsAbout(tw *flextest.Server, uo string) []string {
	var out []string
	tasks := tasksOf(tw, uo)
	for _, r := range tw.Requests() {
		if about(r, uo, tasks) {
			out = append(out, callName(r))
		}
	}
	return out
}

// about reports whether r concerns channel uo or one of its tasks (a
// recheck fetches the task that blocked a close).
func about(r flextest.Request, uo string, tasks map[string]bool) bool {
	names := func(s string) bool {
		if strings.Contains(s, uo) {
			return true
		}
		for wt := range tasks {
			if strings.Contains(s, wt) {
				return true
			}
		}
		return false
	}
	if names(r.Path) {
		return true
	}
	for _, vs := range r.Query {
		for _, v := range vs {
			if names(v) {
				return true
			}
		}
	}
	return false
}

// callName names a Twilio request by method and resource, such as "GET
// tasks", with the status of one that did not succeed.
func callName(r flextest.Request) string {
	seg := strings.Split(strings.Trim(r.Path, "/"), "/")
	name := (&url.URL{Path: r.Path}).EscapedPath()
	switch {
	case len(seg) == 5 && seg[1] == "Interactions" && seg[3] == "Channels":
		name = "channel"
	case len(seg) == 4 && seg[1] == "Workspaces" && seg[3] == "Tasks":
		name = "tasks"
	case len(seg) == 5 && seg[1] == "Workspaces" && seg[3] == "Tasks":
		name = "task"
	case len(seg) == 4 && seg[1] == "Workspaces" && seg[3] == "Events":
		name = "events"
	}
	if r.Status/100 != 2 {
		return fmt.Sprintf("%s %s (%d)", r.Method, name, r.Status)
	}
	return r.Method + " " + name
}

// tasksOf returns the tasks of channel uo the Events resource knows.
func tasksOf(tw *flextest.Server, uo string) map[string]bool {
	tasks := map[string]bool{}
	for _, e := range tw.Events(ws) {
		if strings.Contains(e.TaskAttributes, uo) {
			tasks[e.TaskSID] = true
		}
	}
	return tasks
}

// decisions returns the decisions logged in out about channel uo or one of
// its tasks (an ignored event's line names only its task): "event_type
// outcome", with " reason" when there is one, from the webhook's request
// lines (except queued) and the worker's job lines.
func decisions(out, uo string, tasks map[string]bool) []string {
	var ds []string
	for _, l := range strings.Split(out, "\n") {
		var d struct {
			Message    string `json:"message"`
			EventType  string `json:"event_type"`
			ChannelSID string `json:"channel_sid"`
			TaskSID    string `json:"task_sid"`
			Outcome    string `json:"outcome"`
			Reason     string `json:"reason"`
		}
		if json.Unmarshal([]byte(l), &d) != nil || (d.ChannelSID != uo && !tasks[d.TaskSID]) || d.Outcome == "queued" ||
			(d.Message != "request" && d.Message != "job") {
			continue
		}
		s := d.EventType + " " + d.Outcome
		if d.Reason != "" {
			s += " " + d.Reason
		}
		ds = append(ds, s)
	}
	return ds
}
