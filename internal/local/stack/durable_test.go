package stack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/apigateway"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
)

// workerBootstrap builds the worker once per test binary.
var workerBootstrap = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return emulator.Build(ctx, WorkerPackage, filepath.Join(buildDir, "worker"))
})

func startDurable(t *testing.T, o Options) (*System, *emulator.Output) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the functions under the Lambda emulator with goaws; skipped with -short")
	}
	bin, err := bootstrap()
	if err != nil {
		t.Fatalf("build the webhook: %v", err)
	}
	wbin, err := workerBootstrap()
	if err != nil {
		t.Fatalf("build the worker: %v", err)
	}
	logs := &emulator.Output{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o.Addr, o.Bootstrap, o.WorkerBootstrap, o.Logs, o.Durable = "127.0.0.1:0", bin, wbin, logs, true
	sys, err := Start(ctx, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sys.Close() })
	return sys, logs
}

// send sends req through the gateway and returns the answer's status and
// the gateway's request id.
func send(t *testing.T, ctx context.Context, req Request) (int, string) {
	t.Helper()
	hreq, err := req.HTTP(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get(apigateway.RequestIDHeader)
}

// Durable mode end to end: the demo's events are queued by the webhook and
// decided by the worker; during a Flex outage the jobs wait in the queue
// and drain once Twilio recovers; after the demo each request and each
// worker job prints a live line, and a duplicate is answered from the
// idempotency table without a second close.
func TestDurableSystem(t *testing.T) {
	sys, logs := startDurable(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	var banner bytes.Buffer
	if err := sys.Banner(&banner); err != nil {
		t.Fatal(err)
	}
	tableLine := "DynamoDB (dynalite)"
	if sys.durable.tableURL == "" {
		tableLine = "Idempotency table     none: dynalite is not installed"
	}
	for _, want := range []string{"durable mode", "SQS (goaws)", "flexhook-close.fifo", "flexhook-close-dlq.fifo", tableLine, "./functions/worker under its own emulator"} {
		if !strings.Contains(banner.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, banner.String())
		}
	}
	checkSAMEnv(t, sys)

	var out bytes.Buffer
	rep, err := sys.Demo(ctx, &out, DemoSteps())
	if err != nil {
		t.Fatalf("Demo: %v", err)
	}
	if !rep.OK() {
		t.Fatalf("demo not as expected:\n%s\nfunction output:\n%s", out.String(), logs)
	}
	for i, r := range rep.Results {
		queued := r.Observation.Summary != nil && r.Observation.Summary.Outcome == "queued"
		if queued != (r.Job != nil) {
			t.Errorf("step %d (%s): queued %v but job %+v", i+1, r.Step.Name, queued, r.Job)
		}
	}
	if got := rep.Results[4]; got.Status != http.StatusAccepted || got.Job == nil || got.Job.Job.Source != "crm" {
		t.Errorf("CRM step: %+v, want 202 and a crm job", got)
	}
	if !strings.Contains(out.String(), "WORKER DECISION (job log)") || !strings.Contains(out.String(), "skipped_live_task (WT…f103 live)") {
		t.Errorf("demo output:\n%s", out.String())
	}

	out.Reset()
	orep, err := sys.Outage(ctx, &out, 2)
	if err != nil {
		t.Fatalf("Outage: %v", err)
	}
	if !orep.OK() || orep.Accepted != 2 || orep.Depth != 2 || orep.Failures < 2 || orep.Closed != 2 {
		t.Fatalf("outage report %+v\n%s\nfunction output:\n%s", orep, out.String(), logs)
	}
	for _, want := range []string{"Twilio answers 503", "close queue depth: 2", "Twilio recovers", "2/2 channels closed, each exactly once"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("outage output lacks %q:\n%s", want, out.String())
		}
	}

	var live emulator.Output
	sys.Live(&live)
	req, err := TaskRouterExample(sys.URL())
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := send(t, ctx, req); status != http.StatusNoContent {
		t.Fatalf("banner TaskRouter request answered %d, want 204", status)
	}
	waitFor(t, "the worker's live line", func() bool { return strings.Contains(live.String(), "worker: task.canceled WT…f1a1: closed") })
	if l := live.String(); !strings.Contains(l, "POST /taskrouter → 204") || !strings.Contains(l, "queued, channel UO…f1a1") {
		t.Errorf("live lines = %q", l)
	}
	ch := PlaygroundChannel(1)
	if got, _ := sys.Twilio().Channel(ch.InteractionSID, ch.SID); got.Status != flextest.ChannelClosed || sys.Twilio().CloseCount(ch.SID) != 1 {
		t.Errorf("playground channel %s after %d closes, want closed once", got.Status, sys.Twilio().CloseCount(ch.SID))
	}

	// The same event again: with the table, the webhook answers it from
	// the recorded outcome; without, SQS deduplication or the idempotent
	// close absorbs it. Either way no second close.
	status, id := send(t, ctx, req)
	if status != http.StatusNoContent {
		t.Errorf("duplicate answered %d, want 204", status)
	}
	obs, ok := sys.Observation(ctx, id)
	if !ok || obs.Summary == nil {
		t.Fatalf("duplicate not observed")
	}
	if sys.durable.tableURL != "" && obs.Summary.Outcome != "closed" {
		t.Errorf("duplicate outcome %s, want closed (replayed from the table)", obs.Summary.Outcome)
	}
	if n := sys.Twilio().CloseCount(ch.SID); n != 1 {
		t.Errorf("the duplicate closed the channel again: %d closes", n)
	}
	sys.Live(nil)
	if strings.Contains(logs.String(), samples.AuthToken) {
		t.Errorf("function output contains the auth token")
	}
	if err := sys.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// Without the table (--no-table, or no dynalite) durable mode still runs
// the demo; the banner says there is no table.
func TestDurableWithoutTable(t *testing.T) {
	sys, logs := startDurable(t, Options{NoTable: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var banner bytes.Buffer
	if err := sys.Banner(&banner); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(banner.String(), "Idempotency table     none (--no-table)") {
		t.Errorf("banner does not say there is no table:\n%s", banner.String())
	}
	var out bytes.Buffer
	if rep, err := sys.Demo(ctx, &out, DemoSteps()); err != nil || !rep.OK() {
		t.Fatalf("Demo = %v\n%s\nfunction output:\n%s", err, out.String(), logs)
	}
}

func TestOutageNeedsDurable(t *testing.T) {
	var s System
	if _, err := s.Outage(context.Background(), io.Discard, 1); !errors.Is(err, ErrNotDurable) {
		t.Errorf("Outage in sync mode = %v, want ErrNotDurable", err)
	}
}

// A bad override fails Start before anything is built, naming the
// variable, also when only the worker reads it.
func TestStartBadWorkerEnv(t *testing.T) {
	_, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", Durable: true, Env: []string{"WORKER_RETRY_BASE=soon"}, Bootstrap: "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "WORKER_RETRY_BASE") {
		t.Errorf("Start with WORKER_RETRY_BASE=soon = %v, want an error naming it", err)
	}
}

// waitFor polls cond until it holds, failing t after a bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for limit := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(limit) {
			t.Fatalf("%s: not within 30s", what)
		}
	}
}

