package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
	"github.com/flexhook/flexhook/internal/taskrouter"
	"github.com/flexhook/flexhook/internal/testing/hostile"
)

// The hostile table's subset that matters most at the process boundary,
// sent to the built bootstrap under the Lambda emulator: oversized bodies
// and malformed base64 among them. internal/webhook's TestHostileRequests
// runs the whole table in process, where a 7 MB body gets its 413.

// startTimedStack seeds the fakes with the sample state and starts the
// function with the given timeout; env is appended last so it overrides the
// defaults (TWILIO_API_BASE_URL, say).
func startTimedStack(t *testing.T, timeout time.Duration, env ...string) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test under the Lambda emulator; skipped with -short")
	}
	bin, err := bootstrap()
	if err != nil {
		t.Fatalf("build bootstrap: %v", err)
	}
	s := &stack{t: t, logs: &emulator.Output{}}
	s.twilio = flextest.New(flextest.Options{AccountSID: samples.AccountSID,
		Credentials: map[string]string{samples.AccountSID: samples.AuthToken}})
	samples.Seed(s.twilio)
	tw := httptest.NewServer(s.twilio)
	t.Cleanup(tw.Close)
	s.secrets = secretstest.New()
	s.secrets.Put("flexhook/local", samples.SecretJSON())
	sm := httptest.NewServer(s.secrets)
	t.Cleanup(sm.Close)
	base := []string{
		"TWILIO_SECRET_ID=flexhook/local",
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + sm.URL,
		"TWILIO_API_BASE_URL=" + tw.URL,
		"TASKROUTER_WORKSPACE_SID=" + samples.WorkspaceSID,
		"AWS_REGION=us-east-1",
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fn, err := emulator.Start(ctx, emulator.Options{Bootstrap: bin, Env: append(base, env...), Timeout: timeout, Stdout: s.logs})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { fn.Close() })
	s.fn = fn
	return s
}

// sampleURL is where the samples are sent and signed.
const sampleURL = "https://" + samples.Host + "/taskrouter"

// sampleTask is the first sample channel's first task, which a valid
// event closes.
func sampleTask(t *testing.T) (*samples.Channel, samples.Task) {
	t.Helper()
	for _, ch := range samples.Channels() {
		for _, task := range ch.Tasks {
			if task.AssignmentStatus == "canceled" {
				return ch, task
			}
		}
	}
	t.Fatal("no sample task to close")
	return nil, samples.Task{}
}

