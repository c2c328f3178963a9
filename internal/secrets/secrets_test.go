package secrets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

const (
	acct  = "AC0123456789abcdef0123456789abcdef"
	keyID = "SK0123456789abcdef0123456789abcdef"
)

func TestValueNeverPrints(t *testing.T) {
	v := NewValue("hunter2secret")
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("x", "v", v, "s", struct{ V Value }{v})
	j, _ := json.Marshal(map[string]any{"v": v, "p": &v})
	txt, _ := v.MarshalText()
	outputs := []string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x %X %10s", v, v, v, v, v, v, v, v),
		fmt.Sprintf("%v %+v %#v", struct{ V Value }{v}, &struct{ V Value }{v}, []Value{v}),
		string(j), string(txt), logBuf.String(),
	}
	for _, out := range outputs {
		if strings.Contains(out, "hunter2") || strings.Contains(out, fmt.Sprintf("%x", "hunter2")) {
			t.Errorf("printed form %q reveals the secret", out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("printed form %q does not say %s", out, Redacted)
		}
	}
	if v.Reveal() != "hunter2secret" {
		t.Errorf("Reveal() = %q, want the secret", v.Reveal())
	}
}

func TestParse(t *testing.T) {
	got, err := Parse([]byte(`{"account_sid":" ` + acct + `\n","auth_token":"tok1\n","auth_token_secondary":"tok2",
		"api_key_sid":"` + keyID + `","api_key_secret":"keysecret","crm_webhook_secret":"whsec_a",
		"crm_webhook_secrets":["whsec_b"," "],"crm_api_token":["t1","t2"],"extra":{"x":1}}`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got.AccountSID != acct || len(got.AuthTokens) != 2 || got.AuthTokens[0].Reveal() != "tok1" ||
		got.AuthTokens[1].Reveal() != "tok2" || got.APIKeySID != keyID || got.APIKeySecret.Reveal() != "keysecret" {
		t.Errorf("Parse = %+v: wrong credentials", got)
	}
	if len(got.CRMWebhookSecrets) != 2 || got.CRMWebhookSecrets[1].Reveal() != "whsec_b" || len(got.CRMAPITokens) != 2 {
		t.Errorf("Parse CRM secrets = %d secrets, %d tokens; want 2 and 2", len(got.CRMWebhookSecrets), len(got.CRMAPITokens))
	}
	if u, p := got.RESTCredentials(); u != keyID || p.Reveal() != "keysecret" {
		t.Errorf("RESTCredentials() = %s, want the API key", u)
	}
	plain, err := Parse([]byte(`{"account_sid":"` + acct + `","auth_token":"tok1"}`))
	if err != nil {
		t.Fatalf("Parse(minimal): %v", err)
	}
	if u, p := plain.RESTCredentials(); u != acct || p.Reveal() != "tok1" {
		t.Errorf("RESTCredentials() without API key = %s, want the account SID and auth token", u)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, doc, field string
	}{
		{"not JSON", `{"account_sid": "AC`, ""},
		{"array", `["x"]`, ""},
		{"null", `null`, ""},
		{"missing account", `{"auth_token":"t"}`, "account_sid"},
		{"bad account", `{"account_sid":"AC123","auth_token":"t"}`, "account_sid"},
		{"missing token", `{"account_sid":"` + acct + `"}`, "auth_token"},
		{"token type", `{"account_sid":"` + acct + `","auth_token":5}`, "auth_token"},
		{"token chars", `{"account_sid":"` + acct + `","auth_token":"abc def"}`, "auth_token"},
		{"secondary chars", `{"account_sid":"` + acct + `","auth_token":"a","auth_token_secondary":"b-c"}`, "auth_token_secondary"},
		{"key without secret", `{"account_sid":"` + acct + `","auth_token":"a","api_key_sid":"` + keyID + `"}`, "api_key_secret"},
		{"secret without key", `{"account_sid":"` + acct + `","auth_token":"a","api_key_secret":"s"}`, "api_key_sid"},
		{"bad key", `{"account_sid":"` + acct + `","auth_token":"a","api_key_sid":"SK1","api_key_secret":"s"}`, "api_key_sid"},
		{"crm type", `{"account_sid":"` + acct + `","auth_token":"a","crm_api_token":{"a":1}}`, "crm_api_token"},
		{"crm_sources not an object", `{"account_sid":"` + acct + `","auth_token":"a","crm_sources":["x"]}`, "crm_sources"},
		{"crm_sources entry type", `{"account_sid":"` + acct + `","auth_token":"a","crm_sources":{"zendesk":5}}`, "crm_sources.zendesk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(%s) error = %v, want *FormatError", tt.doc, err)
			}
			if fe.Field != tt.field {
				t.Errorf("Parse(%s) error field = %q, want %q", tt.doc, fe.Field, tt.field)
			}
			if strings.Contains(err.Error(), "abc def") || strings.Contains(err.Error(), "b-c") {
				t.Errorf("Parse error %q quotes a secret value", err)
			}
		})
	}
}

// fakeSM is a scripted GetSecretValue; the real client against a loopback
// Secrets Manager is exercised in the integration tests.
type fakeSM struct {
	calls   int
	version int
	doc     string
	err     error
}

func (f *fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	v := fmt.Sprintf("v%d", f.version)
	return &secretsmanager.GetSecretValueOutput{SecretString: &f.doc, VersionId: &v, Name: in.SecretId}, nil
}

