package dynamotest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/local/process"
)

// EnvEndpoint names the environment variable that, when set, points the
// tests at an already running DynamoDB-compatible server (for example
// "http://127.0.0.1:8000") instead of starting dynalite.
const EnvEndpoint = "FLEXHOOK_DYNAMODB_ENDPOINT"

// launcherPath is where `npm ci` installs the dynalite command, relative to
// the module root, with slash separators.
const launcherPath = "node_modules/.bin/dynalite"

const (
	// startTimeout bounds the wait for a started dynalite to answer.
	startTimeout = 20 * time.Second
	// stopTimeout bounds the wait for dynalite to exit after SIGTERM
	// before it is killed.
	stopTimeout = 5 * time.Second
	// portAttempts is how many free ports are tried when another process
	// takes the chosen port before dynalite binds it.
	portAttempts = 3
)

// ErrNotInstalled is returned by Launch when dynalite or node is missing:
// `npm ci` has not been run in the module root.
var ErrNotInstalled = errors.New("dynalite is not installed")

// errPortInUse reports that dynalite exited because its port was taken.
var errPortInUse = errors.New("port already in use")

// Start returns the endpoint URL of a DynamoDB-compatible server for t.
//
// When FLEXHOOK_DYNAMODB_ENDPOINT is set, Start returns its value and starts
// nothing. Otherwise it starts dynalite from <module root>/node_modules/.bin
// on a free 127.0.0.1 port, in memory and with no table state delays, waits
// until it answers HTTP, and registers a cleanup that stops its process
// group. Each call starts its own server; tests that share one call Start
// once and give each subtest its own table (see TableName).
//
// If dynalite or node is not installed, Start skips t with a hint to run
// `npm ci`, or fails t when the CI environment variable is non-empty. Any
// other failure to start fails t.
func Start(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		return ep
	}
	root, err := process.ModuleRoot()
	if err != nil {
		t.Fatalf("dynamotest: %v", err)
	}
	d, err := Launch(root)
	switch {
	case errors.Is(err, ErrNotInstalled):
		notInstalled(t, root, err)
	case err != nil:
		t.Fatalf("dynamotest: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("dynamotest: stop dynalite: %v", err)
		}
	})
	t.Logf("dynamotest: dynalite ready at %s in %v", d.srv.endpoint, d.srv.startup.Round(time.Millisecond))
	return d.srv.endpoint
}

// notInstalled skips t, or fails it under CI, because the dynalite
// launcher or node is missing.
func notInstalled(t testing.TB, root string, err error) {
	t.Helper()
	msg := fmt.Sprintf("dynamotest: %v; run `npm ci` in %s (needs Node.js >= 20), or set %s", err, root, EnvEndpoint)
	if os.Getenv("CI") != "" {
		t.Fatal(msg + " (CI is set, so this test fails instead of skipping)")
		return
	}
	t.Skip(msg)
}

// findLauncher returns the path of the dynalite command installed under
// root, checking that node, which runs it, is on PATH.
func findLauncher(root string) (string, error) {
	p := filepath.Join(root, filepath.FromSlash(launcherPath))
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%w: no %s", ErrNotInstalled, p)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("%w: node is not on PATH", ErrNotInstalled)
	}
	return p, nil
}

// server is one running dynalite process.
type server struct {
	endpoint string
	startup  time.Duration
	cmd      *exec.Cmd
	exited   chan struct{} // closed when the process has been waited for
	waitErr  error         // valid once exited is closed
	out      *process.Tail // combined stdout and stderr
}

// startServer starts dynalite on a free loopback port and waits until it
// answers. It returns an error wrapping errPortInUse when dynalite could
// not bind the port.
func startServer(launcher string) (*server, error) {
	port, err := process.FreePort()
	if err != nil {
		return nil, err
	}
	begin := time.Now()
	out := &process.Tail{}
	cmd := exec.Command(launcher,
		"--host", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--createTableMs", "0",
		"--deleteTableMs", "0",
		"--updateTableMs", "0",
	)
	cmd.Stdout = out
	cmd.Stderr = out
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", launcher, err)
	}
	s := &server{
		endpoint: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		cmd:      cmd,
		exited:   make(chan struct{}),
		out:      out,
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(startTimeout); err != nil {
		stopErr := s.stop()
		return nil, errors.Join(err, stopErr)
	}
	s.startup = time.Since(begin)
	return s, nil
}

// waitReady polls the server until it answers an HTTP request, the
// process exits, or timeout passes.
func (s *server) waitReady(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint, nil)
		if err != nil {
			return fmt.Errorf("probe %s: %w", s.endpoint, err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.exited:
			out := s.out.String()
			if strings.Contains(out, "EADDRINUSE") {
				return fmt.Errorf("dynalite on %s: %w", s.endpoint, errPortInUse)
			}
			return fmt.Errorf("dynalite exited before answering (%v); output:\n%s", s.waitErr, out)
		case <-ctx.Done():
			return fmt.Errorf("dynalite did not answer on %s within %v; output:\n%s", s.endpoint, timeout, s.out.String())
		case <-tick.C:
		}
	}
}

// stop ends the server's process group: SIGTERM, then SIGKILL if it has
// not exited within stopTimeout. It returns an error only if the process
// could not be ended.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	terminate(s.cmd)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
		return nil
	case <-timer.C:
	}
	kill(s.cmd)
	timer.Reset(stopTimeout)
	select {
	case <-s.exited:
		return nil
	case <-timer.C:
		return fmt.Errorf("dynalite (pid %d) did not exit after SIGKILL", s.cmd.Process.Pid)
	}
}
