package flextest_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twilio/twilio-go/client"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// receiver is an EventCallbackUrl: it checks each callback's signature
// with twilio-go's RequestValidator and keeps the forms.
type receiver struct {
	t     testing.TB
	url   string
	mu    sync.Mutex
	forms []url.Values
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		v := client.NewRequestValidator(testToken)
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			!v.ValidateBody(r.url, body, req.Header.Get("X-Twilio-Signature")) {
			t.Errorf("callback %s %s with signature %q does not validate", req.Method, body, req.Header.Get("X-Twilio-Signature"))
			w.WriteHeader(http.StatusForbidden)
			return
		}
		form, _ := url.ParseQuery(string(body))
		r.mu.Lock()
		r.forms = append(r.forms, form)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/taskrouter?stage=test"
	return r
}

// types returns "EventType/TaskAssignmentStatus" of each callback so far.
func (r *receiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.forms {
		out = append(out, f.Get("EventType")+"/"+f.Get("TaskAssignmentStatus"))
	}
	return out
}

func (r *receiver) reset() {
	r.mu.Lock()
	r.forms = nil
	r.mu.Unlock()
}

// eventTypes returns "type/status" of the workspace's events after the
// first skip ones.
func eventTypes(s *flextest.Server, skip int) []string {
	var out []string
	for _, e := range s.Events(testWS)[skip:] {
		out = append(out, e.Type+"/"+e.TaskAssignmentStatus)
	}
	return out
}

func liveTasks(s *flextest.Server, uo string) []string {
	var out []string
	for _, t := range s.Tasks(testWS) {
		if strings.Contains(t.Attributes, uo) && t.AssignmentStatus != "completed" && t.AssignmentStatus != "canceled" {
			out = append(out, t.SID+":"+t.AssignmentStatus)
		}
	}
	return out
}

