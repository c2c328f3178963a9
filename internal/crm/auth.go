package crm

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Headers of the authentication schemes, canonical keys (as they appear
// in an http.Header).
const (
	// HeaderID, HeaderTimestamp and HeaderSignature are the Standard
	// Webhooks headers.
	HeaderID        = "Webhook-Id"
	HeaderTimestamp = "Webhook-Timestamp"
	HeaderSignature = "Webhook-Signature"
	// HeaderZendeskSignature and HeaderZendeskTimestamp carry a Zendesk
	// webhook signature and the ISO 8601 time it signs
	// (https://developer.zendesk.com/documentation/webhooks/verifying/).
	HeaderZendeskSignature = "X-Zendesk-Webhook-Signature"
	HeaderZendeskTimestamp = "X-Zendesk-Webhook-Signature-Timestamp"
	// HeaderZendeskInvocation is the id of one webhook invocation, the same
	// on every retry of it
	// (https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/).
	HeaderZendeskInvocation = "X-Zendesk-Webhook-Invocation-Id"
	// HeaderHubSpotSignature and HeaderHubSpotTimestamp carry a HubSpot v3
	// signature and the unix milliseconds it signs
	// (https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation).
	HeaderHubSpotSignature = "X-Hubspot-Signature-V3"
	HeaderHubSpotTimestamp = "X-Hubspot-Request-Timestamp"
)

// DefaultTolerance is how far a signed timestamp may be from the clock,
// either way, when no tolerance is given; the Standard Webhooks reference
// libraries and HubSpot use the same five minutes.
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

// Authentication failures, possibly wrapped with detail; test them with
// errors.Is.
var (
	// ErrNotSigned means the request carries none of the credentials its
	// scheme uses (for Verify: neither a webhook-signature header nor an
	// Authorization header).
	ErrNotSigned = errors.New("crm: request is neither signed nor bearer-authenticated")
	// ErrBadSignature means no signature matched any configured secret,
	// or the request is signed but no secret is configured.
	ErrBadSignature = errors.New("crm: no valid webhook signature")
	// ErrTimestamp means the signed timestamp is further from the clock
	// than the tolerance, in the past (a replay) or in the future.
	ErrTimestamp = errors.New("crm: webhook timestamp outside tolerance")
	// ErrBadToken means the bearer token (or Basic credential, or URL
	// token) matched no configured one, or none is configured.
	ErrBadToken = errors.New("crm: bearer token not accepted")
	// ErrWrongOrg means a Salesforce Outbound Message names another
	// organization than the one configured. It wraps ErrBadToken: the org
	// id is the credential Salesforce sends.
	ErrWrongOrg = fmt.Errorf("%w: OrganizationId is not the configured org", ErrBadToken)
	// ErrMalformedHeader means an authentication header is unusable: given
	// more than once, webhook-id or a timestamp missing or malformed,
	// webhook-signature without any "version,signature" entry, or an
	// Authorization header of another scheme.
	ErrMalformedHeader = errors.New("crm: malformed authentication header")
)

// ErrBadConfig is returned by ParseSecret, NewVerifier, NewSourceAuth,
// Sign and SignDelivery for secrets, tokens or settings that cannot be
// used.
var ErrBadConfig = errors.New("crm: invalid authentication configuration")

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
	return "v1," + string(hmacB64(s.key, []byte(fmt.Sprintf("%s.%d.", id, ts.Unix())), body))
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
	keys      [][]byte // the decoded signing keys
	tokens    []string
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
	v := &Verifier{tolerance: cmp.Or(c.Tolerance, DefaultTolerance)}
	for i, s := range c.Secrets {
		sec, err := ParseSecret(s)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i, err)
		}
		v.keys = append(v.keys, sec.key)
	}
	for i, t := range c.Tokens {
		t = strings.TrimSpace(t)
		if len(t) < MinTokenLen || !isB64Token(t) {
			return nil, fmt.Errorf("token %d: %w: want at least %d characters of RFC 6750 token syntax", i, ErrBadConfig, MinTokenLen)
		}
		v.tokens = append(v.tokens, t)
	}
	return v, nil
}

