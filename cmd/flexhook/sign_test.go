package main

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

const attrs = `{"flexInteractionSid":"KD0000000000000000000000000000f101","flexInteractionChannelSid":"UO0000000000000000000000000000f101"}`

// A TaskRouter event file made by sign verifies with the token, against the
// URL the function rebuilds from the event, whether the form came from
// --form flags, --body or a file.
func TestSignTaskRouterEvent(t *testing.T) {
	form := url.Values{"EventType": {"task.canceled"}, "AccountSid": {samples.AccountSID}, "TaskAttributes": {attrs}}
	file := filepath.Join(t.TempDir(), "form.txt")
	if err := os.WriteFile(file, []byte(form.Encode()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const target = "https://abc.execute-api.us-east-1.amazonaws.com/taskrouter"
	tests := []struct {
		name  string
		stdin string
		args  []string
	}{
		{"form flags", "", []string{"--form", "EventType=task.canceled", "--form", "AccountSid=" + samples.AccountSID, "--form", "TaskAttributes=" + attrs}},
		{"body", "", []string{"--body", form.Encode()}},
		{"body file", "", []string{"--body", "@" + file}},
		{"body on stdin", form.Encode(), []string{"--body", "@-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"sign", "--url", target, "--token", samples.AuthToken, "--format", "event"}, tt.args...)
			code, stdout, stderr := cli(t, tt.stdin, nil, args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			req, err := gateway.Decode([]byte(stdout), gateway.Options{})
			if err != nil {
				t.Fatalf("output is not an event: %v\n%s", err, stdout)
			}
			if req.PublicURL != target || req.Method != http.MethodPost || req.Path != "/taskrouter" {
				t.Errorf("event is %s %s (URL %s), want POST %s", req.Method, req.Path, req.PublicURL, target)
			}
			got, err := taskrouter.ParseForm(req.Body)
			if err != nil || got.Encode() != form.Encode() {
				t.Errorf("event form = %v (%v), want %v", got, err, form)
			}
			sig := req.Header.Get(taskrouter.SignatureHeader)
			if err := taskrouter.Verify(req.PublicURL, got, req.Body, sig, samples.AuthToken); err != nil {
				t.Errorf("Verify = %v, want nil", err)
			}
			if err := taskrouter.Verify(req.PublicURL, got, req.Body, sig, "anothertoken"); !errors.Is(err, taskrouter.ErrBadSignature) {
				t.Errorf("Verify with another token = %v, want ErrBadSignature", err)
			}
		})
	}
}

// The curl output carries the signature made for the URL, and the body.
func TestSignTaskRouterCurl(t *testing.T) {
	const target = "http://127.0.0.1:3000/taskrouter"
	code, stdout, stderr := cli(t, "", nil, "sign", "--url", target, "--token", samples.AuthToken, "--form", "EventType=task.canceled", "--form", "TaskAttributes="+attrs)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	form := url.Values{"EventType": {"task.canceled"}, "TaskAttributes": {attrs}}
	for _, want := range []string{
		"curl -sS -i '" + target + "'",
		"-H '" + taskrouter.SignatureHeader + ": " + taskrouter.Sign(samples.AuthToken, target, form) + "'",
		"-H 'Content-Type: application/x-www-form-urlencoded'",
		"--data-raw '" + form.Encode() + "'",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("curl output lacks %q:\n%s", want, stdout)
		}
	}
}

// CRM requests made by sign pass the CRM Verifier: Standard Webhooks with
// the given id and time, or a bearer token.
func TestSignCRM(t *testing.T) {
	v, err := crm.NewVerifier(crm.Config{Secrets: []string{samples.CRMWebhookSecret}, Tokens: []string{samples.CRMAPIToken}})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"interaction_sid":"KD0000000000000000000000000000f104","channel_sid":"UO0000000000000000000000000000f104"}`
	ts := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		auth []string
	}{
		{"standard webhooks", []string{"--secret", samples.CRMWebhookSecret, "--id", "msg_test", "--timestamp", strconv.FormatInt(ts.Unix(), 10)}},
		{"bearer", []string{"--bearer", samples.CRMAPIToken}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"sign", "--url", "http://127.0.0.1:3000/crm", "--body", body, "--format", "event"}, tt.auth...)
			code, stdout, stderr := cli(t, "", nil, args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			req, err := gateway.Decode([]byte(stdout), gateway.Options{})
			if err != nil {
				t.Fatalf("output is not an event: %v", err)
			}
			if string(req.Body) != body {
				t.Errorf("body %s, want %s", req.Body, body)
			}
			if err := v.Verify(req.Header, req.Body, ts); err != nil {
				t.Errorf("Verify = %v, want nil", err)
			}
			if tt.name == "standard webhooks" && req.Header.Get(crm.HeaderID) != "msg_test" {
				t.Errorf("webhook-id = %q, want msg_test", req.Header.Get(crm.HeaderID))
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no URL", []string{"--token", "t", "--form", "a=b"}, "--url is required"},
		{"no credential", []string{"--url", "http://h/x", "--form", "a=b"}, "exactly one of"},
		{"two credentials", []string{"--url", "http://h/x", "--token", "t", "--bearer", "b", "--body", "{}"}, "exactly one of"},
		{"bad format", []string{"--url", "http://h/x", "--token", "t", "--form", "a=b", "--format", "xml"}, `--format "xml"`},
		{"form and body", []string{"--url", "http://h/x", "--token", "t", "--form", "a=b", "--body", "c=d"}, "not both"},
		{"no form", []string{"--url", "http://h/x", "--token", "t"}, "needs form fields"},
		{"form without =", []string{"--url", "http://h/x", "--token", "t", "--form", "ab"}, "want KEY=value"},
		{"repeated field", []string{"--url", "http://h/x", "--token", "t", "--form", "a=1", "--form", "a=2"}, "given twice"},
		{"body not a form", []string{"--url", "http://h/x", "--token", "t", "--body", "a=1&a=2"}, "not a form"},
		{"CRM without body", []string{"--url", "http://h/x", "--bearer", "b"}, "needs its JSON --body"},
		{"CRM with form", []string{"--url", "http://h/x", "--bearer", "b", "--form", "a=b"}, "--form is for TaskRouter"},
		{"bad secret", []string{"--url", "http://h/x", "--secret", "whsec_abc", "--body", "{}"}, "invalid authentication configuration"},
		{"relative URL", []string{"--url", "/x", "--token", "t", "--form", "a=b"}, "not an absolute"},
		{"missing body file", []string{"--url", "http://h/x", "--bearer", "b", "--body", "@/nonexistent/body.json"}, "--body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, "", nil, append([]string{"sign"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("sign %q = exit %d, stderr %q; want exit %d mentioning %q", tt.args, code, stderr, exitUsage, tt.want)
			}
		})
	}
}

// -o writes the output to a file.
func TestSignOutputFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ev.json")
	code, stdout, stderr := cli(t, "", nil, "sign", "--url", "http://127.0.0.1:3000/crm", "--bearer", samples.CRMAPIToken, "--body", "{}", "--format", "event", "-o", out)
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.Decode(b, gateway.Options{}); err != nil {
		t.Errorf("file is not an event: %v", err)
	}
}