func signedSample(t *testing.T, form url.Values) []byte {
	t.Helper()
	ev, err := gatewaytest.NewHTTPEvent(http.MethodPost, sampleURL, http.Header{
		"Content-Type":             {"application/x-www-form-urlencoded"},
		taskrouter.SignatureHeader: {taskrouter.Sign(samples.AuthToken, sampleURL, form)},
	}, []byte(form.Encode()), gatewaytest.EventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestHostileUnderEmulator(t *testing.T) {
	s := startStack(t)
	ch, task := sampleTask(t)
	good := samples.TaskRouterForm("task.canceled", task)
	with := func(k, v string) url.Values {
		f := samples.TaskRouterForm("task.canceled", task)
		f.Set(k, v)
		return f
	}
	raw := func(headers map[string]string, body string, b64 bool) []byte {
		b, _ := json.Marshal(map[string]any{"version": "2.0", "rawPath": "/taskrouter", "headers": headers,
			"body": body, "isBase64Encoded": b64,
			"requestContext": map[string]any{"domainName": samples.Host, "http": map[string]any{"method": "POST", "path": "/taskrouter"}}})
		return b
	}
	event := func(method, u string, h http.Header, body []byte) []byte {
		ev, err := gatewaytest.NewHTTPEvent(method, u, h, body, gatewaytest.EventOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	formSig := http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
		taskrouter.SignatureHeader: {taskrouter.Sign(samples.AuthToken, sampleURL, good)}}
	crmURL := "https://" + samples.Host + "/crm"
	bearer := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + samples.CRMAPIToken}}
	rows := []struct {
		name    string
		payload []byte
		status  int
	}{
		// The largest event Lambda delivers is 6 MiB; this one's body, 4 MiB
		// before base64, is refused by its declared size, never decoded.
		{"4 MiB body in a 5.6 MB event", event(http.MethodPost, sampleURL, formSig, hostile.Body(4<<20)), 413},
		// Lambda refuses a 7 MB event before the function runs; the
		// emulator instead cuts it at 6 MiB + 100 bytes
		// (rapi/rendering: io.LimitReader(payload, MaxPayloadSize)), so
		// the function sees truncated JSON and must refuse that cleanly.
		{"7 MB body, event cut by the runtime", event(http.MethodPost, sampleURL, formSig, hostile.Body(7<<20)), 400},
		{"malformed base64", raw(map[string]string{"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "x"}, "%%%not base64", true), 400},
		{"payload not JSON", []byte("EventType=task.canceled"), 400},
		{"unknown route", event(http.MethodPost, "https://"+samples.Host+"/admin", formSig, []byte(good.Encode())), 404},
		{"GET", event(http.MethodGet, sampleURL, nil, nil), 405},
		{"missing signature", event(http.MethodPost, sampleURL, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte(good.Encode())), 403},
		{"duplicate form key", event(http.MethodPost, sampleURL, formSig, []byte(good.Encode()+"&EventType=task.completed")), 400},
		{"NUL byte", event(http.MethodPost, sampleURL, formSig, []byte(good.Encode()+"&Note=%00")), 400},
		{"TaskSid traversal, signed", signedSample(t, with("TaskSid", "WT/../../../Accounts")), 400},
		{"attributes nested 10000 deep, signed", signedSample(t, with("TaskAttributes", hostile.Nested(10000))), 400},
		{"CRM unsigned", event(http.MethodPost, crmURL, http.Header{"Content-Type": {"application/json"}}, []byte(`{}`)), 401},
		{"CRM encoded slash in channel_sid, with token", event(http.MethodPost, crmURL, bearer,
			[]byte(`{"interaction_sid":"`+ch.InteractionSID+`","channel_sid":"UO%2F..%2F`+strings.Repeat("0", 24)+`"}`)), 422},
		{"CRM Unicode look-alike, with token", event(http.MethodPost, crmURL, bearer,
			[]byte(`{"interaction_sid":"`+ch.InteractionSID+`","channel_sid":"`+hostile.SIDs(ch.ChannelSID)[15].Value+`"}`)), 422},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := len(s.twilio.Requests())
			r := s.invoke(row.payload)
			if r.Status != row.status || !strings.HasPrefix(string(r.Body), `{"error":"`) {
				t.Errorf("response = %d %s, want %d with a JSON error", r.Status, r.Body, row.status)
			}
			if n := len(s.twilio.Requests()) - before; n != 0 {
				t.Errorf("made %d Twilio calls, want none", n)
			}
		})
	}
	// The function is still up and still closes channels.
	if r := s.invoke(signedSample(t, good)); r.Status != http.StatusNoContent {
		t.Fatalf("valid event after the hostile ones = %d %s", r.Status, r.Body)
	}
	if got, _ := s.twilio.Channel(ch.InteractionSID, ch.ChannelSID); got.Status != flextest.ChannelClosed {
		t.Errorf("channel %s after the valid event, want closed", got.Status)
	}
	if n := s.secrets.Count(secretstest.OpGetSecretValue); n > 2 {
		t.Errorf("%d Secrets Manager calls for %d hostile requests, want at most 2", n, len(rows))
	}
}

// hangingListener accepts connections and never answers, like an upstream
// that has stalled (or a slowloris in reverse). It closes them on cleanup.
func hangingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c:
			default:
				c.Close()
			}
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	return "http://" + ln.Addr().String()
}

// With a 3-second function timeout and Twilio not answering, the function
// gives up on Twilio in time to answer 503 itself: the emulator never
// reports a timeout, and the function keeps serving.
func TestSlowTwilioUnderEmulator(t *testing.T) {
	tests := []struct {
		name  string
		env   func(t *testing.T) []string
		stall func(s *stack)
		heal  func(s *stack)
	}{
		{
			name:  "Twilio answers after a minute",
			env:   func(*testing.T) []string { return nil },
			stall: func(s *stack) { s.twilio.Inject(flextest.Fault{Delay: time.Minute}) },
			heal:  func(s *stack) { s.twilio.ClearFaults() },
		},
		{
			name: "Twilio accepts the connection and never answers",
			env:  func(t *testing.T) []string { return []string{"TWILIO_API_BASE_URL=" + hangingListener(t)} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startTimedStack(t, 3*time.Second, tt.env(t)...)
			// A cold start first, so the timed invocations are warm.
			s.invoke(mustEvent(t, http.MethodGet, sampleURL))
			if tt.stall != nil {
				tt.stall(s)
			}
			_, task := sampleTask(t)
			for i := 0; i < 2; i++ {
				r := s.invoke(signedSample(t, samples.TaskRouterForm("task.canceled", task)))
				if r.Status != http.StatusServiceUnavailable || r.Header["Retry-After"] == "" {
					t.Fatalf("invocation %d with Twilio stalled = %d %v %s, want 503 with Retry-After", i, r.Status, r.Header, r.Body)
				}
			}
			if tt.heal == nil {
				return
			}
			tt.heal(s)
			ch, _ := sampleTask(t)
			if r := s.invoke(signedSample(t, samples.TaskRouterForm("task.canceled", task))); r.Status != http.StatusNoContent {
				t.Fatalf("after Twilio recovered = %d %s, want 204", r.Status, r.Body)
			}
			if got, _ := s.twilio.Channel(ch.InteractionSID, ch.ChannelSID); got.Status != flextest.ChannelClosed {
				t.Errorf("channel %s after recovery, want closed", got.Status)
			}
		})
	}
}

func mustEvent(t *testing.T, method, u string) []byte {
	t.Helper()
	ev, err := gatewaytest.NewHTTPEvent(method, u, nil, nil, gatewaytest.EventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
