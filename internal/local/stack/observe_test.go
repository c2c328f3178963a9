package stack

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/apigateway"
	"github.com/flexhook/flexhook/internal/local/samples"
)

// The tap finds summary lines however the output is split, forwards
// everything, and ignores other lines.
func TestLogTap(t *testing.T) {
	out := strings.Join([]string{
		"START RequestId: r1 Version: $LATEST",
		`{"timestamp":"t","level":"INFO","message":"cold start","requestId":"r1"}`,
		`{"timestamp":"t","level":"INFO","message":"request","route":"/taskrouter","outcome":"closed","status":204,"event_type":"task.canceled","channel_sid":"UO1","attempts":1,"requestId":"r1"}`,
		`{"message":"request","outcome":"ignored","reason":"not_flex_task","status":204}`, // no request id
		`not json "request"`,
		`{"message":"request","outcome":"rejected_auth","status":403,"error":"bad","requestId":"r2"}`,
		"END RequestId: r2",
		"",
	}, "\n")
	for _, chunk := range []int{1, 7, 64, len(out)} {
		t.Run(fmt.Sprintf("chunks of %d", chunk), func(t *testing.T) {
			var fwd bytes.Buffer
			tap := newLogTap(&fwd)
			for i := 0; i < len(out); i += chunk {
				n, err := tap.Write([]byte(out[i:min(i+chunk, len(out))]))
				if err != nil || n != min(chunk, len(out)-i) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if fwd.String() != out {
				t.Errorf("forwarded %q, want everything", fwd.String())
			}
			s1, ok := tap.summaries.get("r1")
			want := Summary{RequestID: "r1", Route: "/taskrouter", Outcome: "closed", Status: 204, EventType: "task.canceled", ChannelSID: "UO1", Attempts: 1}
			if !ok || s1 != want {
				t.Errorf("summary r1 = %+v (%v), want %+v", s1, ok, want)
			}
			if s2, ok := tap.summaries.get("r2"); !ok || s2.Outcome != "rejected_auth" || s2.Error != "bad" {
				t.Errorf("summary r2 = %+v (%v)", s2, ok)
			}
			if n := len(tap.summaries.items); n != 2 {
				t.Errorf("kept %d summaries, want 2", n)
			}
		})
	}
}

// A line longer than maxLine is dropped without breaking the next one.
func TestLogTapLongLine(t *testing.T) {
	tap := newLogTap(nil)
	tap.Write(bytes.Repeat([]byte("x"), maxLine+10))
	tap.Write([]byte("\n" + `{"message":"request","outcome":"closed","requestId":"r9"}` + "\n"))
	if _, ok := tap.summaries.get("r9"); !ok {
		t.Errorf("summary after a long line was lost")
	}
}

func TestRecent(t *testing.T) {
	r := newRecent[int]()
	for i := 0; i < keep+10; i++ {
		r.put(fmt.Sprint(i), i)
	}
	if _, ok := r.get("0"); ok {
		t.Errorf("oldest entry kept beyond %d", keep)
	}
	if v, ok := r.get(fmt.Sprint(keep + 9)); !ok || v != keep+9 {
		t.Errorf("newest entry = %d, %v", v, ok)
	}
	if len(r.items) != keep || len(r.order) != keep {
		t.Errorf("holds %d items, %d ids, want %d", len(r.items), len(r.order), keep)
	}

	// wait returns a value put later, and gives up when ctx ends.
	got := make(chan int)
	go func() {
		v, _ := r.wait(context.Background(), "later")
		got <- v
	}()
	r.put("later", 42)
	if v := <-got; v != 42 {
		t.Errorf("wait = %d, want 42", v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := r.wait(ctx, "never"); ok {
		t.Errorf("wait for a missing id with a done context reported success")
	}
}

func TestCheck(t *testing.T) {
	closed := &Summary{Outcome: "closed"}
	call := []flextest.Request{{Method: "POST", Path: "/v1/Interactions/KD1/Channels/UO1", Status: 200}}
	want := Expect{Status: 204, Outcome: "closed", Channel: "closed"}
	queuedSum := &Summary{Outcome: "queued", ChannelSID: "UO1"}
	job := func(outcome, err string) *JobObservation {
		return &JobObservation{Job: Job{Outcome: outcome, ChannelSID: "UO1", Error: err}, FlexCalls: call}
	}
	tests := []struct {
		name    string
		durable bool
		want    Expect
		got     StepResult
		msgs    []string // substrings of the expected problems, in order
	}{
		{name: "durable: queued, then closed by the worker", durable: true, want: want,
			got: StepResult{Status: 204, After: "closed", Observed: true, Observation: Observation{Summary: queuedSum}, Job: job("closed", "")}},
		{name: "durable: a CRM callback is accepted with 202", durable: true, want: Expect{Status: 200, QueuedStatus: 202, Outcome: "closed"},
			got: StepResult{Status: 202, Observed: true, Observation: Observation{Summary: queuedSum}, Job: job("closed", "")}},
		{name: "durable: 200 where 202 is due", durable: true, want: Expect{Status: 200, QueuedStatus: 202, Outcome: "closed"},
			got:  StepResult{Status: 200, Observed: true, Observation: Observation{Summary: queuedSum}, Job: job("closed", "")},
			msgs: []string{"HTTP 200, want 202"}},
		{name: "durable: closed inline instead of queued", durable: true, want: want,
			got:  StepResult{Status: 204, After: "closed", Observed: true, Observation: Observation{Summary: closed}},
			msgs: []string{"outcome closed, want queued"}},
		{name: "durable: the worker never finished the job", durable: true, want: want,
			got:  StepResult{Status: 204, After: "active", Observed: true, Observation: Observation{Summary: queuedSum}},
			msgs: []string{"no final job line from the worker", "channel active"}},
		{name: "durable: the worker decided otherwise", durable: true, want: want,
			got:  StepResult{Status: 204, After: "active", Observed: true, Observation: Observation{Summary: queuedSum}, Job: job("failed_permanent", "refused")},
			msgs: []string{"worker outcome failed_permanent, want closed (refused)", "channel active"}},
		{name: "durable: an ignored event is not queued", durable: true, want: Expect{Status: 204, Outcome: "ignored", NoFlexCalls: true},
			got: StepResult{Status: 204, Observed: true, Observation: Observation{Summary: &Summary{Outcome: "ignored"}}}},
		{name: "durable: the worker's Twilio calls count", durable: true, want: Expect{Status: 204, Outcome: "closed", NoFlexCalls: true},
			got:  StepResult{Status: 204, Observed: true, Observation: Observation{Summary: queuedSum}, Job: job("closed", "")},
			msgs: []string{"1 Twilio calls (POST channel), want none"}},
		{name: "as expected", want: want, got: StepResult{Status: 204, After: "closed", Observed: true, Observation: Observation{Summary: closed}}},
		{name: "wrong status", want: want, got: StepResult{Status: 503, After: "closed", Observed: true, Observation: Observation{Summary: closed}},
			msgs: []string{"HTTP 503, want 204"}},
		{name: "wrong outcome", want: want, got: StepResult{Status: 204, After: "closed", Observed: true,
			Observation: Observation{Summary: &Summary{Outcome: "failed_transient", Error: "twilio 503"}}},
			msgs: []string{"outcome failed_transient, want closed (twilio 503)"}},
		{name: "no summary", want: want, got: StepResult{Status: 204, After: "closed", Observed: true},
			msgs: []string{"no summary log line"}},
		{name: "channel left open", want: want, got: StepResult{Status: 204, After: "active", Observed: true, Observation: Observation{Summary: closed}},
			msgs: []string{"channel active after the event, want closed"}},
		{name: "unexpected Twilio call", want: Expect{Status: 403, Outcome: "rejected_auth", NoFlexCalls: true},
			got:  StepResult{Status: 403, Observed: true, Observation: Observation{Summary: &Summary{Outcome: "rejected_auth"}, FlexCalls: call}},
			msgs: []string{"1 Twilio calls (POST channel), want none"}},
		{name: "nothing answered", want: want, got: StepResult{After: "active"},
			msgs: []string{"HTTP 0, want 204", "no summary", "channel active"}},
	}
	for _, tt := range tests {
		got := check(tt.want, tt.got, tt.durable)
		if len(got) != len(tt.msgs) {
			t.Errorf("%s: check = %q, want %d problems", tt.name, got, len(tt.msgs))
			continue
		}
		for i, m := range tt.msgs {
			if !strings.Contains(got[i], m) {
				t.Errorf("%s: problem %q, want it to say %q", tt.name, got[i], m)
			}
		}
	}
}

func TestFormatting(t *testing.T) {
	calls := []flextest.Request{
		{Method: "GET", Path: "/v1/Workspaces/WS1/Tasks", Status: 200},
		{Method: "GET", Path: "/v1/Workspaces/WS1/Tasks/WT1", Status: 200},
		{Method: "POST", Path: "/v1/Interactions/KD1/Channels/UO1", Status: 429},
		{Method: "GET", Path: "/v2/Other", Status: 404},
	}
	if got, want := flexCalls(calls), "GET tasks, GET task, POST channel (429), GET /v2/Other (404)"; got != want {
		t.Errorf("flexCalls = %q, want %q", got, want)
	}
	if got := flexCalls(nil); got != "none" {
		t.Errorf("flexCalls(nil) = %q, want none", got)
	}
	decisions := []struct {
		o    Observation
		want string
	}{
		{Observation{Summary: &Summary{Outcome: "closed"}}, "closed"},
		{Observation{Summary: &Summary{Outcome: "skipped_live_task", LiveTaskSID: "WT0000000000000000000000000000f103"}}, "skipped_live_task (WT…f103 live)"},
		{Observation{Summary: &Summary{Outcome: "ignored", Reason: "not_flex_task"}}, "ignored (not_flex_task)"},
		{Observation{Exchange: apigateway.Exchange{Err: fmt.Errorf("wrapped: %w", apigateway.ErrTimeout)}}, "no decision: integration timed out"},
		{Observation{}, "-"},
	}
	for _, d := range decisions {
		if got := decision(d.o); got != d.want {
			t.Errorf("decision(%+v) = %q, want %q", d.o.Summary, got, d.want)
		}
	}
	latencies := []struct {
		d    time.Duration
		want string
	}{{0, "0ms"}, {41 * time.Millisecond, "41ms"}, {1234 * time.Millisecond, "1.2s"}}
	for _, l := range latencies {
		if got := formatLatency(l.d); got != l.want {
			t.Errorf("formatLatency(%v) = %q, want %q", l.d, got, l.want)
		}
	}
	if got := shortSID("UO0000000000000000000000000000f1a1"); got != "UO…f1a1" {
		t.Errorf("shortSID = %q", got)
	}

	live := formatLive(Observation{
		Exchange:  apigateway.Exchange{Method: "POST", Path: "/taskrouter", Status: 204, Invoked: true, Start: time.Date(2026, 1, 1, 9, 30, 5, 0, time.UTC), Duration: 3 * time.Millisecond},
		Summary:   &Summary{Outcome: "closed", EventType: "task.completed", TaskSID: "WT0000000000000000000000000000f1a1", ChannelSID: "UO0000000000000000000000000000f1a1"},
		FlexCalls: calls[:1],
	})
	if want := "09:30:05 POST /taskrouter → 204 (3ms) task.completed WT…f1a1: closed, channel UO…f1a1; Twilio: GET tasks"; live != want {
		t.Errorf("formatLive =\n%s\nwant\n%s", live, want)
	}
	refused := formatLive(Observation{Exchange: apigateway.Exchange{Method: "GET", Path: "/x", Status: 404, Err: apigateway.ErrNoRoute}})
	if !strings.Contains(refused, "GET /x → 404") || !strings.Contains(refused, apigateway.ErrNoRoute.Error()) {
		t.Errorf("formatLive of a refused request = %q", refused)
	}

	step := formatStep(2, StepResult{
		Step:   Step{Name: "task.completed, transfer still live", Channel: &samples.Channel{}},
		Status: http.StatusNoContent, Before: "active", After: "active", Observed: true, Latency: 5 * time.Millisecond,
		Observation: Observation{Summary: &Summary{Outcome: "skipped_live_task", LiveTaskSID: "WT0000000000000000000000000000f103"}, FlexCalls: calls[:1]},
	}, false)
	for _, want := range []string{"ok    2 task.completed, transfer still live", "skipped_live_task (WT…f103 live)", "GET tasks", "active → active", "204", "5ms"} {
		if !strings.Contains(step, want) {
			t.Errorf("formatStep = %q, want it to contain %q", step, want)
		}
	}
	failed := formatStep(1, StepResult{Step: Step{Name: "x"}, Problems: []string{"p"}}, false)
	if !strings.HasPrefix(failed, "FAIL") {
		t.Errorf("formatStep of a failed step = %q, want FAIL first", failed)
	}
}

func TestReport(t *testing.T) {
	r := Report{Results: []StepResult{{}, {Problems: []string{"a", "b"}}, {}}}
	if r.OK() || r.Failed() != 1 {
		t.Errorf("Report with one failed step: OK %v, Failed %d", r.OK(), r.Failed())
	}
	if !(Report{Results: []StepResult{{}}}).OK() {
		t.Errorf("Report without problems is not OK")
	}
}
