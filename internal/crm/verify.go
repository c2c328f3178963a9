package crm

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Canonical header keys of the Standard Webhooks scheme, as they appear in
// an http.Header.
const (
	HeaderID        = "Webhook-Id"
	HeaderTimestamp = "Webhook-Timestamp"
	HeaderSignature = "Webhook-Signature"
)

// DefaultTolerance is how far a webhook-timestamp may be from the clock,
// either way, when Config.Tolerance is zero; the Standard Webhooks
// reference libraries use the same five minutes.
const DefaultTolerance = 5 * time.Minute

// MinSecretLen is the shortest signing key accepted, in bytes after base64
// decoding: the Standard Webhooks spec asks for at least 24.
const MinSecretLen = 24

// MinTokenLen is the shortest bearer token accepted, in bytes.
const MinTokenLen = 16

// maxIDLen bounds the webhook-id header; ids are short opaque strings
// such as "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W".
const maxIDLen = 256

// secretPrefix marks a serialized Standard Webhooks symmetric secret.
const secretPrefix = "whsec_"

// Errors returned by Verify, possibly wrapped with detail; test them with
// errors.Is.
var (
	// ErrNotSigned means the request carries neither a webhook-signature
	// header nor an Authorization header.
	ErrNotSigned = errors.New("crm: request is neither signed nor bearer-authenticated")
	// ErrBadSignature means no v1 signature matched any configured secret,
	// or the request is signed but no secret is configured.
	ErrBadSignature = errors.New("crm: no valid webhook signature")
	// ErrTimestamp means webhook-timestamp is further from the clock than
	// the tolerance, in the past (a replay) or in the future.
	ErrTimestamp = errors.New("crm: webhook timestamp outside tolerance")
	// ErrBadToken means the bearer token matched no configured token, or
	// no token is configured.
	ErrBadToken = errors.New("crm: bearer token not accepted")
	// ErrMalformedHeader means an authentication header is unusable: given
	// more than once, webhook-id or webhook-timestamp missing or malformed,
	// webhook-signature without any "version,signature" entry, or an
	// Authorization header that is not a Bearer credential.
	ErrMalformedHeader = errors.New("crm: malformed authentication header")
	// ErrBadConfig is returned by ParseSecret, NewVerifier and Sign for
	// secrets, tokens or settings that cannot be used.
	ErrBadConfig = errors.New("crm: invalid authentication configuration")
)

// Secret is a Standard Webhooks symmetric signing key. Its String,
// GoString and LogValue methods never reveal it.
type Secret struct {
	key []byte
}

// ParseSecret decodes a signing secret serialized as "whsec_<base64>" or as
// bare base64 (padded or not), after trimming surrounding white space such
// as the newline a secrets store may keep. It returns an error wrapping
// ErrBadConfig, which never quotes the secret, when the text is not base64
// or the key is shorter than MinSecretLen bytes.
func ParseSecret(s string) (Secret, error) {
	enc := strings.TrimPrefix(strings.TrimSpace(s), secretPrefix)
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(enc)
	}
	if err != nil {
		return Secret{}, fmt.Errorf("%w: signing secret is not whsec_<base64>", ErrBadConfig)
	}
	if len(key) < MinSecretLen {
		return Secret{}, fmt.Errorf("%w: signing key has %d bytes, want at least %d", ErrBadConfig, len(key), MinSecretLen)
	}
	return Secret{key: key}, nil
}

// String returns "REDACTED".
func (Secret) String() string { return "REDACTED" }

// GoString returns "crm.Secret{REDACTED}".
func (Secret) GoString() string { return "crm.Secret{REDACTED}" }

// LogValue returns "REDACTED", so slog never prints the key.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Signature returns the "v1,<base64>" signature of body sent with the given
// webhook id and timestamp, as it appears in a webhook-signature header.
func (s Secret) Signature(id string, ts time.Time, body []byte) string {
	var sig [signatureLen]byte
	s.sign(&sig, []byte(fmt.Sprintf("%s.%d.", id, ts.Unix())), body)
	return "v1," + string(sig[:])
}

// signatureLen is the length of a base64 HMAC-SHA256.
const signatureLen = 44

