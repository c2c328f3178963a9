package channelclose

import (
	"context"
	"errors"
	"testing"

	"github.com/flexhook/flexhook/internal/flex"
)

const (
	kd = "KD0123456789abcdef0123456789abcdef"
	uo = "UO0123456789abcdef0123456789abcdef"
	ws = "WS0123456789abcdef0123456789abcdef"
	wt = "WT0123456789abcdef0123456789abcdef"
)

// fakeAPI scripts the Twilio adapter's answers and records the calls.
type fakeAPI struct {
	status    string // the channel's status; "" means active
	fetchErr  error
	fetches   int
	live      []flex.Task
	liveErr   error
	res       flex.CloseResult
	closeErr  error
	liveCalls []string // exclude arguments
	closes    []string // status/routing
}

func (f *fakeAPI) LiveTasks(_ context.Context, _, _, exclude string) ([]flex.Task, error) {
	f.liveCalls = append(f.liveCalls, exclude)
	return f.live, f.liveErr
}

func (f *fakeAPI) FetchChannelCounted(_ context.Context, ch flex.ChannelRef) (flex.Channel, int, error) {
	f.fetches++
	if f.fetchErr != nil {
		return flex.Channel{}, 1, f.fetchErr
	}
	st := f.status
	if st == "" {
		st = flex.StatusActive
	}
	return flex.Channel{InteractionSID: ch.InteractionSID, SID: ch.ChannelSID, Status: st}, 1, nil
}

func (f *fakeAPI) CloseChannel(_ context.Context, _ flex.ChannelRef, status string, routing bool) (flex.CloseResult, error) {
	r := "norouting"
	if routing {
		r = "routing"
	}
	f.closes = append(f.closes, status+"/"+r)
	return f.res, f.closeErr
}

func TestClose(t *testing.T) {
	job := Job{Source: "taskrouter", WorkspaceSID: ws, TaskSID: wt, InteractionSID: kd, ChannelSID: uo, Status: "closed", Routing: true, Guard: true}
	notFound := &flex.Error{Status: 404}
	tests := []struct {
		name     string
		api      fakeAPI
		job      Job
		want     Outcome
		wantErr  bool
		closes   int
		liveLook int
	}{
		{"closes", fakeAPI{res: flex.CloseResult{Status: "closed", Attempts: 1}}, job, Closed, false, 1, 1},
		{"closed between look and update", fakeAPI{res: flex.CloseResult{Status: "closed", AlreadyClosed: true}}, job, AlreadyClosed, false, 1, 1},
		{"already closed", fakeAPI{status: "closed"}, job, AlreadyClosed, false, 0, 0},
		{"inactive (Leave)", fakeAPI{status: "inactive"}, job, AlreadyClosed, false, 0, 0},
		{"failed channel", fakeAPI{status: "failed"}, job, NotClosable, false, 0, 0},
		{"channel in setup", fakeAPI{status: "setup"}, job, SkippedChannelState, false, 0, 0},
		{"channel gone", fakeAPI{fetchErr: notFound}, job, NotFound, false, 0, 0},
		{"fetch fails", fakeAPI{fetchErr: &flex.Error{Status: 503}}, job, "", true, 0, 0},
		{"live task blocks", fakeAPI{live: []flex.Task{{SID: "WT1"}}}, job, SkippedLiveTask, false, 0, 1},
		{"no guard", fakeAPI{live: []flex.Task{{SID: "WT1"}}, res: flex.CloseResult{Status: "closed"}}, Job{InteractionSID: kd, ChannelSID: uo, Status: "closed"}, Closed, false, 1, 0},
		{"gone", fakeAPI{closeErr: notFound}, job, NotFound, false, 1, 1},
		{"guard fails", fakeAPI{liveErr: errors.New("boom")}, job, "", true, 0, 1},
		{"close fails", fakeAPI{closeErr: errors.New("boom")}, job, "", true, 1, 1},
		{"guard without workspace", fakeAPI{}, Job{InteractionSID: kd, ChannelSID: uo, Status: "closed", Guard: true}, "", true, 0, 0},
		{"bad SIDs", fakeAPI{}, Job{InteractionSID: uo, ChannelSID: kd, Status: "closed"}, "", true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := tt.api
			res, err := New(&api, Options{}).Close(context.Background(), tt.job)
			if (err != nil) != tt.wantErr || res.Outcome != tt.want {
				t.Errorf("Close = %+v, %v; want %q, error %v", res, err, tt.want, tt.wantErr)
			}
			if api.fetches != 1 && !tt.wantErr {
				t.Errorf("channel fetched %d times, want once", api.fetches)
			}
			if len(api.closes) != tt.closes || len(api.liveCalls) != tt.liveLook {
				t.Errorf("calls: %d closes, %d live look-ups; want %d, %d", len(api.closes), len(api.liveCalls), tt.closes, tt.liveLook)
			}
			if len(api.liveCalls) > 0 && api.liveCalls[0] != tt.job.TaskSID {
				t.Errorf("live look-up excluded %q, want the job's task", api.liveCalls[0])
			}
		})
	}
}