// String describes the Verifier without revealing any key.
func (v Verifier) String() string {
	return fmt.Sprintf("crm.Verifier{secrets: %d, tokens: %d, tolerance: %v}", len(v.keys), len(v.tokens), v.tolerance)
}

// GoString describes the Verifier like String, for the %#v verb.
func (v Verifier) GoString() string { return v.String() }

// LogValue describes the Verifier for slog without revealing any key.
func (v Verifier) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("secrets", len(v.keys)),
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
	case hasSig && len(v.keys) > 0:
		return v.verifySignature(h, sigs, body, now)
	case hasAuth && len(v.tokens) > 0:
		return verifyAuthorization(auth, "Bearer", v.tokens)
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
	var entries int
	var v1 []string
	for _, entry := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version == "" || sig == "" {
			continue
		}
		entries++
		if version == "v1" {
			v1 = append(v1, sig)
		}
	}
	if entries == 0 {
		return fmt.Errorf("%w: %s has no version,signature entry", ErrMalformedHeader, HeaderSignature)
	}
	if len(v1) == 0 {
		return fmt.Errorf("%w: no v1 signature", ErrBadSignature)
	}
	// The signed content is "{id}.{timestamp}.{body}", timestamp as sent.
	prefix := []byte(id + "." + ts + ".")
	if !matchAny(v1, v.keys, func(k []byte) []byte { return hmacB64(k, prefix, body) }) {
		return ErrBadSignature
	}
	return nil
}

// hmacB64 returns base64(HMAC-SHA256(key, parts...)).
func hmacB64(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return base64.StdEncoding.AppendEncode(nil, m.Sum(nil))
}

// matchAny reports whether one of sigs is the signature mac computes with
// one of keys. Each key's signature is computed once and compared with
// every candidate in constant time.
func matchAny(sigs []string, keys [][]byte, mac func(key []byte) []byte) bool {
	match := 0
	for _, k := range keys {
		want := mac(k)
		for _, sig := range sigs {
			if len(sig) == len(want) {
				match |= subtle.ConstantTimeCompare([]byte(sig), want)
			}
		}
	}
	return match == 1
}

// ZendeskSignature is the Zendesk webhook signature of body sent at
// timestamp (the header's ISO 8601 text, as sent):
// base64(HMAC-SHA256(secret, timestamp + body)), the secret used as is.
func ZendeskSignature(secret, timestamp string, body []byte) string {
	return string(hmacB64([]byte(secret), []byte(timestamp), body))
}

// VerifyZendesk authenticates a Zendesk webhook request signed with any of
// secrets: exactly one X-Zendesk-Webhook-Signature and one
// X-Zendesk-Webhook-Signature-Timestamp (RFC 3339, within tol of now,
// bounds included; zero tol means DefaultTolerance). It returns nil or an
// error wrapping ErrNotSigned, ErrMalformedHeader, ErrTimestamp or
// ErrBadSignature. The timestamp is checked before any HMAC is computed.
func VerifyZendesk(h http.Header, body []byte, secrets []string, now time.Time, tol time.Duration) error {
	sig, ts, ok, err := signedAt(h, HeaderZendeskSignature, HeaderZendeskTimestamp)
	if err != nil {
		return err
	}
	if !ok || len(ts) > 40 {
		return fmt.Errorf("%w: %s missing", ErrMalformedHeader, HeaderZendeskTimestamp)
	}
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return fmt.Errorf("%w: %s is not an ISO 8601 time", ErrMalformedHeader, HeaderZendeskTimestamp)
	}
	return checkSigned(HeaderZendeskTimestamp, t, now, tol, "signing secret", secrets, sig,
		func(k []byte) []byte { return hmacB64(k, []byte(ts), body) })
}

