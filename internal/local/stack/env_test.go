package stack

import (
	"errors"
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/secrets"
)

const (
	realAccount = "AC0123456789abcdef0123456789abcdef"
	realKey     = "SK0123456789abcdef0123456789abcdef"
)

func TestRealCredentialsFromEnv(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantMissing bool   // the error wraps ErrMissingCredentials
		wantInErr   string // the variable the error names; "" for success
		wantKey     bool
	}{
		{name: "auth token", env: map[string]string{EnvAccountSID: realAccount, EnvAuthToken: "tok0123"}},
		{name: "with API key", env: map[string]string{EnvAccountSID: realAccount, EnvAuthToken: "tok0123", EnvAPIKey: realKey, EnvAPISecret: "sec0123"}, wantKey: true},
		{name: "trailing newline trimmed", env: map[string]string{EnvAccountSID: realAccount + "\n", EnvAuthToken: " tok0123\n"}},
		{name: "no account", env: map[string]string{EnvAuthToken: "tok"}, wantMissing: true, wantInErr: EnvAccountSID},
		{name: "no auth token", env: map[string]string{EnvAccountSID: realAccount, EnvAPIKey: realKey, EnvAPISecret: "s"}, wantMissing: true, wantInErr: EnvAuthToken},
		{name: "key without secret", env: map[string]string{EnvAccountSID: realAccount, EnvAuthToken: "t", EnvAPIKey: realKey}, wantMissing: true, wantInErr: EnvAPISecret},
		{name: "secret without key", env: map[string]string{EnvAccountSID: realAccount, EnvAuthToken: "t", EnvAPISecret: "s"}, wantMissing: true, wantInErr: EnvAPIKey},
		{name: "bad account", env: map[string]string{EnvAccountSID: "AC123", EnvAuthToken: "t"}, wantInErr: EnvAccountSID},
		{name: "bad token", env: map[string]string{EnvAccountSID: realAccount, EnvAuthToken: "to-ken"}, wantInErr: EnvAuthToken},
		{name: "bad key", env: map[string]string{EnvAccountSID: realAccount, EnvAuthToken: "t", EnvAPIKey: "SK1", EnvAPISecret: "s"}, wantInErr: EnvAPIKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := RealCredentialsFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantInErr == "" {
				if err != nil {
					t.Fatalf("RealCredentialsFromEnv = %v, want nil", err)
				}
				sec, err := secrets.Parse([]byte(c.secretJSON()))
				if err != nil {
					t.Fatalf("secret of %+v does not parse: %v", c, err)
				}
				if sec.AccountSID != realAccount || len(sec.CRMAPITokens) == 0 || len(sec.CRMWebhookSecrets) == 0 {
					t.Errorf("secret %+v lacks the account or the local CRM credentials", sec)
				}
				if (sec.APIKeySID != "") != tt.wantKey {
					t.Errorf("secret API key %q, want one: %v", sec.APIKeySID, tt.wantKey)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("RealCredentialsFromEnv = %v, want an error naming %s", err, tt.wantInErr)
			}
			if errors.Is(err, ErrMissingCredentials) != tt.wantMissing {
				t.Errorf("errors.Is(%v, ErrMissingCredentials) = %v, want %v", err, !tt.wantMissing, tt.wantMissing)
			}
			for _, v := range tt.env {
				if len(v) > 3 && strings.Contains(err.Error(), v) && !strings.HasPrefix(v, "AC") && !strings.HasPrefix(v, "SK") {
					t.Errorf("error %q quotes a credential", err)
				}
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	tests := []struct {
		in      string
		want    Mode
		wantErr bool
	}{
		{"", Simulator, false}, {"sim", Simulator, false}, {"simulator", Simulator, false},
		{"real", RealTwilio, false}, {"REAL", "", true}, {"prod", "", true},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseMode(%q) = %q, %v, want %q (error: %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// The function's environment is checked as the function checks it, and a
// bad entry is reported by name.
func TestCheckFunctionEnv(t *testing.T) {
	base := functionEnv("http://127.0.0.1:1", "http://127.0.0.1:2", "", "WS0000000000000000000000000000f1e0", nil)
	tests := []struct {
		name    string
		extra   []string
		wantVar string // "" when valid
	}{
		{name: "defaults"},
		{name: "inactive", extra: []string{"CLOSE_STATUS=inactive"}},
		{name: "public URL", extra: []string{"PUBLIC_BASE_URL=https://abc.trycloudflare.com"}},
		{name: "bad status", extra: []string{"CLOSE_STATUS=deleted"}, wantVar: config.EnvCloseStatus},
		{name: "public URL with query", extra: []string{"PUBLIC_BASE_URL=https://x.example/?a=1"}, wantVar: config.EnvPublicBaseURL},
		{name: "bad workspace", extra: []string{"TASKROUTER_WORKSPACE_SID=WS1"}, wantVar: config.EnvWorkspaceSID},
		{name: "not KEY=value", extra: []string{"CLOSE_STATUS"}, wantVar: "CLOSE_STATUS"},
	}
	for _, tt := range tests {
		err := checkFunctionEnv(append(append([]string(nil), base...), tt.extra...))
		switch {
		case tt.wantVar == "" && err != nil:
			t.Errorf("%s: checkFunctionEnv = %v, want nil", tt.name, err)
		case tt.wantVar != "" && (err == nil || !strings.Contains(err.Error(), tt.wantVar)):
			t.Errorf("%s: checkFunctionEnv = %v, want an error naming %s", tt.name, err, tt.wantVar)
		}
	}
}

// Without a simulator URL the function talks to the real Twilio API: no
// TWILIO_API_BASE_URL at all.
func TestFunctionEnv(t *testing.T) {
	env := functionEnv("http://sm", "", "https://pub.example", "", []string{"LOG_LEVEL=debug"})
	joined := strings.Join(env, "\n")
	for _, want := range []string{"TWILIO_SECRET_ID=" + SecretID, "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://sm", "PUBLIC_BASE_URL=https://pub.example", "LOG_LEVEL=debug"} {
		if !strings.Contains(joined, want) {
			t.Errorf("function env lacks %s:\n%s", want, joined)
		}
	}
	for _, absent := range []string{config.EnvTwilioAPIBaseURL, config.EnvWorkspaceSID} {
		if strings.Contains(joined, absent+"=") {
			t.Errorf("function env sets %s:\n%s", absent, joined)
		}
	}
	if last := env[len(env)-1]; last != "LOG_LEVEL=debug" {
		t.Errorf("overrides come last so they win; last entry is %s", last)
	}
}
