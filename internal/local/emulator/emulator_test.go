package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/local/process"
)

// echoPackage is the test function, relative to the module root.
const echoPackage = "./internal/local/emulator/testdata/echo"

// fixture holds what TestMain prepares once for the emulator tests.
var fixture struct {
	bootstrap string // the echo function, built by Build
	rie       string // the emulator, from RIEPath
	err       error  // why they are missing
}

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() && supported {
		dir, err := os.MkdirTemp("", "emulator-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		fixture.bootstrap, fixture.err = Build(ctx, echoPackage, dir)
		if fixture.err == nil {
			fixture.rie, fixture.err = RIEPath(ctx)
		}
		cancel()
		code := m.Run()
		_ = os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// needEmulator skips the test in -short mode and fails it if the fixture
// could not be built.
func needEmulator(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: runs the Lambda Runtime Interface Emulator (drop -short to run)")
	}
	if !supported {
		t.Skip("skipping: aws-lambda-rie only runs on Linux")
	}
	if fixture.err != nil {
		t.Fatalf("test fixture: %v", fixture.err)
	}
}

// startEcho starts the echo function under the emulator and closes it when
// the test ends, logging the emulator's output if the test failed.
func startEcho(t *testing.T, o Options) (*Instance, *Output) {
	t.Helper()
	needEmulator(t)
	out := &Output{}
	o.Bootstrap = fixture.bootstrap
	o.RIE = fixture.rie
	o.Stdout, o.Stderr = out, out
	in, err := Start(context.Background(), o)
	if err != nil {
		t.Fatalf("Start() error = %v", err)
	}
	t.Cleanup(func() {
		if err := in.Close(); err != nil {
			t.Errorf("Close() error = %v", err)
		}
		if t.Failed() {
			t.Logf("emulator output:\n%s", out)
		}
	})
	return in, out
}

// reply mirrors the echo function's successful result.
type reply struct {
	Echo         json.RawMessage   `json:"echo"`
	Env          map[string]string `json:"env"`
	PID          int               `json:"pid"`
	RequestID    string            `json:"request_id"`
	FunctionName string            `json:"function_name"`
	HasDeadline  bool              `json:"has_deadline"`
}

// invokeOK invokes the function with event and decodes a successful reply.
func invokeOK(t *testing.T, in *Instance, event string) (reply, Result) {
	t.Helper()
	res, err := in.Invoke(context.Background(), []byte(event))
	if err != nil {
		t.Fatalf("Invoke(%s) error = %v", event, err)
	}
	if res.Failed() || res.StatusCode != 200 {
		t.Fatalf("Invoke(%s) = status %d, FunctionError %q, payload %s; want success", event, res.StatusCode, res.FunctionError, res.Payload)
	}
	var r reply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("Invoke(%s) payload %s: %v", event, res.Payload, err)
	}
	return r, res
}

func TestInvokeReturnsPayload(t *testing.T) {
	in, out := startEcho(t, Options{})
	r, res := invokeOK(t, in, `{"echo":{"a":[1,"two"]},"stdout":"hello from the function"}`)
	if string(r.Echo) != `{"a":[1,"two"]}` {
		t.Errorf("Invoke() echo = %s, want %s", r.Echo, `{"a":[1,"two"]}`)
	}
	if res.RequestID == "" || r.RequestID != res.RequestID {
		t.Errorf("function saw request id %q, Result.RequestID = %q; want the same", r.RequestID, res.RequestID)
	}
	if !r.HasDeadline {
		t.Error("function context has no deadline, want the function timeout")
	}
	if res.Duration <= 0 {
		t.Errorf("Result.Duration = %v, want > 0", res.Duration)
	}

	// A warm invocation reuses the process.
	r2, _ := invokeOK(t, in, `{"echo":2}`)
	if r2.PID != r.PID || string(r2.Echo) != "2" {
		t.Errorf("second Invoke() = pid %d echo %s, want pid %d echo 2", r2.PID, r2.Echo, r.PID)
	}
	if !strings.HasPrefix(in.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q, want a loopback URL", in.URL())
	}

	// Function output and the emulator's report lines reach Stdout. Close
	// first so that all output has been copied.
	if err := in.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	for _, want := range []string{"hello from the function", "START RequestId: " + res.RequestID, "REPORT RequestId: " + res.RequestID} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("emulator output lacks %q", want)
		}
	}
}

