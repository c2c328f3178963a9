package emulator

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/flexhook/flexhook/internal/local/process"
)

// InvokePath is the path of the emulator's invoke endpoint, relative to
// Instance.URL.
const InvokePath = "/2015-03-31/functions/function/invocations"

// DefaultStartTimeout bounds how long Start waits for the emulator to accept
// connections unless Options.StartTimeout says otherwise.
const DefaultStartTimeout = 10 * time.Second

// Errors callers may branch on.
var (
	// ErrClosed is returned by Invoke once Close has been called.
	ErrClosed = errors.New("emulator: instance closed")

	// ErrExited is returned when the emulator process exits unexpectedly,
	// during Start or later.
	ErrExited = errors.New("emulator: emulator process exited")

	// ErrNotReady is returned by Start when the emulator does not accept
	// connections within Options.StartTimeout.
	ErrNotReady = errors.New("emulator: emulator did not become ready")

	// ErrStatus is returned by Invoke when the emulator answers with an HTTP
	// status it uses for its own failures rather than the function's, such
	// as 400 for an invocation it could not accept or 504 for a reservation
	// that timed out.
	ErrStatus = errors.New("emulator: unexpected HTTP status")

	// ErrUnsupported is returned by Start on systems other than Linux.
	ErrUnsupported = errors.New("emulator: aws-lambda-rie only runs on Linux")
)

// Options configures Start.
type Options struct {
	// Bootstrap is the path of the function binary, usually from Build.
	// The function runs in its directory, which is also LAMBDA_TASK_ROOT.
	Bootstrap string

	// Env holds KEY=value entries for the function's environment, laid over
	// a minimal Lambda-like one (PATH, LANG, TZ, LAMBDA_TASK_ROOT); later
	// entries win. The host's environment is not inherited. Unless Env sets
	// them, AWS_REGION and AWS_DEFAULT_REGION default to DefaultRegion (or to
	// each other) and AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
	// AWS_SESSION_TOKEN get dummy values.
	Env []string

	// Timeout is the function timeout, rounded up to whole seconds as the
	// emulator requires. Zero means AWS_LAMBDA_FUNCTION_TIMEOUT from Env, or
	// DefaultTimeout.
	Timeout time.Duration

	// Stdout and Stderr receive the emulator's output: the function's own
	// output and the START, END and REPORT lines arrive on Stdout, the
	// emulator's log on Stderr. Nil discards it.
	Stdout, Stderr io.Writer

	// LogLevel is the emulator's --log-level (panic, fatal, error, warn,
	// info, debug or trace). Empty leaves the emulator's default, info.
	LogLevel string

	// RIE is the path of the aws-lambda-rie binary. Empty means RIEPath.
	RIE string

	// StartTimeout bounds the wait for the emulator to accept connections.
	// Zero means DefaultStartTimeout.
	StartTimeout time.Duration
}

// Instance is one running emulator with its function. Invoke may be called
// from several goroutines; calls are served one at a time. Several instances
// may run at once, each on its own ports.
type Instance struct {
	url        string
	runtimeAPI string
	timeout    time.Duration

	cmd    *exec.Cmd
	exited chan struct{} // closed once the emulator process has been reaped
	stderr *process.Tail

	client *http.Client
	slot   chan struct{} // holds a token while an invocation is in flight

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	close func() error // stops everything once, returning the first result
}

// Start launches the emulator for o.Bootstrap on two free loopback ports and
// returns once it accepts connections. The function process itself starts on
// the first Invoke. Start fails with ErrExited if the emulator exits while
// starting (after retrying on other ports, in case one was taken in the
// meantime), with ErrNotReady if it does not become ready in time, and with
// ErrUnsupported on systems other than Linux. ctx bounds the start-up
// only; the Instance runs until Close, which the caller must call.
func Start(ctx context.Context, o Options) (*Instance, error) {
	if !supported {
		return nil, ErrUnsupported
	}
	if o.Bootstrap == "" {
		return nil, errors.New("emulator: Options.Bootstrap is empty")
	}
	bootstrap, err := filepath.Abs(o.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("emulator: bootstrap: %w", err)
	}
	if !process.IsExecutable(bootstrap) {
		return nil, fmt.Errorf("emulator: bootstrap %s is not an executable file", bootstrap)
	}
	env, timeout, err := environ(o.Env, o.Timeout, filepath.Dir(bootstrap))
	if err != nil {
		return nil, err
	}
	rie := o.RIE
	if rie == "" {
		if rie, err = RIEPath(ctx); err != nil {
			return nil, err
		}
	}
	wait := o.StartTimeout
	if wait <= 0 {
		wait = DefaultStartTimeout
	}

	const attempts = 3
	for i := 1; ; i++ {
		in, err := launch(ctx, o, rie, bootstrap, env, timeout, wait)
		if err == nil || !errors.Is(err, ErrExited) || i == attempts {
			return in, err
		}
	}
}