// Each flow changes the channel and its tasks as Flex
// does, and emits the same events into the Events resource and, signed, to
// the callback URL. None of them is an API close.
func TestFlows(t *testing.T) {
	tests := []struct {
		name string
		// run drives the flow after Start; it returns the channel's
		// final expected status.
		run         func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task)
		wantChannel string
		wantEvents  []string
		wantLive    int
	}{
		{"agent ends chat", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.AgentEndsChat(task.SID))
		}, "closed", []string{"task.wrapup/wrapping", "task.completed/completed"}, 0},
		{"leave", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.Leave(task.SID))
		}, "inactive", []string{"task.completed/completed"}, 0},
		{"leave, then the customer writes", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.Leave(task.SID))
			next, err := fl.CustomerMessage(ch.InteractionSID, ch.SID)
			if err != nil || next.SID == task.SID || next.AssignmentStatus != "pending" {
				t.Errorf("CustomerMessage = %+v, %v; want a new pending task", next, err)
			}
		}, "active", []string{"task.completed/completed", "task.created/pending"}, 1},
		{"park", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.Park(task.SID))
		}, "active", []string{"task.completed/completed"}, 0},
		{"park, then unpark by invite", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.Park(task.SID))
			next, err := fl.Unpark(ch.InteractionSID, ch.SID)
			if err != nil || next.AssignmentStatus != "reserved" {
				t.Errorf("Unpark = %+v, %v; want a new reserved task", next, err)
			}
		}, "active", []string{"task.completed/completed", "task.created/pending"}, 1},
		{"park, then the customer writes", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.Park(task.SID))
			if _, err := fl.CustomerMessage(ch.InteractionSID, ch.SID); err != nil {
				t.Error(err)
			}
		}, "active", []string{"task.completed/completed", "task.created/pending"}, 1},
		{"transfer", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			next, err := fl.Transfer(task.SID)
			if err != nil || next.AssignmentStatus != "assigned" {
				t.Errorf("Transfer = %+v, %v", next, err)
			}
		}, "active", []string{"task.created/pending", "task.wrapup/wrapping", "task.completed/completed"}, 1},
		{"transfer to a queue, nobody accepts", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			next, err := fl.TransferToQueue(task.SID)
			if err != nil || next.AssignmentStatus != "pending" {
				t.Errorf("TransferToQueue = %+v, %v", next, err)
			}
			must(t, fl.WorkflowTimeout(next.SID))
		}, "active", []string{"task.created/pending", "task.wrapup/wrapping", "task.completed/completed",
			"workflow.timeout/canceled", "task.canceled/canceled"}, 0},
		{"declined unpark invite", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.Park(task.SID))
			next, err := fl.Unpark(ch.InteractionSID, ch.SID)
			must(t, err)
			must(t, fl.DeclineInvite(next.SID))
		}, "active", []string{"task.completed/completed", "task.created/pending", "task.canceled/canceled"}, 0},
		{"workflow timeout", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.Park(task.SID))
			next, err := fl.CustomerMessage(ch.InteractionSID, ch.SID)
			must(t, err)
			must(t, fl.WorkflowTimeout(next.SID))
		}, "active", []string{"task.completed/completed", "task.created/pending", "workflow.timeout/canceled", "task.canceled/canceled"}, 0},
		{"live task deleted through the API", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.DeleteTask(task.SID))
		}, "active", []string{"task.deleted/assigned"}, 0},
		{"failed channel", func(t *testing.T, fl flextest.Flows, ch flextest.Channel, task flextest.Task) {
			must(t, fl.FailChannel(ch.InteractionSID, ch.SID))
		}, "failed", []string{"task.canceled/canceled"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv := newReceiver(t)
			f := newFixture(t)
			f.fake.SetEventCallbackURL(rcv.url)
			fl := f.fake.Flows(testWS)
			ch, task := fl.Start(flextest.Channel{})
			if task.AssignmentStatus != "assigned" || !slices.Equal(rcv.types(), []string{"task.created/pending"}) {
				t.Fatalf("Start: task %s, callbacks %v", task.AssignmentStatus, rcv.types())
			}
			rcv.reset()
			tt.run(t, fl, ch, task)
			got, _ := f.fake.Channel(ch.InteractionSID, ch.SID)
			if got.Status != tt.wantChannel {
				t.Errorf("channel %s, want %s", got.Status, tt.wantChannel)
			}
			if ev := eventTypes(f.fake, 1); !slices.Equal(ev, tt.wantEvents) {
				t.Errorf("events %v, want %v", ev, tt.wantEvents)
			}
			if cb := rcv.types(); !slices.Equal(cb, tt.wantEvents) {
				t.Errorf("callbacks %v, want %v", cb, tt.wantEvents)
			}
			if live := liveTasks(f.fake, ch.SID); len(live) != tt.wantLive {
				t.Errorf("live tasks %v, want %d", live, tt.wantLive)
			}
			if n := f.fake.CloseCount(ch.SID); n != 0 {
				t.Errorf("CloseCount = %d: a Flex flow is not an API close", n)
			}
			for _, c := range f.fake.Callbacks() {
				if c.Status != http.StatusNoContent || c.Err != "" {
					t.Errorf("callback %s answered %d %s", c.Event.Type, c.Status, c.Err)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A flow that cannot happen in the current state changes nothing.
func TestFlowErrors(t *testing.T) {
	f := newFixture(t)
	fl := f.fake.Flows(testWS)
	ch, task := fl.Start(flextest.Channel{})
	n := len(f.fake.Events(testWS))
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"unknown task", fl.Leave(flextest.NewSID("WT")), flextest.ErrNotFound},
		{"unknown channel", fl.FailChannel(flextest.NewSID("KD"), flextest.NewSID("UO")), flextest.ErrNotFound},
		{"decline an assigned task", fl.DeclineInvite(task.SID), flextest.ErrInvalidStatus},
		{"workflow timeout of an assigned task", fl.WorkflowTimeout(task.SID), flextest.ErrInvalidStatus},
		{"unpark a channel with a live task", func() error { _, err := fl.Unpark(ch.InteractionSID, ch.SID); return err }(), flextest.ErrInvalidStatus},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	if got := len(f.fake.Events(testWS)); got != n {
		t.Errorf("failed flows emitted %d events", got-n)
	}
	// The customer writing to a conversation with an agent creates nothing.
	same, err := fl.CustomerMessage(ch.InteractionSID, ch.SID)
	if err != nil || same.SID != task.SID {
		t.Errorf("CustomerMessage on a live conversation = %+v, %v; want its task", same, err)
	}
	must(t, fl.AgentEndsChat(task.SID))
	if _, err := fl.CustomerMessage(ch.InteractionSID, ch.SID); !errors.Is(err, flextest.ErrInvalidStatus) {
		t.Errorf("CustomerMessage on a closed channel = %v, want ErrInvalidStatus", err)
	}
	if err := fl.Leave(task.SID); !errors.Is(err, flextest.ErrInvalidStatus) {
		t.Errorf("Leave on a closed channel = %v, want ErrInvalidStatus", err)
	}
}

// Closing a channel through the API emits what Flex emits for its tasks:
// completed (routing closed) or wrap-up, and canceled for a pending task.
func TestAPICloseEmitsEvents(t *testing.T) {
	rcv := newReceiver(t)
	f := newFixture(t)
	f.fake.SetEventCallbackURL(rcv.url)
	fl := f.fake.Flows(testWS)
	ch, _ := fl.Start(flextest.Channel{})
	_, err := fl.Transfer(mustTask(t, f.fake, ch.SID))
	must(t, err)
	n := len(f.fake.Events(testWS))
	if _, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", true)); err != nil {
		t.Fatal(err)
	}
	if got := eventTypes(f.fake, n); !slices.Equal(got, []string{"task.completed/completed"}) {
		t.Errorf("events of the close = %v", got)
	}
	// The callbacks of an API close are sent apart from its answer;
	// FlushCallbacks waits for them.
	f.fake.FlushCallbacks()
	if got := rcv.types(); len(got) != n+1 || got[n] != "task.completed/completed" {
		t.Errorf("callbacks = %v", got)
	}
}

func mustTask(t *testing.T, s *flextest.Server, uo string) string {
	t.Helper()
	live := liveTasks(s, uo)
	if len(live) != 1 {
		t.Fatalf("live tasks of %s: %v", uo, live)
	}
	sid, _, _ := strings.Cut(live[0], ":")
	return sid
}