func TestDryRun(t *testing.T) {
	api := &fakeAPI{}
	job := Job{WorkspaceSID: ws, TaskSID: wt, InteractionSID: kd, ChannelSID: uo, Status: "inactive", Guard: true}
	res, err := New(api, Options{DryRun: true}).Close(context.Background(), job)
	if err != nil || res.Outcome != DryRun || len(api.closes) != 0 || api.fetches != 1 {
		t.Fatalf("dry run = %+v, %v after %d closes; want dry_run and no close", res, err, len(api.closes))
	}
	want := "UpdateInteractionChannel " + kd + "/" + uo + ` Status=inactive Routing={"status":"closed"}`
	if res.Request != want {
		t.Errorf("Request = %q, want %q", res.Request, want)
	}
	if len(api.liveCalls) != 1 {
		t.Errorf("dry run skipped the live-task look-up")
	}
	api.live = []flex.Task{{SID: "WT1"}}
	if res, _ := New(api, Options{DryRun: true}).Close(context.Background(), job); res.Outcome != SkippedLiveTask {
		t.Errorf("dry run with a live task = %s, want skipped_live_task", res.Outcome)
	}
	closed := Job{InteractionSID: kd, ChannelSID: uo, Status: "closed"}
	if got := closed.Request(); got != "UpdateInteractionChannel "+kd+"/"+uo+" Status=closed" {
		t.Errorf("Request without routing = %q", got)
	}
}

// TestCloseChannelStates runs each source against each channel status and
// compares with the rules of issue 9, written out here.
func TestCloseChannelStates(t *testing.T) {
	for _, source := range []string{SourceTaskRouter, SourceSweeper, SourceCRM, ""} {
		for _, asked := range []string{"closed", "inactive"} {
			for _, st := range []string{"active", "inactive", "closed", "failed", "setup", "paused"} {
				crm := source == SourceCRM
				var want Outcome
				switch {
				case st == "active", crm && st == "inactive" && asked == "closed":
					want = Closed
				case st == "closed", st == "inactive":
					want = AlreadyClosed
				case st == "failed":
					want = NotClosable
				default:
					want = SkippedChannelState
				}
				api := &fakeAPI{status: st, res: flex.CloseResult{Status: asked, Attempts: 2}}
				job := Job{Source: source, InteractionSID: kd, ChannelSID: uo, Status: asked, Routing: true}
				res, err := New(api, Options{}).Close(context.Background(), job)
				if err != nil || res.Outcome != want {
					t.Errorf("Close(source %q, asking %s, channel %s) = %+v, %v; want %s", source, asked, st, res, err, want)
					continue
				}
				if sent := len(api.closes) == 1; sent != (want == Closed) {
					t.Errorf("Close(source %q, asking %s, channel %s) sent %d updates", source, asked, st, len(api.closes))
				}
				wantAttempts := 1
				if want == Closed {
					wantAttempts = 3
				}
				if res.Attempts != wantAttempts {
					t.Errorf("Close(source %q, asking %s, channel %s).Attempts = %d, want %d (fetch counted)", source, asked, st, res.Attempts, wantAttempts)
				}
				if want != Closed && res.ChannelStatus != st {
					t.Errorf("Close(source %q, channel %s).ChannelStatus = %q, want it recorded", source, st, res.ChannelStatus)
				}
			}
		}
	}
}

// TestCloseOrder checks that the channel is looked at before the live-task
// guard: a closed channel costs no task look-up.
func TestCloseOrder(t *testing.T) {
	api := &fakeAPI{status: "inactive", live: []flex.Task{{SID: "WT1"}}}
	job := Job{Source: SourceTaskRouter, WorkspaceSID: ws, TaskSID: wt, InteractionSID: kd, ChannelSID: uo, Status: "closed", Routing: true, Guard: true}
	res, err := New(api, Options{}).Close(context.Background(), job)
	if err != nil || res.Outcome != AlreadyClosed || len(api.liveCalls) != 0 {
		t.Errorf("Close(inactive channel with a live task) = %+v, %v after %d look-ups; want already_closed without a look-up", res, err, len(api.liveCalls))
	}
}
