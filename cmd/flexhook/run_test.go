package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/local/stack"
)

// `flexhook run --once` — what `make run ARGS=--once` runs — builds the
// functions, runs them under the emulator behind the local gateway, plays
// the demo (and, in durable mode, the Flex outage) and exits 0 only if every
// event had its expected outcome. This is how `make test` exercises
// `make run`, in both modes.
func TestRunOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the functions and runs them under the Lambda emulator; skipped with -short")
	}
	tests := []struct {
		mode string
		want []string
	}{
		{mode: "durable", want: []string{"durable mode", "SQS (goaws)", "WORKER DECISION (job log)", "13/13 events as expected",
			"Twilio answers 503", "3/3 channels closed, each exactly once", "dead-letter queue empty"}},
		{mode: "sync", want: []string{"DECISION (function log)", "13/13 events as expected"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			localEnv := filepath.Join(t.TempDir(), "local-env.json")
			code, stdout, stderr := cli(t, "", nil, "run", "--once", "--mode", tt.mode, "--addr", "127.0.0.1:0", "--local-env", localEnv)
			if code != exitOK {
				t.Fatalf("flexhook run --once --mode %s exited %d\nstdout:\n%s\nstderr:\n%s", tt.mode, code, stdout, stderr)
			}
			checkLocalEnv(t, localEnv, stdout, tt.mode == "durable", "127.0.0.1")
			for _, want := range append([]string{"Local API Gateway", "Twilio API simulator", "Secrets Manager", "curl -sS -i"}, tt.want...) {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}
			for _, st := range stack.DemoSteps() {
				found := false
				for _, line := range strings.Split(stdout, "\n") {
					if strings.Contains(line, st.Name) {
						found = true
						if !strings.HasPrefix(line, "ok") {
							t.Errorf("demo line not ok: %s", line)
						}
					}
				}
				if !found {
					t.Errorf("no demo line for %q", st.Name)
				}
			}
			if strings.Contains(stdout, "Serving on") {
				t.Errorf("--once went on serving")
			}
			if tt.mode == "sync" && strings.Contains(stdout, "Outage") {
				t.Errorf("sync mode played the outage:\n%s", stdout)
			}
		})
	}
}

func TestRunOptions(t *testing.T) {
	env := map[string]string{
		stack.EnvAccountSID: "AC0123456789abcdef0123456789abcdef",
		stack.EnvAuthToken:  "realtoken0123",
	}
	opts, err := runOptions("real", "https://abc.trycloudflare.com", "127.0.0.1:3000", false, []string{"LOG_LEVEL=debug"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if opts.Mode != stack.RealTwilio || opts.Real.AuthToken != "realtoken0123" || opts.PublicBaseURL != "https://abc.trycloudflare.com" || len(opts.Env) != 1 {
		t.Errorf("runOptions = %+v", opts)
	}
	opts, err = runOptions("sim", "", "127.0.0.1:0", true, nil, func(string) string { return "" })
	if err != nil || opts.Mode != stack.Simulator || opts.Real != (stack.RealCredentials{}) {
		t.Errorf("runOptions(sim) = %+v, %v", opts, err)
	}
}

// Without --once, run serves until its context ends (Ctrl-C or SIGTERM in
// the real process), printing a line per request, then shuts down and
// exits 0.
func TestRunServesUntilStopped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function and runs it under the Lambda emulator; skipped with -short")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var errOut bytes.Buffer
	std := &stdio{stdin: strings.NewReader(""), stdout: pw, stderr: &errOut, getenv: func(string) string { return "" }}
	localEnv := filepath.Join(t.TempDir(), "local-env.json")
	done := make(chan int, 1)
	go func() {
		code := dispatch(ctx, std, []string{"run", "--mode=sync", "--no-demo", "--addr", "127.0.0.1:0", "--local-env", localEnv, "--local-env-host", "host.docker.internal"})
		pw.Close()
		done <- code
	}()

	lines := bufio.NewScanner(pr)
	var base string
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "Serving on "); ok {
			base, _, _ = strings.Cut(u, ": ") // "http://127.0.0.1:PORT: one line per request..."
			break
		}
	}
	if base == "" {
		t.Fatalf("no serving line; stderr: %s", errOut.String())
	}
	checkLocalEnv(t, localEnv, "", false, "host.docker.internal")
	req, err := stack.CRMExample(base)
	if err != nil {
		t.Fatal(err)
	}
	hreq, _ := req.HTTP(ctx)
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("CRM example answered %d, want 200", resp.StatusCode)
	}
	if !lines.Scan() || !strings.Contains(lines.Text(), "POST /crm → 200") {
		t.Errorf("live line = %q, want the CRM request", lines.Text())
	}
	cancel()
	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text() + "\n")
	}
	if code := <-done; code != exitOK {
		t.Errorf("run exited %d after being stopped, want 0; stderr: %s", code, errOut.String())
	}
	if !strings.Contains(rest.String(), "Stopping") {
		t.Errorf("no stopping message: %q", rest.String())
	}
	if c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://")); err == nil {
		c.Close()
		t.Errorf("gateway %s still listening after run returned", base)
	}
}

// checkLocalEnv checks the file `flexhook run --local-env` wrote: a SAM
// env-vars file for the template's functions (the worker only in durable
// mode) whose loopback URLs name host and, when banner is given, are the
// endpoints the banner printed. internal/local/stack checks the file's
// variables against template.yaml and the running stand-ins.
func checkLocalEnv(t *testing.T, path, banner string, durable bool, host string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("flexhook run wrote no %s: %v", path, err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, b)
	}
	want := []string{stack.WebhookLogicalID, stack.SweeperLogicalID}
	if durable {
		want = append(want, stack.WorkerLogicalID)
	}
	if len(env) != len(want) {
		t.Errorf("%s has functions %v, want %v", path, slices.Collect(maps.Keys(env)), want)
	}
	for _, id := range want {
		fn := env[id]
		for _, k := range []string{"TWILIO_API_BASE_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} {
			u, err := url.Parse(fn[k])
			if err != nil || u.Hostname() != host || u.Port() == "" {
				t.Errorf("%s: %s.%s = %q, want http://%s:PORT", path, id, k, fn[k], host)
			}
			if banner != "" && !strings.Contains(banner, fn[k]) {
				t.Errorf("%s: %s.%s = %q is not an endpoint the banner printed", path, id, k, fn[k])
			}
		}
	}
	if q := env[stack.WebhookLogicalID]["CLOSE_QUEUE_URL"]; durable && (q == "" || banner != "" && !strings.Contains(banner, q+" ")) {
		t.Errorf("%s: CLOSE_QUEUE_URL = %q, want the queue the banner printed", path, q)
	}
	if banner != "" && !strings.Contains(banner, "--env-vars "+path) {
		t.Errorf("the banner does not show how to use %s", path)
	}
}