// The tap records each request, with its status, by the time the function
// has its answer, and keeps it apart from other taps of the simulator.
func TestTwilioTap(t *testing.T) {
	sim := flextest.New(flextest.Options{AccountSID: samples.AccountSID, Credentials: map[string]string{samples.AccountSID: samples.AuthToken}})
	ch := sim.AddChannel(flextest.Channel{})
	a, b := &twilioTap{sim: sim}, &twilioTap{sim: sim}
	srvA, srvB := httptest.NewServer(a), httptest.NewServer(b)
	defer srvA.Close()
	defer srvB.Close()
	get := func(base, path string) int {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.SetBasicAuth(samples.AccountSID, samples.AuthToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	path := "/v1/Interactions/" + ch.InteractionSID + "/Channels/" + ch.SID
	if got := a.requests(); got == nil || len(got) != 0 {
		t.Errorf("requests() before any = %#v, want empty, not nil", got)
	}
	get(srvA.URL, path)
	get(srvA.URL, "/v1/Nope")
	get(srvB.URL, path)
	got := a.requests()
	if len(got) != 2 || got[0].Path != path || got[0].Status != http.StatusOK || got[1].Status != http.StatusNotFound {
		t.Errorf("tap A recorded %+v, want its two requests with their statuses", got)
	}
	if n := len(b.requests()); n != 1 {
		t.Errorf("tap B recorded %d requests, want its own 1", n)
	}
	a.reset()
	if n := len(a.requests()); n != 0 {
		t.Errorf("after reset tap A holds %d requests", n)
	}
}

func TestCallsForAndFormatJob(t *testing.T) {
	calls := []flextest.Request{
		{Method: "GET", Path: "/v1/Workspaces/WS1/Tasks", Query: url.Values{"EvaluateTaskAttributes": {`flexInteractionChannelSid == "UO1"`}}, Status: 200},
		{Method: "GET", Path: "/v1/Workspaces/WS1/Tasks", Query: url.Values{"EvaluateTaskAttributes": {`flexInteractionChannelSid == "UO2"`}}, Status: 200},
		{Method: "POST", Path: "/v1/Interactions/KD1/Channels/UO1", Status: 503},
	}
	if got := callsFor(calls, "UO1"); len(got) != 2 || got[1].Method != "POST" {
		t.Errorf("callsFor(UO1) = %+v, want the task list filtered on it and its POST", got)
	}
	o := JobObservation{Job: Job{Outcome: "failed_transient", Retry: true, RetryInS: 1, EventType: "task.completed", TaskSID: "WT0000000000000000000000000000f1a1",
		ChannelSID: "UO0000000000000000000000000000f1a1", QueueAgeS: 2.25, Error: "twilio 503"}, FlexCalls: callsFor(calls, "UO1")}
	line := formatJob(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC), o)
	for _, want := range []string{"07:08:09 worker: task.completed WT…f1a1: failed_transient (retry in 1s), channel UO…f1a1, queued 2.2s", "error: twilio 503", "Twilio: GET tasks, POST channel (503)"} {
		if !strings.Contains(line, want) {
			t.Errorf("formatJob = %q, want it to contain %q", line, want)
		}
	}
	if (Job{Outcome: "closed"}).Final() != true || (Job{Outcome: "failed_transient", Retry: true}).Final() {
		t.Errorf("Final: a deleted record is final, a retried one is not")
	}
}
