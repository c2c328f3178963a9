package channelclose

import (
	"context"
	"testing"

	"github.com/flexhook/flexhook/internal/flex"
)

const blocker = "WT1111111111abcdef0123456789abcdef"

// lookerAPI is fakeAPI that can also say what became of a task.
type lookerAPI struct {
	fakeAPI
	task     flex.Task
	taskErr  error
	events   []flex.Event // newest first
	eventErr error
	filters  []flex.EventFilter
}

func (f *lookerAPI) FetchTask(_ context.Context, _, wt string) (flex.Task, error) {
	t := f.task
	t.SID = wt
	return t, f.taskErr
}

func (f *lookerAPI) Events(_ context.Context, _ string, flt flex.EventFilter, visit func(flex.Event) error) error {
	f.filters = append(f.filters, flt)
	if f.eventErr != nil {
		return f.eventErr
	}
	for _, e := range f.events {
		if err := visit(e); err != nil {
			return err
		}
	}
	return nil
}

// A recheck looks at the task that blocked the previous run first: ended
// completed (Park, Leave, end of chat) makes the skip final; canceled,
// live or unknown lets the guard decide as on a first run.
func TestCloseRecheckLooksAtBlockingTask(t *testing.T) {
	notFound := &flex.Error{Status: 404, Err: flex.ErrNotFound}
	ev := func(typ string) flex.Event { return flex.Event{Type: typ, TaskSID: blocker} }
	job := Job{Source: SourceTaskRouter, WorkspaceSID: ws, TaskSID: wt, InteractionSID: kd, ChannelSID: uo,
		Status: "closed", Routing: true, Guard: true, Blocker: blocker}
	for _, tt := range []struct {
		name    string
		api     lookerAPI
		want    Outcome
		reason  string
		events  bool // the Events resource was read
		wantErr bool
	}{
		{"blocker completed (Park)", lookerAPI{task: flex.Task{AssignmentStatus: "completed"}}, SkippedLiveTask, BlockerCompleted, false, false},
		{"blocker canceled", lookerAPI{task: flex.Task{AssignmentStatus: "canceled"}}, Closed, "", false, false},
		{"blocker still live, nothing else", lookerAPI{task: flex.Task{AssignmentStatus: "assigned"}}, Closed, "", false, false},
		{"blocker still live and listed", lookerAPI{fakeAPI: fakeAPI{live: []flex.Task{{SID: blocker}}}, task: flex.Task{AssignmentStatus: "assigned"}}, SkippedLiveTask, "", false, false},
		{"blocker deleted, completed event", lookerAPI{taskErr: notFound, events: []flex.Event{ev("task.system-deleted"), ev("task.completed"), ev("task.wrapup")}}, SkippedLiveTask, BlockerCompleted, true, false},
		{"blocker deleted, canceled event", lookerAPI{taskErr: notFound, events: []flex.Event{ev("task.system-deleted"), ev("task.canceled")}}, Closed, "", true, false},
		{"blocker deleted, timed out", lookerAPI{taskErr: notFound, events: []flex.Event{ev("workflow.timeout")}}, Closed, "", true, false},
		{"blocker unknown", lookerAPI{taskErr: notFound, events: []flex.Event{{Type: "task.completed", TaskSID: wt}}}, Closed, "", true, false},
		{"task fetch fails", lookerAPI{taskErr: &flex.Error{Status: 503}}, "", "", false, true},
		{"events fail", lookerAPI{taskErr: notFound, eventErr: &flex.Error{Status: 503}}, "", "", true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api := tt.api
			api.res = flex.CloseResult{Status: "closed"}
			res, err := New(&api, Options{}).Close(context.Background(), job)
			if (err != nil) != tt.wantErr || res.Outcome != tt.want || res.Reason != tt.reason {
				t.Fatalf("Close = %+v, %v; want %q reason %q (error %v)", res, err, tt.want, tt.reason, tt.wantErr)
			}
			if tt.reason == BlockerCompleted && (res.LiveTaskSID != blocker || len(api.closes) != 0 || len(api.liveCalls) != 0) {
				t.Errorf("final skip: live task %s, closes %v, guard calls %v", res.LiveTaskSID, api.closes, api.liveCalls)
			}
			if tt.want == Closed && len(api.liveCalls) != 1 {
				t.Errorf("guard calls %v, want the guard run once before closing", api.liveCalls)
			}
			if (len(api.filters) > 0) != tt.events {
				t.Errorf("Events read %v, want %v", api.filters, tt.events)
			}
			for _, f := range api.filters {
				if f.TaskSID != blocker || f.Minutes != blockerRetention {
					t.Errorf("filter %+v, want the blocking task over 30 days", f)
				}
			}
		})
	}
	// The look comes first: a channel an agent closed is already_closed.
	api := lookerAPI{fakeAPI: fakeAPI{status: "closed"}, task: flex.Task{AssignmentStatus: "completed"}}
	if res, err := New(&api, Options{}).Close(context.Background(), job); err != nil || res.Outcome != AlreadyClosed || res.Reason != "" {
		t.Errorf("closed channel = %+v, %v; want already_closed", res, err)
	}
	// Without a blocker (a first run) or without a way to look, the guard
	// alone decides.
	plain := &fakeAPI{res: flex.CloseResult{Status: "closed"}}
	if res, err := New(plain, Options{}).Close(context.Background(), Job{Source: SourceTaskRouter, WorkspaceSID: ws, TaskSID: wt,
		InteractionSID: kd, ChannelSID: uo, Status: "closed", Guard: true, Blocker: blocker}); err != nil || res.Outcome != Closed || len(plain.liveCalls) != 1 {
		t.Errorf("no task looker = %+v, %v", res, err)
	}
}
