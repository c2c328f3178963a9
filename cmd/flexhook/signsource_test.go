package main

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/local/samples"
)

// Each preset signed by `flexhook sign --source` verifies with the
// package's verifier for that scheme (checked against the vendors'
// documented vectors in internal/crm), and fails with another secret.
func TestSignSource(t *testing.T) {
	dir := t.TempDir()
	jsonFile := filepath.Join(dir, "body.json")
	xmlFile := filepath.Join(dir, "body.xml")
	json := `{"ticket":{"status":"solved"},"flex":{"interaction_sid":"KD0000000000000000000000000000f110","channel_sid":"UO0000000000000000000000000000f110"}}`
	xml := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"/>`
	if err := os.WriteFile(jsonFile, []byte(json), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(xmlFile, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		source, file, secret string
		verify               func(req *gateway.Request, secret string) error
	}{
		{"zendesk", jsonFile, samples.ZendeskSigningSecret, func(r *gateway.Request, s string) error {
			return crm.VerifyZendesk(r.Header, r.Body, []string{s}, now, 0)
		}},
		{"hubspot", jsonFile, samples.HubSpotClientSecret, func(r *gateway.Request, s string) error {
			return crm.VerifyHubSpotV3(r.Method, r.PublicURL, r.Header, r.Body, []string{s}, now, 0)
		}},
		{"salesforce", xmlFile, samples.SalesforceToken, func(r *gateway.Request, s string) error {
			q, _ := url.ParseQuery(r.RawQuery)
			return crm.VerifyToken(q.Get(crm.TokenParam), []string{s})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			target := "https://abc.execute-api.us-east-1.amazonaws.com/crm/" + tt.source + "?x=%3A1"
			code, stdout, stderr := cli(t, "", nil, "sign", "--source", tt.source, "--url", target, "--body", "@"+tt.file, "--format", "event")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			req, err := gateway.Decode([]byte(stdout), gateway.Options{})
			if err != nil {
				t.Fatalf("output is not an event: %v\n%s", err, stdout)
			}
			if req.Path != "/crm/"+tt.source {
				t.Errorf("event path %s", req.Path)
			}
			if err := tt.verify(req, tt.secret); err != nil {
				t.Errorf("verify = %v, want nil", err)
			}
			if err := tt.verify(req, "another-secret-0123456789"); !errors.Is(err, crm.ErrBadSignature) && !errors.Is(err, crm.ErrBadToken) {
				t.Errorf("verify with another secret = %v, want a refusal", err)
			}
		})
	}
	// Sources from CRM_SOURCES need their secret on the command line.
	env := map[string]string{"CRM_SOURCES": `[{"name":"legacy","scheme":"basic","map":{"task_sid":"/wt"}}]`}
	code, _, stderr := cli(t, "", env, "sign", "--source", "legacy", "--url", "http://127.0.0.1:3000/crm/legacy", "--body", "{}")
	if code != exitUsage || !strings.Contains(stderr, "--secret is required") {
		t.Errorf("basic source without --secret: exit %d, %s", code, stderr)
	}
	code, stdout, stderr := cli(t, "", env, "sign", "--source", "legacy", "--secret", "zendesk:pw", "--url", "http://127.0.0.1:3000/crm/legacy", "--body", "{}")
	if code != exitOK || !strings.Contains(stdout, "-H 'Authorization: Basic emVuZGVzazpwdw=='") || !strings.Contains(stdout, "--data-raw '{}'") {
		t.Errorf("basic curl: exit %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = cli(t, "", env, "sign", "--source", "zendesk", "--url", "http://127.0.0.1:3000/crm/zendesk", "--body", "{}")
	if code != exitUsage || !strings.Contains(stderr, `"zendesk" is not among`) {
		t.Errorf("unknown source: exit %d, %s", code, stderr)
	}
}