// launch starts one emulator process on fresh ports and waits for it.
func launch(ctx context.Context, o Options, rie, bootstrap string, env []string, timeout, wait time.Duration) (*Instance, error) {
	addrs, err := freeAddrs(2)
	if err != nil {
		return nil, err
	}
	stderr := &process.Tail{Max: 4 << 10}
	args := []string{"--runtime-interface-emulator-address", addrs[0], "--runtime-api-address", addrs[1]}
	if o.LogLevel != "" {
		args = append(args, "--log-level", o.LogLevel)
	}
	cmd := exec.Command(rie, append(args, bootstrap)...)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = env
	cmd.Stdout = o.Stdout
	cmd.Stderr = stderr
	if o.Stderr != nil {
		cmd.Stderr = io.MultiWriter(stderr, o.Stderr)
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("emulator: start %s: %w", rie, err)
	}

	ictx, cancel := context.WithCancel(context.Background())
	in := &Instance{
		url:        "http://" + addrs[0],
		runtimeAPI: addrs[1],
		timeout:    timeout,
		cmd:        cmd,
		exited:     make(chan struct{}),
		stderr:     stderr,
		// An invocation may spend up to the timeout starting the function
		// and up to the timeout running it; the emulator answers within
		// that, so the margin only guards against a wedged emulator.
		client: &http.Client{Timeout: 2*timeout + 10*time.Second},
		slot:   make(chan struct{}, 1),
		ctx:    ictx,
		cancel: cancel,
	}
	in.close = sync.OnceValue(func() error {
		in.cancel()
		defer in.client.CloseIdleConnections()
		return in.stop()
	})
	go func() {
		_ = cmd.Wait()
		close(in.exited)
	}()

	if err := in.waitReady(ctx, wait); err != nil {
		_ = in.Close()
		return nil, err
	}
	return in, nil
}

// waitReady polls until both the invoke endpoint and the Runtime API accept
// connections, the emulator exits, ctx ends or wait passes.
func (in *Instance) waitReady(ctx context.Context, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		if in.ready(ctx, probe) {
			return nil
		}
		select {
		case <-in.exited:
			return fmt.Errorf("%w while starting: %s; log: %s", ErrExited, in.cmd.ProcessState, in.stderr)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%w within %v; log: %s", ErrNotReady, wait, in.stderr)
			}
			return fmt.Errorf("emulator: start: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// ready reports whether the emulator serves HTTP on its invoke address and
// accepts connections on its Runtime API address. It probes the Runtime API
// with a bare connection, because the emulator records the user agent of the
// first HTTP request it receives there as the runtime's release.
func (in *Instance) ready(ctx context.Context, probe *http.Client) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", in.runtimeAPI)
	if err != nil {
		return false
	}
	_ = c.Close()
	// Any path but InvokePath is answered 404 without starting the function.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, in.url+"/", nil)
	if err != nil {
		return false
	}
	resp, err := probe.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return true
}

// URL returns the base URL of the emulator, such as http://127.0.0.1:41234;
// the invoke endpoint is URL()+InvokePath. Requests sent there directly
// bypass Invoke's serialization.
func (in *Instance) URL() string { return in.url }

// Timeout returns the function timeout the emulator enforces.
func (in *Instance) Timeout() time.Duration { return in.timeout }

// Invoke sends payload to the function and returns the result. It waits for
// earlier invocations on the same Instance to finish first. A function that
// fails (error, panic, exit, timeout) yields a Result whose FunctionError is
// set and a nil error; the error is non-nil only if no answer came: ctx ended
// (the invocation carries on in the emulator, and the next Invoke waits for
// it), the Instance was closed (ErrClosed), the emulator exited (ErrExited)
// or answered with a status of its own (ErrStatus).
func (in *Instance) Invoke(ctx context.Context, payload []byte) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("emulator: invoke: %w", err)
	}
	select {
	case in.slot <- struct{}{}:
	case <-in.ctx.Done():
		return Result{}, ErrClosed
	case <-ctx.Done():
		return Result{}, fmt.Errorf("emulator: invoke: %w", ctx.Err())
	}
	id := NewRequestID()
	var res Result
	var err error
	done := make(chan struct{})
	go func() {
		defer func() { <-in.slot }()
		res, err = in.invoke(id, payload)
		close(done)
	}()
	select {
	case <-done:
		return res, err
	case <-ctx.Done():
		return Result{RequestID: id}, fmt.Errorf("emulator: invoke %s: %w", id, ctx.Err())
	}
}