// sign writes the base64 HMAC-SHA256 of prefix followed by body into sig.
func (s Secret) sign(sig *[signatureLen]byte, prefix, body []byte) {
	m := hmac.New(sha256.New, s.key)
	m.Write(prefix)
	m.Write(body)
	var sum [sha256.Size]byte
	base64.StdEncoding.Encode(sig[:], m.Sum(sum[:0]))
}

// Config lists the credentials a Verifier accepts. At least one secret or
// one token is required.
type Config struct {
	// Secrets are Standard Webhooks signing secrets, "whsec_<base64>" or
	// bare base64. A signature made with any of them is accepted.
	Secrets []string
	// Tokens are accepted bearer tokens: RFC 6750 b64token syntax, at
	// least MinTokenLen bytes.
	Tokens []string
	// Tolerance is how far webhook-timestamp may be from the clock, either
	// way; zero means DefaultTolerance.
	Tolerance time.Duration
}

// Verifier authenticates CRM callbacks. Build it once per cold start with
// NewVerifier; it is immutable and safe for concurrent use.
type Verifier struct {
	secrets   []Secret
	tokens    [][sha256.Size]byte // SHA-256 of each token, so comparison time is independent of length
	tolerance time.Duration
}

// NewVerifier validates c and returns a Verifier for it. Errors wrap
// ErrBadConfig and say which entry is wrong without quoting it.
func NewVerifier(c Config) (*Verifier, error) {
	if len(c.Secrets) == 0 && len(c.Tokens) == 0 {
		return nil, fmt.Errorf("%w: no signing secret and no bearer token", ErrBadConfig)
	}
	if c.Tolerance < 0 {
		return nil, fmt.Errorf("%w: negative tolerance %v", ErrBadConfig, c.Tolerance)
	}
	v := &Verifier{tolerance: c.Tolerance}
	if v.tolerance == 0 {
		v.tolerance = DefaultTolerance
	}
	for i, s := range c.Secrets {
		sec, err := ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i, err)
		}
		v.secrets = append(v.secrets, sec)
	}
	for i, t := range c.Tokens {
		t = strings.TrimSpace(t)
		if len(t) < MinTokenLen || !isB64Token(t) {
			return nil, fmt.Errorf("token %d: %w: want at least %d characters of RFC 6750 token syntax", i, ErrBadConfig, MinTokenLen)
		}
		v.tokens = append(v.tokens, sha256.Sum256([]byte(t)))
	}
	return v, nil
}

// String describes the Verifier without revealing any key.
func (v Verifier) String() string {
	return fmt.Sprintf("crm.Verifier{secrets: %d, tokens: %d, tolerance: %v}", len(v.secrets), len(v.tokens), v.tolerance)
}

// GoString describes the Verifier like String, for the %#v verb.
func (v Verifier) GoString() string { return v.String() }

// LogValue describes the Verifier for slog without revealing any key.
func (v Verifier) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("secrets", len(v.secrets)),
		slog.Int("tokens", len(v.tokens)),
		slog.Duration("tolerance", v.tolerance),
	)
}

// Verify authenticates a callback from its headers (canonical keys, as
// http.Header.Set and gateway.Decode produce), its raw body and the
// current time. It returns nil when the request is authentic.
//
// A request carrying webhook-signature is judged by its signature when a
// secret is configured; otherwise a request carrying Authorization is
// judged by its bearer token when a token is configured. The signature
// path requires exactly one webhook-id (1-256 visible ASCII bytes), one
// webhook-timestamp (decimal unix seconds within the tolerance of now,
// bounds included) and one webhook-signature holding at least one v1
// entry that matches a configured secret; entries of other versions, such
// as v1a, are ignored. The timestamp is checked before any HMAC is
// computed, so a stale request is ErrTimestamp whatever its signature.
//
// Errors wrap ErrNotSigned, ErrMalformedHeader, ErrTimestamp,
// ErrBadSignature or ErrBadToken, as documented on each.
func (v *Verifier) Verify(h http.Header, body []byte, now time.Time) error {
	sigs, hasSig, err := single(h, HeaderSignature)
	if err != nil {
		return err
	}
	auth, hasAuth, err := single(h, "Authorization")
	if err != nil {
		return err
	}
	switch {
	case hasSig && len(v.secrets) > 0:
		return v.verifySignature(h, sigs, body, now)
	case hasAuth && len(v.tokens) > 0:
		return v.verifyBearer(auth)
	case hasSig:
		return fmt.Errorf("%w: no signing secret is configured", ErrBadSignature)
	case hasAuth:
		return fmt.Errorf("%w: no bearer token is configured", ErrBadToken)
	}
	return ErrNotSigned
}

