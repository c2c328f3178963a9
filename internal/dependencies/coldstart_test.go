package dependencies

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/secrets/secretstest"
)

const secretDoc = `{"account_sid":"AC0123456789abcdef0123456789abcdef","auth_token":"tok1",
	"api_key_sid":"SK0123456789abcdef0123456789abcdef","api_key_secret":"keysecret"}`

// newSM serves a fake Secrets Manager and points the SDK's default
// configuration chain at it, exactly as a deployment's environment would.
func newSM(t *testing.T) *secretstest.Server {
	sm := secretstest.New()
	srv := httptest.NewServer(sm)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	return sm
}

func TestNewTwilioWarmsTheCache(t *testing.T) {
	sm := newSM(t)
	sm.Put("flexhook/twilio", secretDoc)
	tw, err := NewTwilio(context.Background(), TwilioOptions{SecretID: "flexhook/twilio"})
	if err != nil {
		t.Fatal(err)
	}
	if n := sm.Count("GetSecretValue"); n != 1 {
		t.Errorf("cold start made %d GetSecretValue calls, want 1", n)
	}
	cr, err := credentials{tw.Secrets}.Credentials(context.Background())
	if err != nil || cr.Username != "SK0123456789abcdef0123456789abcdef" || cr.Password.Reveal() != "keysecret" || cr.AccountSID != "AC0123456789abcdef0123456789abcdef" {
		t.Errorf("Credentials = %+v, %v; want the API key", cr, err)
	}
	if n := sm.Count("GetSecretValue"); n != 1 {
		t.Errorf("a warm read made a Secrets Manager call")
	}
	// A rotation is picked up by a refresh.
	sm.Put("flexhook/twilio", strings.Replace(secretDoc, "keysecret", "keysecret2", 1))
	if changed, err := (credentials{tw.Secrets}).Refresh(context.Background()); err != nil || !changed {
		t.Errorf("Refresh after rotation = %v, %v; want changed", changed, err)
	}
}

func TestNewTwilioRetriesThrottling(t *testing.T) {
	sm := newSM(t)
	sm.Put("flexhook/twilio", secretDoc)
	sm.Inject(secretstest.Fault{Type: secretstest.CodeThrottling, Times: 4})
	var logs bytes.Buffer
	tw, err := NewTwilio(context.Background(), TwilioOptions{SecretID: "flexhook/twilio", Logger: newLogger(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Secrets.Get(context.Background()); err != nil {
		t.Errorf("secret not loaded after throttling: %v\n%s", err, logs.String())
	}
	if n := sm.Count("GetSecretValue"); n != 5 {
		t.Errorf("GetSecretValue calls = %d, want 5 (4 throttled, retried by the SDK and then by the warm-up)", n)
	}
}

func TestNewTwilioSurvivesOutage(t *testing.T) {
	sm := newSM(t)
	sm.Put("flexhook/twilio", secretDoc)
	sm.Inject(secretstest.Fault{Type: secretstest.CodeAccessDenied})
	var logs bytes.Buffer
	tw, err := NewTwilio(context.Background(), TwilioOptions{SecretID: "flexhook/twilio", Logger: newLogger(&logs)})
	if err != nil {
		t.Fatalf("cold start failed on a Secrets Manager error: %v", err)
	}
	if !strings.Contains(logs.String(), "AccessDeniedException") || strings.Contains(logs.String(), "tok1") {
		t.Errorf("cold start log = %s, want the error code and no secret", logs.String())
	}
	// A permanent error is not retried at cold start.
	if n := sm.Count("GetSecretValue"); n != 1 {
		t.Errorf("AccessDenied was tried %d times at cold start, want 1", n)
	}
	sm.ClearFaults()
	if _, err := tw.Secrets.Get(context.Background()); err != nil {
		t.Errorf("secret after the outage: %v", err)
	}
}
