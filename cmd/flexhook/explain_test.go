package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/cmd/flexhook/preview"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/local/stack"
)

// writeSample writes the named sample event to a temporary file.
func writeSample(t *testing.T, name string) string {
	t.Helper()
	for _, s := range samples.All() {
		if s.Name == name {
			b, err := s.Event()
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), name+".json")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}
	}
	t.Fatalf("no sample %q", name)
	return ""
}

func TestExplainCommand(t *testing.T) {
	tests := []struct {
		name     string
		sample   string
		env      map[string]string
		args     []string
		wantCode int
		want     []string // substrings of stdout
	}{
		{name: "close, verified", sample: "taskrouter-task-canceled", args: []string{"--local"}, wantCode: exitOK,
			want: []string{"auth:       verified", "decision:   close", "request:    UpdateInteractionChannel KD0000000000000000000000000000f101/UO0000000000000000000000000000f101 Status=closed Routing={\"status\":\"closed\"}"}},
		{name: "transfer: the live-task look-up is described", sample: "taskrouter-task-completed-transferred", args: []string{"--local"}, wantCode: exitOK,
			env:  map[string]string{"TASKROUTER_CLOSE_EVENTS": "task.canceled,task.completed"},
			want: []string{"decision:   close", "table row:  task.completed × task completed → close (close_event)", "skipped_live_task"}},
		{name: "task.completed is opt-in", sample: "taskrouter-task-completed", args: []string{"--local"}, wantCode: exitOK,
			want: []string{"decision:   ignore — 204: event_not_configured", "table row:  a type not in TASKROUTER_CLOSE_EVENTS"}},
		{name: "an unknown close event fails the configuration", sample: "taskrouter-task-canceled", env: map[string]string{"TASKROUTER_CLOSE_EVENTS": "task.wrapup"}, wantCode: exitUsage},
		{name: "not a Flex task", sample: "taskrouter-non-flex-task", args: []string{"--local"}, wantCode: exitOK,
			want: []string{"decision:   ignore"}},
		{name: "bad signature", sample: "taskrouter-bad-signature", args: []string{"--local"}, wantCode: exitFailure,
			want: []string{"auth:       failed", "decision:   reject — 403"}},
		{name: "bad signature, not checked without credentials", sample: "taskrouter-bad-signature", wantCode: exitOK,
			want: []string{"not checked", "decision:   close"}},
		{name: "wrong token given", sample: "taskrouter-task-canceled", args: []string{"--token", "someothertoken00000000000000000"}, wantCode: exitFailure,
			want: []string{"decision:   reject"}},
		{name: "rotation: any of the tokens", sample: "taskrouter-task-canceled", args: []string{"--token", "someothertoken00000000000000000", "--token", samples.AuthToken}, wantCode: exitOK,
			want: []string{"verified"}},
		{name: "wrong account", sample: "taskrouter-task-canceled", args: []string{"--account", "AC00000000000000000000000000000001"}, wantCode: exitFailure,
			want: []string{"403: event is for account"}},
		{name: "inactive from the environment", sample: "taskrouter-task-canceled", env: map[string]string{"CLOSE_STATUS": "inactive"}, wantCode: exitOK,
			want: []string{"Status=inactive Routing={\"status\":\"closed\"}"}},
		{name: "event type not in the close events", sample: "taskrouter-task-canceled", env: map[string]string{"TASKROUTER_CLOSE_EVENTS": "task.completed"}, wantCode: exitOK,
			want: []string{"decision:   ignore"}},
		{name: "dry run", sample: "taskrouter-task-canceled", env: map[string]string{"DRY_RUN": "true"}, wantCode: exitOK,
			want: []string{"not sent: DRY_RUN=true"}},
		{name: "durable mode", sample: "taskrouter-task-canceled", env: map[string]string{"CLOSE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo"}, wantCode: exitOK,
			want: []string{"by the worker, after the job is queued"}},
		{name: "CRM, verified", sample: "crm-close", args: []string{"--local"}, wantCode: exitOK,
			want: []string{"auth:       verified", "the CRM names channel UO0000000000000000000000000000f104"}},
		{name: "CRM, wrong bearer token", sample: "crm-close", args: []string{"--crm-token", "not-the-crm-token-0000000000000001"}, wantCode: exitFailure,
			want: []string{"401"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"explain", writeSample(t, tt.sample)}, tt.args...)
			code, stdout, stderr := cli(t, "", tt.env, args...)
			if code != tt.wantCode {
				t.Errorf("flexhook %q exited %d, want %d\nstdout: %s\nstderr: %s", args, code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("flexhook %q output lacks %q:\n%s", args, w, stdout)
				}
			}
		})
	}
}