func (f *fakeSM) rotate(token string) {
	f.version++
	f.doc = `{"account_sid":"` + acct + `","auth_token":"` + token + `"}`
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestCacheTTLAndStaleOnError(t *testing.T) {
	sm := &fakeSM{}
	sm.rotate("tok1")
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := NewCache(sm, "id", Options{TTL: time.Minute, Now: clk.now})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := c.Get(ctx); err != nil {
			t.Fatalf("Get: %v", err)
		}
	}
	if sm.calls != 1 {
		t.Errorf("3 Gets within the TTL made %d Secrets Manager calls, want 1", sm.calls)
	}
	clk.advance(61 * time.Second)
	sm.rotate("tok2")
	got, _ := c.Get(ctx)
	if sm.calls != 2 || got.AuthTokens[0].Reveal() != "tok2" {
		t.Errorf("Get after TTL: calls = %d, token rotated = %v; want a refetch", sm.calls, got.AuthTokens[0].Reveal() == "tok2")
	}
	clk.advance(61 * time.Second)
	sm.err = &smithy.GenericAPIError{Code: "InternalServiceError"}
	got, err := c.Get(ctx)
	if err != nil || got.AuthTokens[0].Reveal() != "tok2" {
		t.Errorf("Get with Secrets Manager down = %v, %v; want the cached secret", got, err)
	}
}

func TestCacheColdErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		retryable bool
	}{
		{"throttled", &smithy.GenericAPIError{Code: "ThrottlingException"}, true},
		{"internal", &smithy.GenericAPIError{Code: "InternalServiceError"}, true},
		{"network", errors.New("dial tcp: connection refused"), true},
		{"not found", &smithy.GenericAPIError{Code: "ResourceNotFoundException"}, false},
		{"denied", &smithy.GenericAPIError{Code: "AccessDeniedException"}, false},
		{"kms", &smithy.GenericAPIError{Code: "DecryptionFailure"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCache(&fakeSM{err: tt.err}, "flexhook/twilio", Options{})
			_, err := c.Get(context.Background())
			var fe *FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("Get error = %v, want *FetchError", err)
			}
			if fe.RetryableError() != tt.retryable || errors.Is(err, ErrUnavailable) != tt.retryable {
				t.Errorf("Get error %v: retryable = %v, want %v", err, fe.RetryableError(), tt.retryable)
			}
			if !strings.Contains(err.Error(), "flexhook/twilio") {
				t.Errorf("Get error %q does not name the secret", err)
			}
		})
	}
	bad := &fakeSM{doc: `{"account_sid":"nope"}`}
	if _, err := NewCache(bad, "id", Options{}).Get(context.Background()); !errors.As(err, new(*FormatError)) {
		t.Errorf("Get of a malformed secret = %v, want *FormatError", err)
	}
}

func TestCacheRefreshIsRateLimited(t *testing.T) {
	sm := &fakeSM{}
	sm.rotate("tok1")
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c := NewCache(sm, "id", Options{TTL: time.Hour, MinRefreshInterval: time.Minute, Now: clk.now})
	ctx := context.Background()
	if _, err := c.Get(ctx); err != nil {
		t.Fatal(err)
	}
	sm.rotate("tok2")
	got, changed, err := c.Refresh(ctx)
	if err != nil || !changed || got.AuthTokens[0].Reveal() != "tok2" {
		t.Fatalf("Refresh after rotation = changed %v, err %v; want the new token", changed, err)
	}
	// An attacker sending bad signatures: many refreshes within a minute
	// reach Secrets Manager no more.
	calls := sm.calls
	for i := 0; i < 50; i++ {
		clk.advance(time.Second)
		if _, changed, _ := c.Refresh(ctx); changed {
			t.Fatalf("Refresh %d reported a change without a rotation", i)
		}
	}
	if sm.calls != calls {
		t.Errorf("50 refreshes within a minute made %d Secrets Manager calls, want 0", sm.calls-calls)
	}
	clk.advance(15 * time.Second)
	if _, changed, _ := c.Refresh(ctx); changed || sm.calls != calls+1 {
		t.Errorf("Refresh after the interval: changed %v, calls %d; want one call, no change", changed, sm.calls-calls)
	}
	if c.Fetches() != sm.calls {
		t.Errorf("Fetches() = %d, want %d", c.Fetches(), sm.calls)
	}
}

// deadlineSM reports the deadline GetSecretValue was given.
type deadlineSM struct {
	fakeSM
	got time.Time
}

func (d *deadlineSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	d.got, _ = ctx.Deadline()
	return d.fakeSM.GetSecretValue(ctx, in, o...)
}

func TestFetchLeavesTimeToAnswer(t *testing.T) {
	sm := &deadlineSM{}
	sm.rotate("tok")
	deadline := time.Now().Add(5 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if _, err := NewCache(sm, "id", Options{}).Get(ctx); err != nil {
		t.Fatal(err)
	}
	if !sm.got.Equal(deadline.Add(-fetchMargin)) {
		t.Errorf("fetch deadline = %v, want the caller's minus %v", sm.got, fetchMargin)
	}
}

func TestParseCRMSources(t *testing.T) {
	tw, err := Parse([]byte(`{"account_sid":"` + acct + `","auth_token":"a",
		"crm_sources":{"zendesk":"zd-secret\n","hubspot":["old"," new "],"empty":[" "]}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for k, vs := range tw.CRMSources {
		for _, v := range vs {
			got[k] = append(got[k], v.Reveal())
		}
	}
	want := map[string][]string{"zendesk": {"zd-secret"}, "hubspot": {"old", "new"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("CRMSources = %v, want %v", got, want)
	}
	other, _ := Parse([]byte(`{"account_sid":"` + acct + `","auth_token":"a","crm_sources":{"zendesk":"rotated","hubspot":["old","new"]}}`))
	if sameSecret(tw, other) {
		t.Error("sameSecret ignores a rotated crm_sources secret")
	}
}
