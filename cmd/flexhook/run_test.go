package main

import (
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/localrun"
)

// `flexhook run --once` — what `make run ARGS=--once` runs — builds the
// function, runs it under the emulator behind the local gateway, plays the
// demo and exits 0 only if every event had its expected outcome. This is
// how `make test` exercises `make run`.
func TestRunOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the function and runs it under the Lambda emulator; skipped with -short")
	}
	code, stdout, stderr := cli(t, "", nil, "run", "--once", "--addr", "127.0.0.1:0")
	if code != exitOK {
		t.Fatalf("flexhook run --once exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Local API Gateway", "Twilio API simulator", "Secrets Manager", "curl -sS -i", "6/6 events as expected"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	for _, st := range localrun.DemoSteps() {
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
}

func TestRunOptions(t *testing.T) {
	env := map[string]string{
		localrun.EnvAccountSID: "AC0123456789abcdef0123456789abcdef",
		localrun.EnvAuthToken:  "realtoken0123",
	}
	opts, err := runOptions("real", "https://abc.trycloudflare.com", "127.0.0.1:3000", false, []string{"LOG_LEVEL=debug"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if opts.Mode != localrun.RealTwilio || opts.Real.AuthToken != "realtoken0123" || opts.PublicBaseURL != "https://abc.trycloudflare.com" || len(opts.Env) != 1 {
		t.Errorf("runOptions = %+v", opts)
	}
	opts, err = runOptions("sim", "", "127.0.0.1:0", true, nil, func(string) string { return "" })
	if err != nil || opts.Mode != localrun.Simulator || opts.Real != (localrun.RealCredentials{}) {
		t.Errorf("runOptions(sim) = %+v, %v", opts, err)
	}
}