func TestExplainJSONAndAge(t *testing.T) {
	// The samples carry no timestamp; an event signed with one is judged at
	// --at, so an old event file explains as the webhook saw it then.
	req, err := taskRouterEventWithTime(time.Date(2026, 5, 6, 7, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "ev.json")
	if err := os.WriteFile(p, req, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, "", nil, "explain", "--local", "--json", "--at", "2026-05-06T07:10:00Z", p)
	var rep preview.Report
	if code != exitOK || json.Unmarshal([]byte(stdout), &rep) != nil || rep.Decision != "close" {
		t.Fatalf("explain --at 10 minutes later exited %d: %s %s", code, stdout, stderr)
	}
	code, stdout, _ = cli(t, "", nil, "explain", "--local", "--at", "2026-05-06T07:20:00Z", p)
	if code != exitFailure || !strings.Contains(stdout, "replay window") && !strings.Contains(stdout, "too old") {
		t.Errorf("explain --at 20 minutes later exited %d, want 1 (outside TASKROUTER_MAX_EVENT_AGE):\n%s", code, stdout)
	}
	code, _, _ = cli(t, "", map[string]string{"TASKROUTER_MAX_EVENT_AGE": "30m"}, "explain", "--local", "--at", "2026-05-06T07:20:00Z", p)
	if code != exitOK {
		t.Errorf("explain with TASKROUTER_MAX_EVENT_AGE=30m exited %d, want 0", code)
	}
}

func TestExplainUsage(t *testing.T) {
	ev := writeSample(t, "taskrouter-task-canceled")
	notJSON := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(notJSON, []byte("nope"), 0o600)
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		wantStderr string
	}{
		{name: "no file", args: []string{"explain"}, wantStderr: "want exactly one EVENT"},
		{name: "two files", args: []string{"explain", ev, ev}, wantStderr: "want exactly one EVENT"},
		{name: "missing file", args: []string{"explain", "/nonexistent/ev.json"}, wantStderr: "no such file"},
		{name: "not JSON", args: []string{"explain", notJSON}, wantStderr: "is not JSON"},
		{name: "bad --at", args: []string{"explain", "--at", "yesterday", ev}, wantStderr: "--at"},
		{name: "malformed CRM token", args: []string{"explain", "--crm-token", "short", ev}, wantStderr: "--crm-token"},
		{name: "bad environment", env: map[string]string{"CLOSE_STATUS": "deleted"}, args: []string{"explain", ev}, wantStderr: "CLOSE_STATUS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, "", tt.env, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("flexhook %q exited %d, stderr %q; want %d mentioning %q", tt.args, code, stderr, exitUsage, tt.wantStderr)
			}
		})
	}
}

// taskRouterEventWithTime is the first sample channel's task.canceled event
// with TimestampMs at, signed for the samples' host.
func taskRouterEventWithTime(at time.Time) ([]byte, error) {
	form := samples.TaskRouterForm("task.canceled", samples.Channels()[0].Tasks[0])
	form.Set("TimestampMs", strconv.FormatInt(at.UnixMilli(), 10))
	req, err := stack.TaskRouterRequest("https://"+samples.Host+"/taskrouter", samples.AuthToken, form)
	if err != nil {
		return nil, err
	}
	return req.Event(gatewaytest.EventOptions{Time: at})
}
