package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flexhook/flexhook/internal/gateway"

	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// recorder is an httptest handler that keeps the last request and answers
// with answer.
type recorder struct {
	mu     sync.Mutex
	method string
	path   string
	query  string
	header http.Header
	body   []byte
	answer func(w http.ResponseWriter)
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.method, r.path, r.query, r.header, r.body = req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone(), b
	r.mu.Unlock()
	r.answer(w)
}

func writeEvent(t *testing.T, ev []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(path, ev, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Against a gateway the event becomes the HTTP request it describes; the
// exit code follows the answer's status.
func TestInvokeGateway(t *testing.T) {
	form := "EventType=task.canceled&TaskSid=WT0000000000000000000000000000f101"
	ev, err := gatewaytest.NewHTTPEvent("POST", "https://abc.execute-api.us-east-1.amazonaws.com/taskrouter?x=1",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Twilio-Signature": {"sig="}, "I-Twilio-Idempotency-Token": {"tok"}},
		[]byte(form), gatewaytest.EventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	file := writeEvent(t, ev)
	tests := []struct {
		name     string
		status   int
		body     string
		wantCode int
		wantOut  []string
	}{
		{"no content", 204, "", exitOK, []string{"HTTP 204 No Content", "(no body)"}},
		{"JSON answer", 200, `{"outcome":"closed"}`, exitOK, []string{"HTTP 200 OK", "Content-Type: application/json", "{\n  \"outcome\": \"closed\"\n}"}},
		{"refused", 403, `{"error":"invalid X-Twilio-Signature"}`, exitFailure, []string{"HTTP 403 Forbidden", `"error": "invalid X-Twilio-Signature"`}},
		{"server error", 503, "busy", exitFailure, []string{"HTTP 503 Service Unavailable", "busy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{answer: func(w http.ResponseWriter) {
				if tt.body != "" && tt.body[0] == '{' {
					w.Header().Set("Content-Type", "application/json")
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			code, stdout, stderr := cli(t, "", nil, "invoke", file, "--url", srv.URL)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if rec.method != "POST" || rec.path != "/taskrouter" || rec.query != "x=1" || string(rec.body) != form {
				t.Errorf("gateway got %s %s?%s %q", rec.method, rec.path, rec.query, rec.body)
			}
			if rec.header.Get("X-Twilio-Signature") != "sig=" || rec.header.Get("I-Twilio-Idempotency-Token") != "tok" {
				t.Errorf("headers not passed on: %v", rec.header)
			}
			if !strings.Contains(stderr, "signature will not verify") {
				t.Errorf("no note that the signature was made for another URL: %q", stderr)
			}
		})
	}
}

// An event signed for the gateway's own URL gets no warning.
func TestInvokeGatewaySignedForIt(t *testing.T) {
	rec := &recorder{answer: func(w http.ResponseWriter) { w.WriteHeader(204) }}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	_, ev, _ := cli(t, "", nil, "sign", "--url", srv.URL+"/taskrouter", "--token", samples.AuthToken, "--form", "EventType=task.canceled", "--format", "event")
	code, _, stderr := cli(t, ev, nil, "invoke", "-", "--url", srv.URL)
	if code != exitOK || stderr != "" {
		t.Errorf("exit %d, stderr %q; want 0 without a note", code, stderr)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	form, _ := taskrouter.ParseForm(rec.body)
	if err := taskrouter.Verify(srv.URL+"/taskrouter", form, rec.body, rec.header.Get(taskrouter.SignatureHeader), samples.AuthToken); err != nil {
		t.Errorf("the request the gateway got does not verify: %v", err)
	}
}

// With --emulator the event goes unchanged to the Invoke API path and the
// function's proxy response, or its failure, is printed.
func TestInvokeEmulator(t *testing.T) {
	ev, err := samples.All()[0].Event()
	if err != nil {
		t.Fatal(err)
	}
	file := writeEvent(t, ev)
	proxy := func(status int, body string) string {
		b, _ := gateway.Encode(gateway.Response{Status: status, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(body)})
		return string(b)
	}
	tests := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		wantCode int
		wantOut  string
	}{
		{name: "proxy 204", status: 200, body: proxy(204, ""), wantCode: exitOK, wantOut: "HTTP 204 No Content"},
		{name: "proxy 200", status: 200, body: proxy(200, `{"outcome":"closed"}`), wantCode: exitOK, wantOut: `"outcome": "closed"`},
		{name: "proxy 403", status: 200, body: proxy(403, `{"error":"x"}`), wantCode: exitFailure, wantOut: "HTTP 403 Forbidden"},
		{name: "handler error", status: 200, header: map[string]string{"X-Amz-Function-Error": "Unhandled"}, body: `{"errorType":"errorString","errorMessage":"boom"}`,
			wantCode: exitFailure, wantOut: "Function error: errorString: boom"},
		{name: "crash", status: 502, body: `{"errorType":"Runtime.ExitError","errorMessage":"exit status 2"}`, wantCode: exitFailure, wantOut: "Function error: Runtime.ExitError: exit status 2"},
		{name: "timeout", status: 200, body: "Task timed out after 12.00 seconds", wantCode: exitFailure, wantOut: "Function error: Sandbox.Timedout"},
		{name: "not an HTTP response", status: 200, body: `{"hello":"world"}`, wantCode: exitOK, wantOut: "Function result (not an HTTP response)"},
		{name: "emulator refusal", status: 400, body: "bad", wantCode: exitFailure, wantOut: "HTTP 400 Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{answer: func(w http.ResponseWriter) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}}
			srv := httptest.NewServer(rec)
			defer srv.Close()
			code, stdout, stderr := cli(t, "", nil, "invoke", "--emulator", srv.URL, file)
			if code != tt.wantCode || !strings.Contains(stdout, tt.wantOut) {
				t.Errorf("exit %d, want %d; output lacks %q?\n%s%s", code, tt.wantCode, tt.wantOut, stdout, stderr)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if rec.path != emulator.InvokePath || !bytes.Equal(rec.body, ev) {
				t.Errorf("emulator got %s with a changed event", rec.path)
			}
		})
	}
}

func TestInvokeErrors(t *testing.T) {
	dir := t.TempDir()
	notJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(notJSON, []byte("nope"), 0o644)
	notEvent := filepath.Join(dir, "other.json")
	b, _ := json.Marshal(map[string]string{"hello": "world"})
	os.WriteFile(notEvent, b, 0o644)
	ev, _ := samples.All()[0].Event()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, ev, 0o644)
	// A port nothing listens on: a server that is closed at once.
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"invoke", filepath.Join(dir, "none.json")}, "no such file"},
		{"not JSON", []string{"invoke", notJSON}, "is not JSON"},
		{"not an event", []string{"invoke", notEvent, "--url", dead.URL}, "not an API Gateway event"},
		{"bad URL", []string{"invoke", good, "--url", "localhost:3000"}, "not an absolute"},
		{"bad emulator URL", []string{"invoke", good, "--emulator", "nope"}, "not an absolute"},
		{"gateway down", []string{"invoke", good, "--url", dead.URL}, "connection refused"},
		{"emulator down", []string{"invoke", good, "--emulator", dead.URL}, "connection refused"},
		{"two files", []string{"invoke", good, good}, "exactly one EVENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, "", nil, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("flexhook %q = exit %d, stderr %q; want %d mentioning %q", tt.args, code, stderr, exitUsage, tt.want)
			}
		})
	}
}