// HubSpotURI returns the URI HubSpot signs for the public URL it called:
// the URL with the percent-encoded characters HubSpot's documentation
// lists (%3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B, either case)
// decoded, and every other byte as sent.
func HubSpotURI(publicURL string) string { return hubSpotDecoder.Replace(publicURL) }

// hubSpotDecoder decodes HubSpot's list of escapes, left to right.
var hubSpotDecoder = strings.NewReplacer(
	"%3A", ":", "%3a", ":", "%2F", "/", "%2f", "/", "%3F", "?", "%3f", "?",
	"%40", "@", "%21", "!", "%24", "$", "%27", "'", "%28", "(", "%29", ")",
	"%2A", "*", "%2a", "*", "%2C", ",", "%2c", ",", "%3B", ";", "%3b", ";",
)

// HubSpotSignature is the HubSpot v3 signature of a request:
// base64(HMAC-SHA256(client secret, method + uri + body + timestamp)), uri
// as HubSpotURI returns it and timestamp the header's text.
func HubSpotSignature(secret, method, uri string, body []byte, timestamp string) string {
	return string(hmacB64([]byte(secret), []byte(method), []byte(uri), body, []byte(timestamp)))
}

// VerifyHubSpotV3 authenticates a HubSpot request signed with any of
// secrets (app client secrets): exactly one X-HubSpot-Signature-v3 and one
// X-HubSpot-Request-Timestamp (unix milliseconds, within tol of now either
// way; zero tol means DefaultTolerance). publicURL is the URL HubSpot
// called. Errors wrap ErrNotSigned, ErrMalformedHeader, ErrTimestamp or
// ErrBadSignature.
func VerifyHubSpotV3(method, publicURL string, h http.Header, body []byte, secrets []string, now time.Time, tol time.Duration) error {
	sig, ts, ok, err := signedAt(h, HeaderHubSpotSignature, HeaderHubSpotTimestamp)
	if err != nil {
		return err
	}
	ms, valid := parseUnix(ts)
	if !ok || !valid {
		return fmt.Errorf("%w: %s missing or not unix milliseconds", ErrMalformedHeader, HeaderHubSpotTimestamp)
	}
	uri := HubSpotURI(publicURL)
	return checkSigned(HeaderHubSpotTimestamp, time.UnixMilli(ms), now, tol, "client secret", secrets, sig,
		func(k []byte) []byte { return hmacB64(k, []byte(method), []byte(uri), body, []byte(ts)) })
}

// signedAt reads a timestamped scheme's signature and timestamp headers,
// each given at most once: ErrNotSigned without the signature,
// ErrMalformedHeader for a repeated header.
func signedAt(h http.Header, sigHeader, tsHeader string) (sig, ts string, hasTS bool, err error) {
	sig, hasSig, err := single(h, sigHeader)
	switch {
	case err != nil:
		return "", "", false, err
	case !hasSig:
		return "", "", false, ErrNotSigned
	}
	ts, hasTS, err = single(h, tsHeader)
	return sig, ts, hasTS, err
}

// checkSigned finishes a timestamped scheme once its headers are read: t
// (from tsHeader) must be within tol of now (zero: DefaultTolerance), and
// sig must be mac under one of the non-empty secrets (what the scheme
// calls a secretName). The timestamp is checked before any HMAC is
// computed.
func checkSigned(tsHeader string, t, now time.Time, tol time.Duration, secretName string, secrets []string, sig string, mac func(key []byte) []byte) error {
	tol = cmp.Or(tol, DefaultTolerance)
	if d := now.Sub(t); d > tol || d < -tol {
		return fmt.Errorf("%w: %s is %v away from now", ErrTimestamp, tsHeader, d.Round(time.Second))
	}
	var keys [][]byte
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, []byte(s))
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: no %s is configured", ErrBadSignature, secretName)
	}
	if !matchAny([]string{sig}, keys, mac) {
		return ErrBadSignature
	}
	return nil
}