// invoke performs one invocation; the caller holds the slot.
func (in *Instance) invoke(id string, payload []byte) (Result, error) {
	if in.ctx.Err() != nil {
		return Result{RequestID: id}, ErrClosed
	}
	req, err := http.NewRequestWithContext(in.ctx, http.MethodPost, in.url+InvokePath, bytes.NewReader(payload))
	if err != nil {
		return Result{RequestID: id}, fmt.Errorf("emulator: invoke %s: %w", id, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", id)

	start := time.Now()
	resp, err := in.client.Do(req)
	if err == nil {
		var body []byte
		body, err = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		res := Result{Payload: body, StatusCode: resp.StatusCode, RequestID: id, Duration: time.Since(start)}
		switch {
		case err != nil:
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusBadGateway:
			classify(&res, resp.Header)
			return res, nil
		default:
			return res, fmt.Errorf("%w %d for invocation %s: %q", ErrStatus, resp.StatusCode, id, body)
		}
	}
	select {
	case <-in.exited:
		return Result{RequestID: id}, fmt.Errorf("%w: %s; log: %s", ErrExited, in.cmd.ProcessState, in.stderr)
	default:
	}
	if in.ctx.Err() != nil {
		return Result{RequestID: id}, ErrClosed
	}
	return Result{RequestID: id}, fmt.Errorf("emulator: invoke %s: %w", id, err)
}

// Close stops the function and the emulator and waits until both are gone,
// so their ports are free again when it returns. In-flight invocations end
// with ErrClosed. It is safe to call more than once; later calls return the
// first call's result.
func (in *Instance) Close() error { return in.close() }

// stop kills the function processes, lets the emulator reap them, then kills
// the emulator's process group and waits for it.
func (in *Instance) stop() error {
	const reapWait = 5 * time.Second
	pid := in.cmd.Process.Pid
	select {
	case <-in.exited:
		return nil
	default:
	}
	// The emulator starts the function in a process group of its own, so
	// killing the emulator's group would leave the function behind. Kill
	// the function first, while the emulator is still there to reap it;
	// repeat in case an invocation in flight started a new one.
	for range 3 {
		kids := descendants(pid)
		if len(kids) == 0 {
			break
		}
		for _, k := range kids {
			_ = killGroup(k)
		}
		waitGone(kids, reapWait)
	}
	if err := killGroup(pid); err != nil {
		return fmt.Errorf("emulator: kill emulator %d: %w", pid, err)
	}
	t := time.NewTimer(reapWait)
	defer t.Stop()
	select {
	case <-in.exited:
		return nil
	case <-t.C:
		return fmt.Errorf("emulator: emulator %d still running %v after SIGKILL", pid, reapWait)
	}
}

// waitGone polls until none of pids exists any more, not even as a zombie
// waiting for its parent to reap it, or until wait passes.
func waitGone(pids []int, wait time.Duration) {
	for deadline := time.Now().Add(wait); slices.ContainsFunc(pids, exists) && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
}

// freeAddrs returns n distinct loopback addresses with free ports. The ports
// are released before returning, so another process may take one before the
// emulator binds it; Start retries on fresh ports if the emulator then exits.
func freeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("emulator: find a free port: %w", err)
		}
		defer ln.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// NewRequestID returns a random version 4 UUID, the form of Lambda request ids.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
