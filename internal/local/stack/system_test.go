package stack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/apigateway"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
)

// buildDir holds the function binary the tests build; TestMain removes it.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "flexhook-localrun-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// bootstrap builds the function once per test binary.
var bootstrap = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return emulator.Build(ctx, FunctionPackage, buildDir)
})

func startSystem(t *testing.T) (*System, *emulator.Output) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the function under the Lambda emulator; skipped with -short")
	}
	bin, err := bootstrap()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	logs := &emulator.Output{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sys, err := Start(ctx, Options{Addr: "127.0.0.1:0", Bootstrap: bin, Logs: logs})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sys.Close() })
	return sys, logs
}

// The demo passes against the real function, then fails, step by step, when
// Twilio refuses every close; the banner's curl commands work; requests
// after the demo are printed live; Close frees the gateway's port.
func TestSystem(t *testing.T) {
	sys, logs := startSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var banner bytes.Buffer
	if err := sys.Banner(&banner); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{sys.URL() + "/taskrouter", sys.URL() + "/crm", samples.AuthToken, samples.CRMWebhookSecret, samples.CRMAPIToken, "curl -sS -i"} {
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
	if !rep.OK() || len(rep.Results) != len(DemoSteps()) {
		t.Fatalf("demo not as expected:\n%s\nfunction output:\n%s", out.String(), logs)
	}
	if !strings.Contains(out.String(), "13/13 events as expected") || strings.Contains(out.String(), "FAIL") {
		t.Errorf("demo output:\n%s", out.String())
	}
	if !rep.Results[0].Observation.ColdStart || rep.Results[1].Observation.ColdStart {
		t.Errorf("cold start marked on steps %v, %v; want the first only", rep.Results[0].Observation.ColdStart, rep.Results[1].Observation.ColdStart)
	}
	for i, r := range rep.Results {
		if !r.Observed || r.Observation.Summary == nil {
			t.Errorf("step %d (%s) has no observed summary", i+1, r.Step.Name)
		}
	}
	// The Flex flows: Leave and Park left open and never updated; the
	// transfer left open while its new task was live, then closed once.
	flows := rep.Results[len(rep.Results)-4:]
	for i, want := range []string{"inactive", "active", "active", "closed"} {
		if r := flows[i]; r.Step.Flow == nil || r.After != want {
			t.Errorf("flow step %s: channel %s, want %s", r.Step.Name, r.After, want)
		}
	}
	for n, closes := range map[int]int{demoLeave: 0, demoPark: 0, demoTransfer: 1} {
		if got := sys.Twilio().CloseCount(demoChannel(n).ChannelSID); got != closes {
			t.Errorf("demo conversation %d closed %d times, want %d", n, got, closes)
		}
	}
	if !strings.Contains(out.String(), "Leave: task.completed (flow)") || !strings.Contains(out.String(), "active → inactive") {
		t.Errorf("demo output lacks the Leave flow:\n%s", out.String())
	}

	// Twilio refuses every close: the function answers 502 and the demo
	// says which steps differ, and how.
	sys.Twilio().Inject(flextest.Fault{Method: http.MethodPost, Path: "/v1/Interactions", Status: 400, Code: 45359, Message: "Failed to close Channel"})
	out.Reset()
	rep, err = sys.Demo(ctx, &out, DemoSteps())
	if err != nil {
		t.Fatalf("Demo: %v", err)
	}
	if rep.OK() {
		t.Fatalf("demo with every close refused passed:\n%s", out.String())
	}
	first := rep.Results[0]
	if first.OK() || first.Status != http.StatusBadGateway || first.After != flextest.ChannelActive {
		t.Errorf("step 1 with closes refused: %+v", first)
	}
	if !strings.Contains(out.String(), "HTTP 502, want 204") || !strings.Contains(out.String(), "NOT as expected") {
		t.Errorf("demo output does not explain the failure:\n%s", out.String())
	}
	n := len(rep.Results)
	if !rep.Results[1].OK() || !rep.Results[3].OK() || !rep.Results[5].OK() ||
		!rep.Results[n-4].OK() || !rep.Results[n-3].OK() || !rep.Results[n-2].OK() || rep.Results[n-1].OK() {
		t.Errorf("steps that make no close failed too:\n%s", out.String())
	}
	sys.Twilio().ClearFaults()

	// The banner's curl command, sent as is, closes the playground channel;
	// the live line says so.
	var live emulator.Output
	sys.Live(&live)
	req, err := TaskRouterExample(sys.URL())
	if err != nil {
		t.Fatal(err)
	}
	hreq, _ := req.HTTP(ctx)
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("banner TaskRouter request answered %d, want 204", resp.StatusCode)
	}
	ch := PlaygroundChannel(1)
	if got, _ := sys.Twilio().Channel(ch.InteractionSID, ch.SID); got.Status != flextest.ChannelClosed {
		t.Errorf("playground channel %s after the banner request, want closed", got.Status)
	}
	if _, ok := sys.Observation(ctx, resp.Header.Get(apigateway.RequestIDHeader)); !ok {
		t.Fatalf("request not observed")
	}
	if l := live.String(); !strings.Contains(l, "POST /taskrouter → 204") || !strings.Contains(l, "task.canceled WT…f1a1: closed") {
		t.Errorf("live line = %q", l)
	}
	sys.Live(nil)

	creq, err := CRMExample(sys.URL())
	if err != nil {
		t.Fatal(err)
	}
	hreq, _ = creq.HTTP(ctx)
	resp, err = http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("banner CRM request answered %d, want 200", resp.StatusCode)
	}

	if strings.Contains(logs.String(), samples.AuthToken) {
		t.Errorf("function output contains the auth token")
	}
	addr := strings.TrimPrefix(sys.URL(), "http://")
	if err := sys.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Errorf("gateway still accepts connections on %s after Close", addr)
	}
}

// A taken port fails Start at once, naming the flag that fixes it.
func TestStartPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = Start(context.Background(), Options{Addr: ln.Addr().String(), Bootstrap: "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("Start on a busy port = %v, want an error mentioning --addr", err)
	}
}

// A bad override of the function's environment fails Start before anything
// is built, naming the variable, and frees the port it had taken.
func TestStartBadEnv(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Start(context.Background(), Options{Addr: addr, Env: []string{"CLOSE_STATUS=deleted"}, Bootstrap: "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "CLOSE_STATUS") {
		t.Errorf("Start with CLOSE_STATUS=deleted = %v, want an error naming it", err)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port %s still taken after a failed Start: %v", addr, err)
	}
	ln.Close()
}

func TestStartRealNeedsCredentials(t *testing.T) {
	_, err := Start(context.Background(), Options{Addr: "127.0.0.1:0", Mode: RealTwilio, Bootstrap: "/nonexistent"})
	if !errors.Is(err, ErrMissingCredentials) {
		t.Errorf("Start(RealTwilio) without credentials = %v, want ErrMissingCredentials", err)
	}
}

func TestDemoNeedsSimulator(t *testing.T) {
	var s System
	if _, err := s.Demo(context.Background(), io.Discard, DemoSteps()); !errors.Is(err, ErrNoSimulator) {
		t.Errorf("Demo without simulator = %v, want ErrNoSimulator", err)
	}
}