// VerifyBasic authenticates an "Authorization: Basic" header (RFC 7617)
// against creds, each "user:password". Comparison is constant-time over
// SHA-256 digests, so its time does not depend on where the values differ
// or on their lengths. Errors wrap ErrNotSigned, ErrMalformedHeader or
// ErrBadToken.
func VerifyBasic(h http.Header, creds []string) error {
	auth, ok, err := single(h, "Authorization")
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotSigned
	}
	return verifyAuthorization(auth, "Basic", creds)
}

// verifyAuthorization checks an Authorization value of scheme (Bearer or
// Basic) against the accepted tokens or "user:password" credentials.
func verifyAuthorization(auth, scheme string, accepted []string) error {
	got, cred, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(got, scheme) {
		return fmt.Errorf("%w: Authorization is not a %s credential", ErrMalformedHeader, scheme)
	}
	cred = strings.TrimSpace(cred)
	if scheme == "Basic" {
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil || !strings.Contains(string(raw), ":") {
			return fmt.Errorf("%w: Basic credential is not base64 user:password", ErrMalformedHeader)
		}
		cred = string(raw)
	} else if cred == "" {
		return fmt.Errorf("%w: empty bearer token", ErrMalformedHeader)
	}
	if !matchToken(cred, accepted) {
		return ErrBadToken
	}
	return nil
}

// VerifyToken compares token, as received, with every accepted token in
// constant time. Errors wrap ErrNotSigned (token empty) or ErrBadToken.
func VerifyToken(token string, accepted []string) error {
	if token == "" {
		return ErrNotSigned
	}
	if !matchToken(token, accepted) {
		return ErrBadToken
	}
	return nil
}

// matchToken reports whether got equals one of want, comparing SHA-256
// digests in constant time (independent of lengths) and visiting every
// entry.
func matchToken(got string, want []string) bool {
	g := sha256.Sum256([]byte(got))
	match := 0
	for _, w := range want {
		if w == "" {
			continue
		}
		s := sha256.Sum256([]byte(w))
		match |= subtle.ConstantTimeCompare(g[:], s[:])
	}
	return match == 1
}

// ValidOrgID reports whether id looks like a Salesforce organization id:
// 15 or 18 ASCII letters and digits.
func ValidOrgID(id string) bool {
	return (len(id) == 15 || len(id) == 18) && onlyOf(id, alnum)
}

// VerifyOrgID compares the OrganizationId of an Outbound Message with the
// configured one: both 15 or 18 characters, equal case-sensitively on the
// first 15 (the 18-character form only adds a case-insensitive checksum).
// It returns nil, or ErrWrongOrg.
func VerifyOrgID(configured, got string) error {
	if !ValidOrgID(configured) || !ValidOrgID(got) ||
		subtle.ConstantTimeCompare([]byte(configured[:15]), []byte(got[:15])) != 1 {
		return ErrWrongOrg
	}
	return nil
}

// alnum is the ASCII letters and digits, for onlyOf.
const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// onlyOf reports whether every byte of s is one of chars.
func onlyOf(s, chars string) bool { return strings.Trim(s, chars) == "" }

// validID reports whether id is a usable webhook-id: 1 to maxIDLen visible
// ASCII characters.
func validID(id string) bool {
	return id != "" && len(id) <= maxIDLen && !strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r >= 0x7f })
}

// maxUnix is the largest webhook-timestamp read: 18 digits, so parsing
// cannot overflow.
const maxUnix = 999_999_999_999_999_999

// parseUnix parses a signed timestamp: 1 to 18 decimal digits, no sign,
// so the value signed and the value checked are the same text.
func parseUnix(s string) (int64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return int64(n), err == nil && len(s) <= 18
}

