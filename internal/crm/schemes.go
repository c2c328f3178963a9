package crm

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Headers of the vendor schemes, canonical keys.
const (
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

// ErrWrongOrg means a Salesforce Outbound Message names another
// organization than the one configured. It wraps ErrBadToken: the org id
// is the credential Salesforce sends.
var ErrWrongOrg = fmt.Errorf("%w: OrganizationId is not the configured org", ErrBadToken)

// hmacB64 returns base64(HMAC-SHA256(key, parts...)).
func hmacB64(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	var sum [sha256.Size]byte
	out := make([]byte, base64.StdEncoding.EncodedLen(sha256.Size))
	base64.StdEncoding.Encode(out, m.Sum(sum[:0]))
	return out
}

// matchAny compares sig with the signature computed by sign for each key,
// in constant time per key, and reports whether one matched.
func matchAny(sig string, keys [][]byte, sign func(key []byte) []byte) bool {
	match := 0
	for _, k := range keys {
		want := sign(k)
		if len(sig) == len(want) {
			match |= subtle.ConstantTimeCompare([]byte(sig), want)
		}
	}
	return match == 1
}

// within reports whether t is no further than tol from now, either way.
func within(t, now time.Time, tol time.Duration) bool {
	d := now.Sub(t)
	return d <= tol && d >= -tol
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
func HubSpotURI(publicURL string) string {
	if !strings.Contains(publicURL, "%") {
		return publicURL
	}
	var b strings.Builder
	for i := 0; i < len(publicURL); i++ {
		if publicURL[i] == '%' && i+2 < len(publicURL) {
			if c, ok := hubSpotDecoded[strings.ToUpper(publicURL[i+1:i+3])]; ok {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(publicURL[i])
	}
	return b.String()
}

// hubSpotDecoded is HubSpot's list of escapes decoded before signing.
var hubSpotDecoded = map[string]byte{
	"3A": ':', "2F": '/', "3F": '?', "40": '@', "21": '!', "24": '$',
	"27": '\'', "28": '(', "29": ')', "2A": '*', "2C": ',', "3B": ';',
}

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
// sig must be mac under one of secrets (what the scheme calls a secretName).
// The timestamp is checked before any HMAC is computed.
func checkSigned(tsHeader string, t, now time.Time, tol time.Duration, secretName string, secrets []string, sig string, mac func(key []byte) []byte) error {
	if tol == 0 {
		tol = DefaultTolerance
	}
	if !within(t, now, tol) {
		return fmt.Errorf("%w: %s is %v away from now", ErrTimestamp, tsHeader, now.Sub(t).Round(time.Second))
	}
	keys := keyBytes(secrets)
	if len(keys) == 0 {
		return fmt.Errorf("%w: no %s is configured", ErrBadSignature, secretName)
	}
	if !matchAny(sig, keys, mac) {
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
	scheme, enc, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return fmt.Errorf("%w: Authorization is not a Basic credential", ErrMalformedHeader)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil || !strings.Contains(string(raw), ":") {
		return fmt.Errorf("%w: Basic credential is not base64 user:password", ErrMalformedHeader)
	}
	if !matchToken(string(raw), creds) {
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
// digests in constant time and visiting every entry.
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

// keyBytes returns the non-empty secrets as HMAC keys.
func keyBytes(secrets []string) [][]byte {
	keys := make([][]byte, 0, len(secrets))
	for _, s := range secrets {
		if s != "" {
			keys = append(keys, []byte(s))
		}
	}
	return keys
}

// ValidOrgID reports whether id looks like a Salesforce organization id:
// 15 or 18 ASCII letters and digits.
func ValidOrgID(id string) bool {
	if len(id) != 15 && len(id) != 18 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// VerifyOrgID compares the OrganizationId of an Outbound Message with the
// configured one: both 15 or 18 characters, equal case-sensitively on the
// first 15 (the 18-character form only adds a case-insensitive checksum).
// It returns nil, or ErrWrongOrg.
func VerifyOrgID(configured, got string) error {
	if !ValidOrgID(configured) || !ValidOrgID(got) {
		return ErrWrongOrg
	}
	if subtle.ConstantTimeCompare([]byte(configured[:15]), []byte(got[:15])) != 1 {
		return ErrWrongOrg
	}
	return nil
}