func TestEnvironmentReachesFunction(t *testing.T) {
	in, _ := startEcho(t, Options{
		Env:     []string{"FLEXHOOK_TEST=yes", "AWS_LAMBDA_FUNCTION_NAME=flexhook-webhook", "FLEXHOOK_TEST=last wins"},
		Timeout: 1500 * time.Millisecond,
	})
	names := []string{"FLEXHOOK_TEST", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_FUNCTION_TIMEOUT", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_RUNTIME_API", "HOME", "GOFLAGS"}
	q, _ := json.Marshal(map[string]any{"env": names})
	r, _ := invokeOK(t, in, string(q))

	tests := []struct {
		name, want string
		set        bool
	}{
		{"FLEXHOOK_TEST", "last wins", true},
		{"AWS_REGION", DefaultRegion, true},
		{"AWS_DEFAULT_REGION", DefaultRegion, true},
		{"AWS_ACCESS_KEY_ID", dummyAccessKeyID, true},
		{"AWS_LAMBDA_FUNCTION_TIMEOUT", "2", true},
		{"LAMBDA_TASK_ROOT", filepath.Dir(fixture.bootstrap), true},
		{"AWS_LAMBDA_RUNTIME_API", in.runtimeAPI, true},
		{"HOME", "", false},    // the host environment is not inherited
		{"GOFLAGS", "", false}, // nor is the Go toolchain's
	}
	for _, tt := range tests {
		got, set := r.Env[tt.name]
		if set != tt.set || got != tt.want {
			t.Errorf("function env %s = %q (set %v), want %q (set %v)", tt.name, got, set, tt.want, tt.set)
		}
	}
	if r.FunctionName != "flexhook-webhook" {
		t.Errorf("lambdacontext.FunctionName = %q, want %q", r.FunctionName, "flexhook-webhook")
	}
	if in.Timeout() != 2*time.Second {
		t.Errorf("Timeout() = %v, want 2s", in.Timeout())
	}
}

func TestFunctionFailures(t *testing.T) {
	in, _ := startEcho(t, Options{Timeout: time.Second})
	before, _ := invokeOK(t, in, `{}`)

	tests := []struct {
		name        string
		event       string
		wantStatus  int
		wantType    string
		wantMessage string // substring
		newProcess  bool   // whether the next invocation runs in a new process
	}{
		{"handler error", `{"error":"boom"}`, 200, "errorString", "boom", false},
		{"panic", `{"panic":"oops"}`, 502, "string", "oops", true},
		{"exit", `{"exit":3}`, 502, "Runtime.ExitError", "exit status 3", true},
		{"timeout", `{"block":true}`, 200, ErrorTypeTimeout, "Task timed out after 1.00 seconds", true},
		{"invalid event", `not json`, 200, "SyntaxError", "invalid character", false},
	}
	pid := before.PID
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := in.Invoke(context.Background(), []byte(tt.event))
			if err != nil {
				t.Fatalf("Invoke(%s) error = %v, want a failed Result", tt.event, err)
			}
			if res.FunctionError != Unhandled || !res.Failed() {
				t.Errorf("Invoke(%s) FunctionError = %q, want %q", tt.event, res.FunctionError, Unhandled)
			}
			if res.StatusCode != tt.wantStatus || res.ErrorType != tt.wantType || !strings.Contains(res.ErrorMessage, tt.wantMessage) {
				t.Errorf("Invoke(%s) = status %d, ErrorType %q, ErrorMessage %q; want %d, %q, containing %q",
					tt.event, res.StatusCode, res.ErrorType, res.ErrorMessage, tt.wantStatus, tt.wantType, tt.wantMessage)
			}

			// The function recovers for the next invocation.
			after, _ := invokeOK(t, in, `{"echo":"again"}`)
			if gotNew := after.PID != pid; gotNew != tt.newProcess {
				t.Errorf("after %s: pid %d → %d, new process = %v, want %v", tt.name, pid, after.PID, gotNew, tt.newProcess)
			}
			pid = after.PID
		})
	}
}