// isB64Token reports whether s matches the RFC 6750 b64token syntax:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	t := strings.TrimRight(s, "=")
	return t != "" && onlyOf(t, alnum+"-._~+/")
}

// Sign returns the Standard Webhooks headers a sender holding secret would
// attach to body: webhook-id, webhook-timestamp (ts in unix seconds) and a
// webhook-signature with one v1 entry. It is the test signer that goes with
// Verify, used by tests, sample-event generation and the developer CLI; to
// simulate a sender rotating keys, join several Secret.Signature values
// with spaces.
//
// It returns an error wrapping ErrBadConfig when secret does not parse
// (see ParseSecret), id is not 1-256 visible ASCII characters, or ts is
// before 1970 or past the 18-digit timestamps Verify reads.
func Sign(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	s, err := ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, fmt.Errorf("%w: webhook id must be 1-%d visible ASCII characters", ErrBadConfig, maxIDLen)
	}
	if sec := ts.Unix(); sec < 0 || sec > maxUnix {
		return nil, fmt.Errorf("%w: timestamp %v is not 0-%d unix seconds", ErrBadConfig, ts, int64(maxUnix))
	}
	return http.Header{
		HeaderID:        {id},
		HeaderTimestamp: {strconv.FormatInt(ts.Unix(), 10)},
		HeaderSignature: {s.Signature(id, ts, body)},
	}, nil
}

// Delivery is what a source's authentication looks at: the request as
// the sender made it.
type Delivery struct {
	// Method is the HTTP method, upper-case.
	Method string
	// PublicURL is the URL the sender called, query included.
	PublicURL string
	// RawQuery is the query string without '?'.
	RawQuery string
	// Header holds the headers under canonical keys.
	Header http.Header
	// Body is the raw body.
	Body []byte
}

// SourceAuth authenticates the deliveries of one source with its current
// secrets. Build it with NewSourceAuth once per secret version; it is
// immutable and safe for concurrent use.
type SourceAuth struct {
	scheme Scheme
	std    *Verifier // standard-webhooks and bearer
	keys   []string  // zendesk and hubspot-v3 secrets, basic user:password, salesforce tokens
}