// single returns the only value of header key, refusing repeats.
func single(h http.Header, key string) (string, bool, error) {
	switch vs := h[key]; len(vs) {
	case 0:
		return "", false, nil
	case 1:
		return vs[0], true, nil
	}
	return "", false, fmt.Errorf("%w: %s given more than once", ErrMalformedHeader, key)
}

func (v *Verifier) verifySignature(h http.Header, sigs string, body []byte, now time.Time) error {
	id, ok, err := single(h, HeaderID)
	if err != nil {
		return err
	}
	if !ok || !validID(id) {
		return fmt.Errorf("%w: %s missing or not 1-%d visible ASCII characters", ErrMalformedHeader, HeaderID, maxIDLen)
	}
	ts, ok, err := single(h, HeaderTimestamp)
	if err != nil {
		return err
	}
	sec, valid := parseUnix(ts)
	if !ok || !valid {
		return fmt.Errorf("%w: %s missing or not unix seconds", ErrMalformedHeader, HeaderTimestamp)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > v.tolerance || d < -v.tolerance {
		return fmt.Errorf("%w: %s %d is %v away from now", ErrTimestamp, HeaderTimestamp, sec, d.Round(time.Second))
	}

	entries, v1 := countEntries(sigs)
	if entries == 0 {
		return fmt.Errorf("%w: %s has no version,signature entry", ErrMalformedHeader, HeaderSignature)
	}
	if v1 == 0 {
		return fmt.Errorf("%w: no v1 signature", ErrBadSignature)
	}

	// The signed content is "{id}.{timestamp}.{body}", timestamp as sent.
	prefix := make([]byte, 0, len(id)+len(ts)+2)
	prefix = append(append(append(append(prefix, id...), '.'), ts...), '.')
	var want, got [signatureLen]byte
	for _, s := range v.secrets {
		s.sign(&want, prefix, body)
		for rest := sigs; rest != ""; {
			var entry string
			entry, rest, _ = strings.Cut(rest, " ")
			version, sig, ok := strings.Cut(entry, ",")
			if !ok || version != "v1" || len(sig) != signatureLen {
				continue
			}
			copy(got[:], sig)
			if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
				return nil
			}
		}
	}
	return ErrBadSignature
}

// countEntries counts the "version,signature" entries of a
// webhook-signature value, and among them the v1 entries.
func countEntries(sigs string) (entries, v1 int) {
	for rest := sigs; rest != ""; {
		var entry string
		entry, rest, _ = strings.Cut(rest, " ")
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version == "" || sig == "" {
			continue
		}
		entries++
		if version == "v1" {
			v1++
		}
	}
	return entries, v1
}

func (v *Verifier) verifyBearer(auth string) error {
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return fmt.Errorf("%w: Authorization is not a Bearer credential", ErrMalformedHeader)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return fmt.Errorf("%w: empty bearer token", ErrMalformedHeader)
	}
	sum := sha256.Sum256([]byte(token))
	match := 0
	for i := range v.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], v.tokens[i][:])
	}
	if match != 1 {
		return ErrBadToken
	}
	return nil
}

// validID reports whether id is a usable webhook-id: 1 to maxIDLen visible
// ASCII characters.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return false
		}
	}
	return true
}

// maxUnix is the largest webhook-timestamp read: 18 digits, so parsing
// cannot overflow.
const maxUnix = 999_999_999_999_999_999

// parseUnix parses a webhook-timestamp: 1 to 18 decimal digits, no sign,
// so the value signed and the value checked are the same text.
func parseUnix(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isB64Token reports whether s matches the RFC 6750 b64token syntax:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}
