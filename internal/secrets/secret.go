package secrets

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/flexhook/flexhook/internal/sid"
)

// Twilio is the parsed content of the flexhook secret.
type Twilio struct {
	// AccountSID is the Twilio account (AC…) events must belong to.
	AccountSID string
	// AuthTokens are the account's auth tokens, primary first: the primary
	// token and, during a token rotation, the secondary one. Signatures made
	// with any of them are accepted.
	AuthTokens []Value
	// APIKeySID and APIKeySecret, when set, authenticate REST calls instead
	// of the auth token.
	APIKeySID    string
	APIKeySecret Value
	// CRMWebhookSecrets are the Standard Webhooks secrets (whsec_…) CRM
	// callbacks may be signed with; several during a rotation.
	CRMWebhookSecrets []Value
	// CRMAPITokens are the static bearer tokens CRMs may send instead.
	CRMAPITokens []Value
	// CRMSources holds the secrets of each named CRM source (CRM_SOURCES),
	// from "crm_sources": {"name": "…" or ["…", …]}; several during a
	// rotation. What a secret is depends on the source's scheme.
	CRMSources map[string][]Value
	// VersionID is the Secrets Manager version the values came from.
	VersionID string
}

// RESTCredentials returns the username and password for Twilio REST calls:
// the API key when one is configured, otherwise the account SID and primary
// auth token.
func (t *Twilio) RESTCredentials() (username string, password Value) {
	if t.APIKeySID != "" {
		return t.APIKeySID, t.APIKeySecret
	}
	return t.AccountSID, t.AuthTokens[0]
}

// FormatError reports a secret whose content is unusable. It names the JSON
// field, never its value.
type FormatError struct {
	Field  string
	Reason string
}

func (e *FormatError) Error() string {
	msg := "secret: " + e.Reason
	if e.Field != "" {
		msg = fmt.Sprintf("secret: field %q %s", e.Field, e.Reason)
	}
	return msg
}

// Parse decodes a SecretString:
//
//	{"account_sid":"AC…","auth_token":"…","auth_token_secondary":"…",
//	 "api_key_sid":"SK…","api_key_secret":"…",
//	 "crm_webhook_secret":"whsec_…" or ["whsec_…", …],
//	 "crm_api_token":"…" or ["…", …],
//	 "crm_sources":{"zendesk":"…" or ["…", …], …}}
//
// account_sid and auth_token are required; an API key needs both its fields.
// Values are trimmed of surrounding whitespace (a trailing newline pasted into
// the console would otherwise break every call). Errors are *FormatError and
// never contain secret values.
func Parse(secretString []byte) (*Twilio, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(secretString, &doc); err != nil || doc == nil {
		// Syntax errors can quote the document: say only where it broke.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, &FormatError{Reason: fmt.Sprintf("is not a JSON object (syntax error at byte %d)", se.Offset)}
		}
		return nil, &FormatError{Reason: "is not a JSON object"}
	}
	f := &fieldReader{doc: doc}
	t := &Twilio{
		AccountSID:        f.str("account_sid"),
		APIKeySID:         f.str("api_key_sid"),
		APIKeySecret:      NewValue(f.str("api_key_secret")),
		CRMWebhookSecrets: append(f.list("crm_webhook_secret"), f.list("crm_webhook_secrets")...),
		CRMAPITokens:      append(f.list("crm_api_token"), f.list("crm_api_tokens")...),
	}
	t.CRMSources = f.sources("crm_sources")
	primary, secondary := f.str("auth_token"), f.str("auth_token_secondary")
	if f.err != nil {
		return nil, f.err
	}
	switch {
	case t.AccountSID == "":
		return nil, &FormatError{Field: "account_sid", Reason: "is required"}
	case !sid.Valid(sid.Account, t.AccountSID):
		return nil, &FormatError{Field: "account_sid", Reason: "must be an AC SID"}
	case primary == "":
		return nil, &FormatError{Field: "auth_token", Reason: "is required"}
	case !alnum(primary):
		return nil, &FormatError{Field: "auth_token", Reason: "must contain only letters and digits"}
	case !alnum(secondary):
		return nil, &FormatError{Field: "auth_token_secondary", Reason: "must contain only letters and digits"}
	case t.APIKeySID == "" && !t.APIKeySecret.IsZero():
		return nil, &FormatError{Field: "api_key_sid", Reason: "is required with api_key_secret"}
	case t.APIKeySID != "" && t.APIKeySecret.IsZero():
		return nil, &FormatError{Field: "api_key_secret", Reason: "is required with api_key_sid"}
	case t.APIKeySID != "" && !sid.Valid(sid.APIKey, t.APIKeySID):
		return nil, &FormatError{Field: "api_key_sid", Reason: "must be an SK SID"}
	case !alnum(t.APIKeySecret.Reveal()):
		return nil, &FormatError{Field: "api_key_secret", Reason: "must contain only letters and digits"}
	}
	t.AuthTokens = []Value{NewValue(primary)}
	if secondary != "" && secondary != primary {
		t.AuthTokens = append(t.AuthTokens, NewValue(secondary))
	}
	return t, nil
}

// fieldReader reads typed fields out of a decoded JSON object, keeping the
// first error.
type fieldReader struct {
	doc map[string]json.RawMessage
	err error
}

// alnum reports whether s has only ASCII letters and digits, the only
// characters twilio-go accepts in credentials.
func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// str returns the trimmed string field name, or "" when it is absent or null.
func (r *fieldReader) str(name string) string {
	b, ok := r.doc[name]
	if !ok || string(b) == "null" {
		return ""
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		r.fail(name, "must be a string")
		return ""
	}
	return strings.TrimSpace(s)
}

// list returns field name, a string or a list of strings, trimmed and
// without empty entries.
func (r *fieldReader) list(name string) []Value {
	b, ok := r.doc[name]
	if !ok || string(b) == "null" {
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			r.fail(name, "must be a string or a list of strings")
			return nil
		}
		l = []string{s}
	}
	var out []Value
	for _, s := range l {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, NewValue(s))
		}
	}
	return out
}

// sources returns field name, an object of source name to a string or a
// list of strings; a source with no non-empty entry is left out.
func (r *fieldReader) sources(name string) map[string][]Value {
	b, ok := r.doc[name]
	if !ok || string(b) == "null" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		r.fail(name, "must be an object of source name to a string or a list of strings")
		return nil
	}
	out := make(map[string][]Value, len(obj))
	for src, raw := range obj {
		sub := &fieldReader{doc: map[string]json.RawMessage{name + "." + src: raw}}
		if v := sub.list(name + "." + src); len(v) > 0 {
			out[src] = v
		}
		if sub.err != nil && r.err == nil {
			r.err = sub.err
		}
	}
	return out
}

func (r *fieldReader) fail(name, reason string) {
	if r.err == nil {
		r.err = &FormatError{Field: name, Reason: reason}
	}
}