func TestConcurrentInvokesAreSerialized(t *testing.T) {
	in, _ := startEcho(t, Options{})
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			event := fmt.Sprintf(`{"echo":%d}`, i)
			res, err := in.Invoke(context.Background(), []byte(event))
			if err != nil || res.Failed() {
				t.Errorf("Invoke(%s) = %s, %v; want success", event, res.Payload, err)
				return
			}
			var r reply
			if err := json.Unmarshal(res.Payload, &r); err != nil || string(r.Echo) != fmt.Sprint(i) {
				t.Errorf("Invoke(%s) payload = %s, want echo %d", event, res.Payload, i)
			}
		})
	}
	wg.Wait()
}

func TestInvokeContextEnds(t *testing.T) {
	in, _ := startEcho(t, Options{Timeout: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res, err := in.Invoke(ctx, []byte(`{"block":true}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke(block) with an ending context error = %v, want context.DeadlineExceeded", err)
	}
	if res.RequestID == "" {
		t.Error("Invoke(block) Result.RequestID is empty, want the abandoned invocation's id")
	}
	// The emulator is still busy with the abandoned invocation; the next
	// Invoke waits for it instead of colliding with it.
	r, _ := invokeOK(t, in, `{"echo":"next"}`)
	if string(r.Echo) != `"next"` {
		t.Errorf("Invoke(next) echo = %s, want %q", r.Echo, "next")
	}
	// A context that has already ended does not invoke at all.
	if _, err := in.Invoke(ctx, []byte(`{}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Invoke() with an ended context error = %v, want context.DeadlineExceeded", err)
	}
}

func TestTwoInstancesAtOnce(t *testing.T) {
	a, _ := startEcho(t, Options{Env: []string{"WHO=a"}})
	b, _ := startEcho(t, Options{Env: []string{"WHO=b"}})
	if a.URL() == b.URL() || a.runtimeAPI == b.runtimeAPI {
		t.Fatalf("instances share addresses: %s/%s and %s/%s", a.URL(), a.runtimeAPI, b.URL(), b.runtimeAPI)
	}
	var wg sync.WaitGroup
	for _, tc := range []struct {
		in  *Instance
		who string
	}{{a, "a"}, {b, "b"}} {
		wg.Go(func() {
			for range 3 {
				res, err := tc.in.Invoke(context.Background(), []byte(`{"env":["WHO"]}`))
				var r reply
				if err != nil || res.Failed() || json.Unmarshal(res.Payload, &r) != nil || r.Env["WHO"] != tc.who {
					t.Errorf("instance %s: Invoke() = %s, %v; want WHO=%s", tc.who, res.Payload, err, tc.who)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCloseKillsEverything(t *testing.T) {
	in, _ := startEcho(t, Options{})
	r, _ := invokeOK(t, in, `{}`)
	emulatorPID := in.cmd.Process.Pid
	if kids := descendants(emulatorPID); !contains(kids, r.PID) {
		t.Fatalf("descendants(%d) = %v, want the function %d among them", emulatorPID, kids, r.PID)
	}

	if err := in.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}
	for _, pid := range []int{emulatorPID, r.PID} {
		if exists(pid) {
			t.Errorf("process %d still in the process table after Close", pid)
		}
	}
	for _, addr := range []string{strings.TrimPrefix(in.URL(), "http://"), in.runtimeAPI} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("port %s not free after Close: %v", addr, err)
			continue
		}
		_ = ln.Close()
	}
	if err := in.Close(); err != nil {
		t.Errorf("second Close() error = %v, want nil", err)
	}
	if _, err := in.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke() after Close error = %v, want ErrClosed", err)
	}
}

func TestEmulatorDiesUnderInvoke(t *testing.T) {
	in, _ := startEcho(t, Options{})
	r, _ := invokeOK(t, in, `{}`)
	// Stop the function first and let the emulator reap it, so that no
	// orphan is left behind for init to reap.
	if err := killGroup(r.PID); err != nil {
		t.Fatalf("kill function: %v", err)
	}
	waitGone([]int{r.PID}, 5*time.Second)
	if err := syscall.Kill(in.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill emulator: %v", err)
	}
	<-in.exited
	if _, err := in.Invoke(context.Background(), []byte(`{}`)); !errors.Is(err, ErrExited) {
		t.Errorf("Invoke() after the emulator died error = %v, want ErrExited", err)
	}
}

func TestStartFailures(t *testing.T) {
	needEmulator(t)
	dir := t.TempDir()
	hang := filepath.Join(dir, "hang")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	notExec := filepath.Join(dir, "not-executable")
	if err := os.WriteFile(notExec, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		o       Options
		wantErr error // nil: any error
	}{
		{"no bootstrap", Options{RIE: fixture.rie}, nil},
		{"missing bootstrap", Options{Bootstrap: filepath.Join(dir, "nope"), RIE: fixture.rie}, nil},
		{"bootstrap not executable", Options{Bootstrap: notExec, RIE: fixture.rie}, nil},
		{"bad env entry", Options{Bootstrap: fixture.bootstrap, RIE: fixture.rie, Env: []string{"NOEQUALS"}}, nil},
		{"bad timeout variable", Options{Bootstrap: fixture.bootstrap, RIE: fixture.rie, Env: []string{"AWS_LAMBDA_FUNCTION_TIMEOUT=soon"}}, nil},
		{"emulator exits", Options{Bootstrap: fixture.bootstrap, RIE: "/bin/false"}, ErrExited},
		{"emulator never listens", Options{Bootstrap: fixture.bootstrap, RIE: hang, StartTimeout: 200 * time.Millisecond}, ErrNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := Start(context.Background(), tt.o)
			if err == nil {
				_ = in.Close()
				t.Fatalf("Start(%+v) error = nil, want an error", tt.o)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Start(%+v) error = %v, want %v", tt.o, err, tt.wantErr)
			}
		})
	}
}

func TestBuildFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: runs go build")
	}
	_, err := Build(context.Background(), "./internal/local/emulator/testdata/does-not-exist", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "does-not-exist") {
		t.Errorf("Build(does-not-exist) error = %v, want one naming the package", err)
	}
}

func TestRIEPath(t *testing.T) {
	needEmulator(t)
	if !process.IsExecutable(fixture.rie) {
		t.Errorf("RIEPath() = %q, want an executable file", fixture.rie)
	}
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestBuildRIEFallback(t *testing.T) {
	needEmulator(t)
	cache := t.TempDir()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("moduleRoot() error = %v", err)
	}
	p, err := buildRIE(context.Background(), root, cache)
	if err != nil {
		t.Fatalf("buildRIE() error = %v", err)
	}
	if !process.IsExecutable(p) || !strings.HasPrefix(p, cache) {
		t.Fatalf("buildRIE() = %q, want an executable under %s", p, cache)
	}
	again, err := buildRIE(context.Background(), root, cache)
	if err != nil || again != p {
		t.Errorf("second buildRIE() = %q, %v; want the cached %q", again, err, p)
	}
	// The binary built this way is a working emulator.
	in, err := Start(context.Background(), Options{Bootstrap: fixture.bootstrap, RIE: p})
	if err != nil {
		t.Fatalf("Start() with the fallback emulator error = %v", err)
	}
	defer in.Close()
	invokeOK(t, in, `{}`)
}
