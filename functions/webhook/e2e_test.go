package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
)

// The end-to-end tests run the real bootstrap binary under the AWS Lambda
// Runtime Interface Emulator — the runtime `sam local invoke` uses — with
// Secrets Manager and Twilio faked on loopback, reached only through
// AWS_ENDPOINT_URL_SECRETS_MANAGER and TWILIO_API_BASE_URL.

// bootstrap builds the function once per test binary.
var bootstrap = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "flexhook-e2e-")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return emulator.Build(ctx, "./functions/webhook", dir)
})

type stack struct {
	t       *testing.T
	twilio  *flextest.Server
	secrets *secretstest.Server
	fn      *emulator.Instance
	logs    *emulator.Output
}

// startStack seeds the fakes with the sample state and starts the function
// with the template's 12 s timeout; extraEnv overrides the defaults.
func startStack(t *testing.T, extraEnv ...string) *stack {
	t.Helper()
	return startTimedStack(t, 12*time.Second, extraEnv...)
}

func (s *stack) invoke(payload []byte) gateway.Response {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := s.fn.Invoke(ctx, payload)
	if err != nil {
		s.t.Fatalf("invoke: %v", err)
	}
	if res.Failed() {
		s.t.Fatalf("invocation failed: %s %s: %s\nlogs:\n%s", res.ErrorType, res.ErrorMessage, res.Payload, s.logs)
	}
	r, err := gatewaytest.ParseResponse(res.Payload)
	if err != nil {
		s.t.Fatalf("response %s: %v", res.Payload, err)
	}
	return r
}

// TestEventsUnderEmulator replays every file in events/ through the built
// binary, as `sam local invoke -e events/<file>` does.
func TestEventsUnderEmulator(t *testing.T) {
	s := startStack(t)
	files, _ := filepath.Glob("../../events/*.json")
	if len(files) < 5 {
		t.Fatalf("found only %d event files", len(files))
	}
	byName := map[string]samples.Sample{}
	for _, smp := range samples.All() {
		byName[smp.Name] = smp
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		smp, ok := byName[name]
		if !ok {
			t.Errorf("%s has no sample expectation", file)
			continue
		}
		payload, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r := s.invoke(payload)
		if r.Status != smp.WantStatus {
			t.Errorf("%s: status %d %s, want %d", name, r.Status, r.Body, smp.WantStatus)
		}
		if smp.WantChannel != "" {
			if ch, _ := s.twilio.Channel(smp.Channel.InteractionSID, smp.Channel.ChannelSID); ch.Status != smp.WantChannel {
				t.Errorf("%s: channel %s, want %s", name, ch.Status, smp.WantChannel)
			}
		}
	}
	// Warm invokes read the secret from the cache: one fetch at cold start,
	// plus one refresh when the bad signature arrived (it could have been a
	// rotated token). More bad signatures cause no more calls.
	if n := s.secrets.Count("GetSecretValue"); n != 2 {
		t.Errorf("Secrets Manager calls = %d over %d invokes, want 2", n, len(files))
	}
	bad, _ := os.ReadFile("../../events/taskrouter-bad-signature.json")
	for i := 0; i < 5; i++ {
		if r := s.invoke(bad); r.Status != 403 {
			t.Fatalf("bad signature answered %d", r.Status)
		}
	}
	if n := s.secrets.Count("GetSecretValue"); n != 2 {
		t.Errorf("5 more bad signatures made %d more Secrets Manager calls, want 0", n-2)
	}
	// The function logs JSON lines with the request id, never a secret.
	s.logs.Wait(5*time.Second, func(out string) bool { return strings.Count(out, `"message":"request"`) >= len(files)+5 })
	out := s.logs.String()
	for _, leak := range []string{samples.AuthToken, samples.CRMAPIToken} {
		if strings.Contains(out, leak) {
			t.Errorf("function output contains a secret")
		}
	}
	var summaries int
	for _, line := range strings.Split(out, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["message"] == "request" {
			summaries++
			if m["requestId"] == nil || m["outcome"] == nil {
				t.Errorf("summary line without requestId or outcome: %s", line)
			}
		}
	}
	if summaries != len(files)+5 {
		t.Errorf("got %d summary log lines for %d invokes\n%s", summaries, len(files), out)
	}
}

// A Secrets Manager outage at cold start must not crash the function: it
// answers 503 while the secret is unreachable, and works once it is back.
func TestColdStartSurvivesSecretsOutage(t *testing.T) {
	s := startStack(t)
	s.secrets.Inject(secretstest.Fault{Type: secretstest.CodeInternal})
	smp := samples.All()[0]
	payload, _ := smp.Event()
	if r := s.invoke(payload); r.Status != 503 || r.Header["Retry-After"] == "" {
		t.Fatalf("with Secrets Manager down: %d %v %s, want 503 with Retry-After", r.Status, r.Header, r.Body)
	}
	s.secrets.ClearFaults()
	if r := s.invoke(payload); r.Status != smp.WantStatus {
		t.Fatalf("after recovery: %d %s, want %d", r.Status, r.Body, smp.WantStatus)
	}
}

// A missing or invalid variable fails the cold start with a message that
// names it.
func TestColdStartConfigError(t *testing.T) {
	s := startStack(t, "CLOSE_STATUS=deleted")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	payload, _ := samples.All()[0].Event()
	// Each invoke starts the bootstrap again and fails. The emulator can stop
	// reading a process's output as it exits, so on a loaded machine one
	// attempt's line may be lost: up to three attempts, every one failing.
	named := false
	for range 3 {
		res, err := s.fn.Invoke(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Failed() {
			t.Fatalf("invoke with CLOSE_STATUS=deleted succeeded: %s", res.Payload)
		}
		if named = s.logs.Wait(5*time.Second, func(out string) bool { return strings.Contains(out, "CLOSE_STATUS") }); named {
			break
		}
	}
	if !named {
		t.Errorf("cold start failure does not name CLOSE_STATUS:\n%s", s.logs)
	}
}
