package stack

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// A TaskRouter request verifies, once through an event, with the token it
// was signed with and not with another.
func TestTaskRouterRequestVerifies(t *testing.T) {
	const target = "http://127.0.0.1:3000/taskrouter"
	form := url.Values{"EventType": {"task.canceled"}, "TaskAttributes": {`{"a":"it's"}`}}
	req, err := TaskRouterRequest(target, samples.AuthToken, form)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := req.Event(gatewaytest.EventOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := gateway.Decode(ev, gateway.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.PublicURL != target {
		t.Errorf("event URL %q, want %q", got.PublicURL, target)
	}
	parsed, err := taskrouter.ParseForm(got.Body)
	if err != nil {
		t.Fatal(err)
	}
	sig := got.Header.Get(taskrouter.SignatureHeader)
	if err := taskrouter.Verify(got.PublicURL, parsed, got.Body, sig, samples.AuthToken); err != nil {
		t.Errorf("Verify with the signing token = %v, want nil", err)
	}
	if err := taskrouter.Verify(got.PublicURL, parsed, got.Body, sig, "othertoken"); !errors.Is(err, taskrouter.ErrBadSignature) {
		t.Errorf("Verify with another token = %v, want ErrBadSignature", err)
	}
}

// CRM requests verify with the secret or token they carry.
func TestCRMRequestVerifies(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v, err := crm.NewVerifier(crm.Config{Secrets: []string{samples.CRMWebhookSecret}, Tokens: []string{samples.CRMAPIToken}})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"interaction_sid":"KD00000000000000000000000000000001","channel_sid":"UO00000000000000000000000000000001"}`)
	tests := []struct {
		name string
		auth CRMAuth
		when time.Time
		want error
	}{
		{"signed", CRMAuth{Secret: samples.CRMWebhookSecret, ID: "msg_1", Time: now}, now, nil},
		{"signed, random id", CRMAuth{Secret: samples.CRMWebhookSecret, Time: now}, now, nil},
		{"signed, too old", CRMAuth{Secret: samples.CRMWebhookSecret, Time: now}, now.Add(time.Hour), crm.ErrTimestamp},
		{"bearer", CRMAuth{Token: samples.CRMAPIToken}, now, nil},
		{"wrong bearer", CRMAuth{Token: "not-the-local-token-00000"}, now, crm.ErrBadToken},
	}
	for _, tt := range tests {
		req, err := CRMRequest("http://127.0.0.1:3000/crm", body, tt.auth)
		if err != nil {
			t.Fatalf("%s: CRMRequest: %v", tt.name, err)
		}
		if err := v.Verify(req.Header, req.Body, tt.when); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: Verify = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		make func() (Request, error)
	}{
		{"relative URL", func() (Request, error) { return TaskRouterRequest("/taskrouter", "t", url.Values{}) }},
		{"ftp URL", func() (Request, error) { return TaskRouterRequest("ftp://h/taskrouter", "t", url.Values{}) }},
		{"empty token", func() (Request, error) { return TaskRouterRequest("http://h/taskrouter", "", url.Values{}) }},
		{"CRM without credentials", func() (Request, error) { return CRMRequest("http://h/crm", []byte("{}"), CRMAuth{}) }},
		{"CRM with a bad secret", func() (Request, error) {
			return CRMRequest("http://h/crm", []byte("{}"), CRMAuth{Secret: "whsec_short"})
		}},
	}
	for _, tt := range tests {
		if _, err := tt.make(); err == nil {
			t.Errorf("%s: got no error", tt.name)
		}
	}
}

func TestCurl(t *testing.T) {
	req := Request{
		Method: "POST",
		URL:    "http://127.0.0.1:3000/crm",
		Header: map[string][]string{"Content-Type": {"application/json"}, "Authorization": {"Bearer x"}},
		Body:   []byte(`{"note":"it's"}`),
	}
	want := `curl -sS -i 'http://127.0.0.1:3000/crm' \
  -H 'Authorization: Bearer x' \
  -H 'Content-Type: application/json' \
  --data-raw '{"note":"it'\''s"}'`
	if got := req.Curl(); got != want {
		t.Errorf("Curl() =\n%s\nwant\n%s", got, want)
	}
	req.Method, req.Body = "GET", nil
	if got := req.Curl(); !strings.HasPrefix(got, "curl -sS -i -X 'GET' ") || strings.Contains(got, "--data-raw") {
		t.Errorf("Curl() of a GET without body = %s", got)
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "'plain'"},
		{"", "''"},
		{"a'b", `'a'\''b'`},
		{"$HOME `x` \"q\"", "'$HOME `x` \"q\"'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
