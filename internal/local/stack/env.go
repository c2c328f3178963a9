package stack

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/secrets"
)

// Mode says which Twilio the function talks to.
type Mode string

// Modes.
const (
	// Simulator is the embedded Flex and TaskRouter simulator
	// (internal/flex/flextest), seeded with the sample channels.
	Simulator Mode = "sim"
	// RealTwilio is the real Twilio API, with credentials from the
	// environment.
	RealTwilio Mode = "real"
)

// ParseMode reads a --twilio flag value: "sim" (or "simulator") or "real".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "sim", "simulator", "":
		return Simulator, nil
	case "real":
		return RealTwilio, nil
	}
	return "", fmt.Errorf("--twilio=%q: want sim or real", s)
}

// Environment variables read for RealTwilio, named as the Twilio CLI and
// helper libraries name them.
const (
	EnvAccountSID = "TWILIO_ACCOUNT_SID"
	EnvAuthToken  = "TWILIO_AUTH_TOKEN"
	EnvAPIKey     = "TWILIO_API_KEY"
	EnvAPISecret  = "TWILIO_API_SECRET"
)

// SecretID is the name of the local secret the function reads.
const SecretID = "flexhook/local"

// FunctionTimeout is the function timeout, as in template.yaml.
const FunctionTimeout = 12 * time.Second

// ErrMissingCredentials means RealTwilio was asked for without the
// credentials it needs in the environment.
var ErrMissingCredentials = errors.New("localrun: Twilio credentials missing")

// RealCredentials are the Twilio credentials of RealTwilio mode.
type RealCredentials struct {
	// AccountSID and AuthToken are required: the auth token is what
	// TaskRouter signs its callbacks with.
	AccountSID, AuthToken string
	// APIKeySID and APIKeySecret, when set, authenticate the REST calls
	// instead of the auth token.
	APIKeySID, APIKeySecret string
}

// RealCredentialsFromEnv reads TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and
// optionally TWILIO_API_KEY with TWILIO_API_SECRET through getenv. It returns
// an error wrapping ErrMissingCredentials that names the missing variable, or
// one that names the variable holding an invalid value (never quoting it).
func RealCredentialsFromEnv(getenv func(string) string) (RealCredentials, error) {
	c := RealCredentials{
		AccountSID:   strings.TrimSpace(getenv(EnvAccountSID)),
		AuthToken:    strings.TrimSpace(getenv(EnvAuthToken)),
		APIKeySID:    strings.TrimSpace(getenv(EnvAPIKey)),
		APIKeySecret: strings.TrimSpace(getenv(EnvAPISecret)),
	}
	switch {
	case c.AccountSID == "":
		return c, fmt.Errorf("%w: set %s", ErrMissingCredentials, EnvAccountSID)
	case c.AuthToken == "":
		return c, fmt.Errorf("%w: set %s (it verifies TaskRouter's X-Twilio-Signature)", ErrMissingCredentials, EnvAuthToken)
	case c.APIKeySID != "" && c.APIKeySecret == "":
		return c, fmt.Errorf("%w: %s is set without %s", ErrMissingCredentials, EnvAPIKey, EnvAPISecret)
	case c.APIKeySID == "" && c.APIKeySecret != "":
		return c, fmt.Errorf("%w: %s is set without %s", ErrMissingCredentials, EnvAPISecret, EnvAPIKey)
	}
	if _, err := secrets.Parse([]byte(c.secretJSON())); err != nil {
		var fe *secrets.FormatError
		if errors.As(err, &fe) {
			return c, fmt.Errorf("localrun: %s %s", cmp.Or(envOfField[fe.Field], "the Twilio credentials"), fe.Reason)
		}
		return c, err
	}
	return c, nil
}

// envOfField names the variable each secret field comes from.
var envOfField = map[string]string{
	"account_sid": EnvAccountSID, "auth_token": EnvAuthToken, "api_key_sid": EnvAPIKey, "api_key_secret": EnvAPISecret,
}

// secretJSON is the local secret for these credentials, with the local CRM
// credentials of the samples.
func (c RealCredentials) secretJSON() string {
	doc := map[string]string{
		"account_sid":        c.AccountSID,
		"auth_token":         c.AuthToken,
		"crm_webhook_secret": samples.CRMWebhookSecret,
		"crm_api_token":      samples.CRMAPIToken,
	}
	if c.APIKeySID != "" {
		doc["api_key_sid"], doc["api_key_secret"] = c.APIKeySID, c.APIKeySecret
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// Loaders of the functions' configuration, as each reads it at cold start.
var (
	loadWebhook = func(g func(string) string) error { _, err := config.LoadWebhook(g); return err }
	loadWorker  = func(g func(string) string) error { _, err := config.LoadWorker(g); return err }
	loadSweeper = func(g func(string) string) error { _, err := config.LoadSweeper(g); return err }
)

// baseEnv is what every function's environment starts with, as
// template.yaml would set it but pointed at the local stand-ins: the secret,
// and the Twilio simulator unless twilioURL is empty.
func baseEnv(name, secretsURL, twilioURL string) []string {
	return withVars([]string{
		config.EnvSecretID + "=" + SecretID,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + secretsURL,
		"AWS_REGION=us-east-1",
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
	}, config.EnvTwilioAPIBaseURL, twilioURL)
}

// withVars appends a KEY=value entry to env for each key and value pair of
// kv whose value is not empty.
func withVars(env []string, kv ...string) []string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			env = append(env, kv[i]+"="+kv[i+1])
		}
	}
	return env
}

// functionEnv is the function's environment: what template.yaml would set,
// pointed at the local stand-ins, then the caller's overrides.
func functionEnv(secretsURL, twilioURL, publicURL, workspace string, extra []string) []string {
	env := withVars(baseEnv("flexhook-webhook", secretsURL, twilioURL),
		config.EnvPublicBaseURL, publicURL, config.EnvWorkspaceSID, workspace)
	return append(env, extra...)
}

// checkFunctionEnv validates env as the function will at cold start, so a
// bad override fails now with the variable's name rather than on the first
// request. Entries must be KEY=value.
func checkFunctionEnv(env []string) error { return checkEnv(env, "function", loadWebhook) }

// checkEnv validates env with load, as function fn will at cold start.
func checkEnv(env []string, fn string, load func(func(string) string) error) error {
	vars, err := envMap(env)
	if err != nil {
		return err
	}
	if err := load(func(k string) string { return vars[k] }); err != nil {
		return fmt.Errorf("localrun: %s environment: %w", fn, err)
	}
	return nil
}

// envMap reads KEY=value entries, later ones winning.
func envMap(env []string) (map[string]string, error) {
	vars := map[string]string{}
	for _, e := range env {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t\n") {
			return nil, fmt.Errorf("localrun: environment entry %q: want KEY=value", e)
		}
		vars[k] = v
	}
	return vars, nil
}