// NewSourceAuth checks secrets (the source's entries of crm_sources in the
// Twilio secret) against what s.Scheme needs: at least one, except for
// salesforce-outbound, whose URL token is optional; whsec_ keys for
// standard-webhooks, RFC 6750 tokens for bearer, "user:password" with a
// password of at least MinTokenLen characters for basic. Errors wrap
// ErrBadConfig and never quote a secret.
func NewSourceAuth(s *Source, secrets []string) (*SourceAuth, error) {
	var keys []string
	for _, k := range secrets {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 && s.Scheme.NeedsSecret() {
		return nil, fmt.Errorf("%w: scheme %s needs at least one secret", ErrBadConfig, s.Scheme)
	}
	a := &SourceAuth{scheme: s.Scheme, keys: keys}
	var err error
	switch s.Scheme {
	case SchemeStandardWebhooks:
		a.std, err = NewVerifier(Config{Secrets: keys})
	case SchemeBearer:
		a.std, err = NewVerifier(Config{Tokens: keys})
	case SchemeBasic:
		for i, k := range keys {
			user, password, ok := strings.Cut(k, ":")
			if !ok || user == "" {
				return nil, fmt.Errorf("secret %d: %w: basic credentials are \"user:password\"", i, ErrBadConfig)
			}
			if len(password) < MinTokenLen {
				return nil, fmt.Errorf("secret %d: %w: the password of basic credentials \"user:password\" needs at least %d characters", i, ErrBadConfig, MinTokenLen)
			}
		}
	case SchemeSalesforceOutbound:
		for i, k := range keys {
			if len(k) < MinTokenLen || url.QueryEscape(k) != k {
				return nil, fmt.Errorf("secret %d: %w: a URL token needs at least %d characters that need no escaping in a URL", i, ErrBadConfig, MinTokenLen)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Verify authenticates d at now. For salesforce-outbound it checks only
// the URL token (when one is configured); the caller then checks the
// message's OrganizationId with VerifyOrgID. Errors wrap the package's
// authentication sentinels: ErrNotSigned, ErrMalformedHeader,
// ErrTimestamp, ErrBadSignature or ErrBadToken.
func (a *SourceAuth) Verify(d Delivery, now time.Time) error {
	switch a.scheme {
	case SchemeStandardWebhooks:
		if len(d.Header[HeaderSignature]) == 0 {
			return ErrNotSigned // a bearer header is no credential here
		}
		return a.std.Verify(d.Header, d.Body, now)
	case SchemeBearer:
		if len(d.Header["Authorization"]) == 0 {
			return ErrNotSigned
		}
		h := http.Header{"Authorization": d.Header["Authorization"]}
		return a.std.Verify(h, d.Body, now)
	case SchemeBasic:
		return VerifyBasic(d.Header, a.keys)
	case SchemeZendesk:
		return VerifyZendesk(d.Header, d.Body, a.keys, now, 0)
	case SchemeHubSpotV3:
		return VerifyHubSpotV3(d.Method, d.PublicURL, d.Header, d.Body, a.keys, now, 0)
	case SchemeSalesforceOutbound:
		if len(a.keys) == 0 {
			return nil
		}
		q, err := url.ParseQuery(d.RawQuery)
		if err != nil || len(q[TokenParam]) > 1 {
			return fmt.Errorf("%w: query string unreadable or token repeated", ErrMalformedHeader)
		}
		return VerifyToken(q.Get(TokenParam), a.keys)
	}
	return fmt.Errorf("%w: unknown scheme", ErrBadConfig)
}

// SignDelivery returns the headers and URL a sender of scheme would use to
// deliver body to publicURL at now, authenticated with secret: the test
// signer that goes with SourceAuth.Verify, for tests, sample events and
// the developer CLI. id is the delivery id where the scheme carries one
// (webhook-id, X-Zendesk-Webhook-Invocation-Id). For salesforce-outbound
// a non-empty secret is added to the URL as ?token=. Errors wrap
// ErrBadConfig.
func SignDelivery(scheme Scheme, secret, method, publicURL, id string, body []byte, now time.Time) (http.Header, string, error) {
	h := http.Header{}
	switch scheme {
	case SchemeStandardWebhooks:
		sh, err := Sign(secret, id, now, body)
		if err != nil {
			return nil, "", err
		}
		h = sh
	case SchemeBearer:
		h.Set("Authorization", "Bearer "+secret)
	case SchemeBasic:
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(secret)))
	case SchemeZendesk:
		ts := now.UTC().Format(time.RFC3339)
		h.Set(HeaderZendeskTimestamp, ts)
		h.Set(HeaderZendeskSignature, ZendeskSignature(secret, ts, body))
		if id != "" {
			h.Set(HeaderZendeskInvocation, id)
		}
	case SchemeHubSpotV3:
		ts := strconv.FormatInt(now.UnixMilli(), 10)
		h.Set(HeaderHubSpotTimestamp, ts)
		h.Set(HeaderHubSpotSignature, HubSpotSignature(secret, method, HubSpotURI(publicURL), body, ts))
	case SchemeSalesforceOutbound:
		if secret != "" {
			u, err := url.Parse(publicURL)
			if err != nil {
				return nil, "", fmt.Errorf("%w: %v", ErrBadConfig, err)
			}
			q := u.Query()
			q.Set(TokenParam, secret)
			u.RawQuery = q.Encode()
			publicURL = u.String()
		}
	default:
		return nil, "", fmt.Errorf("%w: unknown scheme %q", ErrBadConfig, scheme)
	}
	return h, publicURL, nil
}
