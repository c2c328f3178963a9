package crm

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks test vector, from the spec repository's reference
// libraries (libraries/go/webhook_test.go TestWebhookSign).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// Test keys: 32 random-looking bytes each, and two bearer tokens.
var (
	secretA = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	secretB = "whsec_" + base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
	secretC = "whsec_" + base64.StdEncoding.EncodeToString([]byte("an unconfigured key, 32 bytes..."))
)

const (
	tokenA = "tok_0123456789abcdefABCDEF"
	tokenB = "tok_rotated-token.value~+/=="
)

func mustVerifier(t testing.TB, c Config) *Verifier {
	t.Helper()
	v, err := NewVerifier(c)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func mustSign(t testing.TB, secret, id string, ts time.Time, body []byte) http.Header {
	t.Helper()
	h, err := Sign(secret, id, ts, body)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return h
}

func TestStandardWebhooksVector(t *testing.T) {
	ts := time.Unix(vectorTimestamp, 0)
	h := mustSign(t, vectorSecret, vectorID, ts, []byte(vectorBody))
	if got := h.Get("webhook-signature"); got != vectorSignature {
		t.Errorf("Sign(vector) webhook-signature = %q, want %q", got, vectorSignature)
	}
	if got := h.Get("webhook-timestamp"); got != strconv.Itoa(vectorTimestamp) {
		t.Errorf("Sign(vector) webhook-timestamp = %q, want %d", got, vectorTimestamp)
	}
	if got := h.Get("webhook-id"); got != vectorID {
		t.Errorf("Sign(vector) webhook-id = %q, want %q", got, vectorID)
	}

	// The reference headers, as a sender sets them, verify with the secret
	// given either way.
	sent := http.Header{}
	sent.Set("webhook-id", vectorID)
	sent.Set("webhook-timestamp", strconv.Itoa(vectorTimestamp))
	sent.Set("webhook-signature", vectorSignature)
	for _, secret := range []string{vectorSecret, strings.TrimPrefix(vectorSecret, "whsec_")} {
		v := mustVerifier(t, Config{Secrets: []string{secret}})
		if err := v.Verify(sent, []byte(vectorBody), ts); err != nil {
			t.Errorf("Verify(vector) with secret form %.10q = %v, want nil", secret, err)
		}
		if err := v.Verify(sent, []byte(vectorBody+" "), ts); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify(vector, body + space) = %v, want %v", err, ErrBadSignature)
		}
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"interaction_sid":"KDcccccccccccccccccccccccccccccccc","channel_sid":"UOdddddddddddddddddddddddddddddddd"}`)
	ts := time.Unix(1_760_000_000, 0)
	signedWith := func(secret string) http.Header { return mustSign(t, secret, "msg_1", ts, body) }
	sigOf := func(secret string) string { return signedWith(secret).Get(HeaderSignature) }
	withHeader := func(h http.Header, key string, values ...string) http.Header {
		h = h.Clone()
		if values == nil {
			h.Del(key)
		} else {
			h[http.CanonicalHeaderKey(key)] = values
		}
		return h
	}
	bearer := func(v string) http.Header { return http.Header{"Authorization": {v}} }
	both := Config{Secrets: []string{secretA, secretB}, Tokens: []string{tokenA, tokenB}}

	tests := []struct {
		name   string
		config Config
		header http.Header
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid signature", both, signedWith(secretA), body, ts, nil},
		{"rotation: signed with the second secret", both, signedWith(secretB), body, ts, nil},
		{"rotation: sender signs with old and new", both, withHeader(signedWith(secretA), HeaderSignature, sigOf(secretC)+" "+sigOf(secretB)), body, ts, nil},
		{"valid among bogus and other versions", both, withHeader(signedWith(secretA), HeaderSignature,
			"v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,"+strings.TrimPrefix(sigOf(secretA), "v1,")+" v1a,xyz "+sigOf(secretA)), body, ts, nil},
		{"extra spaces around entries", both, withHeader(signedWith(secretA), HeaderSignature, "  "+sigOf(secretA)+"  "), body, ts, nil},
		{"exactly tolerance old", both, signedWith(secretA), body, ts.Add(DefaultTolerance), nil},
		{"one second past tolerance old", both, signedWith(secretA), body, ts.Add(DefaultTolerance + time.Second), ErrTimestamp},
		{"exactly tolerance ahead", both, signedWith(secretA), body, ts.Add(-DefaultTolerance), nil},
		{"one second past tolerance ahead", both, signedWith(secretA), body, ts.Add(-DefaultTolerance - time.Second), ErrTimestamp},
		{"999 ms past tolerance old", both, signedWith(secretA), body, ts.Add(DefaultTolerance + 999*time.Millisecond), ErrTimestamp},
		{"custom tolerance", Config{Secrets: []string{secretA}, Tolerance: time.Minute}, signedWith(secretA), body, ts.Add(2 * time.Minute), ErrTimestamp},
		{"ancient timestamp", both, withHeader(signedWith(secretA), HeaderTimestamp, "0"), body, ts, ErrTimestamp},
		{"far-future timestamp", both, withHeader(signedWith(secretA), HeaderTimestamp, "999999999999999999"), body, ts, ErrTimestamp},
		{"unknown secret", both, signedWith(secretC), body, ts, ErrBadSignature},
		{"stale and badly signed is judged stale", both, signedWith(secretC), body, ts.Add(time.Hour), ErrTimestamp},
		{"tampered body", both, signedWith(secretA), append([]byte(nil), append(body, ' ')...), ts, ErrBadSignature},
		{"tampered id", both, withHeader(signedWith(secretA), HeaderID, "msg_2"), body, ts, ErrBadSignature},
		{"tampered timestamp", both, withHeader(signedWith(secretA), HeaderTimestamp, strconv.FormatInt(ts.Unix()+1, 10)), body, ts, ErrBadSignature},
		{"timestamp with leading zero is other text", both, withHeader(signedWith(secretA), HeaderTimestamp, "0"+strconv.FormatInt(ts.Unix(), 10)), body, ts, ErrBadSignature},
		{"truncated signature", both, withHeader(signedWith(secretA), HeaderSignature, sigOf(secretA)[:40]), body, ts, ErrBadSignature},
		{"only v1a entries", both, withHeader(signedWith(secretA), HeaderSignature, "v1a,"+strings.TrimPrefix(sigOf(secretA), "v1,")), body, ts, ErrBadSignature},
		{"signature without version", both, withHeader(signedWith(secretA), HeaderSignature, strings.TrimPrefix(sigOf(secretA), "v1,")), body, ts, ErrMalformedHeader},
		{"empty signature header", both, withHeader(signedWith(secretA), HeaderSignature, ""), body, ts, ErrMalformedHeader},
		{"repeated signature header", both, withHeader(signedWith(secretA), HeaderSignature, sigOf(secretA), sigOf(secretA)), body, ts, ErrMalformedHeader},
		{"repeated id header", both, withHeader(signedWith(secretA), HeaderID, "msg_1", "msg_1"), body, ts, ErrMalformedHeader},
		{"repeated timestamp header", both, withHeader(signedWith(secretA), HeaderTimestamp, "1", "2"), body, ts, ErrMalformedHeader},
		{"missing id", both, withHeader(signedWith(secretA), HeaderID), body, ts, ErrMalformedHeader},
		{"empty id", both, withHeader(signedWith(secretA), HeaderID, ""), body, ts, ErrMalformedHeader},
		{"id with a space", both, withHeader(signedWith(secretA), HeaderID, "msg 1"), body, ts, ErrMalformedHeader},
		{"id too long", both, withHeader(signedWith(secretA), HeaderID, strings.Repeat("m", 257)), body, ts, ErrMalformedHeader},
		{"missing timestamp", both, withHeader(signedWith(secretA), HeaderTimestamp), body, ts, ErrMalformedHeader},
		{"non-numeric timestamp", both, withHeader(signedWith(secretA), HeaderTimestamp, "yesterday"), body, ts, ErrMalformedHeader},
		{"signed timestamp", both, withHeader(signedWith(secretA), HeaderTimestamp, "+"+strconv.FormatInt(ts.Unix(), 10)), body, ts, ErrMalformedHeader},
		{"fractional timestamp", both, withHeader(signedWith(secretA), HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10)+".5"), body, ts, ErrMalformedHeader},
		{"timestamp in milliseconds overflows 18 digits", both, withHeader(signedWith(secretA), HeaderTimestamp, "1760000000000000000"), body, ts, ErrMalformedHeader},
		{"signature judged before bearer", both, withHeader(signedWith(secretC), "Authorization", "Bearer "+tokenA), body, ts, ErrBadSignature},
		{"tokens only: signed request without token", Config{Tokens: []string{tokenA}}, signedWith(secretA), body, ts, ErrBadSignature},
		{"tokens only: signed request with token", Config{Tokens: []string{tokenA}}, withHeader(signedWith(secretA), "Authorization", "Bearer "+tokenA), body, ts, nil},
		{"bearer", both, bearer("Bearer " + tokenA), body, ts, nil},
		{"bearer rotation: second token", both, bearer("Bearer " + tokenB), body, ts, nil},
		{"bearer scheme is case-insensitive", both, bearer("bEARER " + tokenA), body, ts, nil},
		{"bearer with extra spaces", both, bearer("Bearer   " + tokenA + " "), body, ts, nil},
		{"bearer ignores clock", both, bearer("Bearer " + tokenA), body, time.Time{}, nil},
		{"wrong token", both, bearer("Bearer tok_wrong0123456789abcdef"), body, ts, ErrBadToken},
		{"token prefix", both, bearer("Bearer " + tokenA[:len(tokenA)-1]), body, ts, ErrBadToken},
		{"token with suffix", both, bearer("Bearer " + tokenA + "x"), body, ts, ErrBadToken},
		{"secrets only: bearer refused", Config{Secrets: []string{secretA}}, bearer("Bearer " + tokenA), body, ts, ErrBadToken},
		{"basic auth", both, bearer("Basic dXNlcjpwYXNz"), body, ts, ErrMalformedHeader},
		{"bearer without token", both, bearer("Bearer"), body, ts, ErrMalformedHeader},
		{"bearer with blank token", both, bearer("Bearer    "), body, ts, ErrMalformedHeader},
		{"repeated Authorization", both, http.Header{"Authorization": {"Bearer " + tokenA, "Bearer " + tokenA}}, body, ts, ErrMalformedHeader},
		{"no credentials", both, http.Header{"Content-Type": {"application/json"}}, body, ts, ErrNotSigned},
		{"nil header", both, nil, body, ts, ErrNotSigned},
		{"id and timestamp but no signature", both, withHeader(signedWith(secretA), HeaderSignature), body, ts, ErrNotSigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustVerifier(t, tt.config)
			err := v.Verify(tt.header, tt.body, tt.now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify(%v) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	key := []byte("0123456789abcdef01234567") // exactly MinSecretLen bytes
	b64 := base64.StdEncoding.EncodeToString(key)
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"whsec prefix", "whsec_" + b64, false},
		{"bare base64", b64, false},
		{"trailing newline from a secrets store", "whsec_" + b64 + "\n", false},
		{"unpadded base64", "whsec_" + base64.RawStdEncoding.EncodeToString(append(key, 'x')), false},
		{"not base64", "whsec_not*base64*at*all*********", true},
		{"URL-safe alphabet", "whsec_" + base64.URLEncoding.EncodeToString([]byte("\xfb\xff\xfe0123456789abcdef012345")), true},
		{"too short", "whsec_" + base64.StdEncoding.EncodeToString(key[:MinSecretLen-1]), true},
		{"empty", "", true},
		{"prefix only", "whsec_", true},
		{"asymmetric public key prefix", "whpk_" + b64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSecret(tt.in)
			if tt.wantErr != (err != nil) {
				t.Fatalf("ParseSecret(%.12q...) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				if !errors.Is(err, ErrBadConfig) {
					t.Errorf("ParseSecret(%.12q...) error = %v, want %v", tt.in, err, ErrBadConfig)
				}
				if secret := strings.TrimPrefix(strings.TrimSpace(tt.in), "whsec_"); len(secret) > 4 && strings.Contains(err.Error(), secret) {
					t.Errorf("ParseSecret error %q quotes the secret", err)
				}
			}
		})
	}
}

func TestParseSecretKey(t *testing.T) {
	s, err := ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(vectorSecret, "whsec_"))
	if !bytes.Equal(s.key, want) {
		t.Errorf("ParseSecret(vector) key = %x, want %x", s.key, want)
	}
}

func TestNewVerifierErrors(t *testing.T) {
	tests := []struct {
		name string
		in   Config
	}{
		{"nothing configured", Config{}},
		{"empty lists", Config{Secrets: []string{}, Tokens: []string{}}},
		{"negative tolerance", Config{Secrets: []string{secretA}, Tolerance: -time.Second}},
		{"bad second secret", Config{Secrets: []string{secretA, "whsec_***"}}},
		{"short token", Config{Tokens: []string{"short"}}},
		{"token with inner space", Config{Tokens: []string{"tok_0123456789 abcdef"}}},
		{"token with padding inside", Config{Tokens: []string{"tok_0123456789=abcdef"}}},
		{"token of padding only", Config{Tokens: []string{"================"}}},
		{"empty token", Config{Secrets: []string{secretA}, Tokens: []string{""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.in)
			if !errors.Is(err, ErrBadConfig) || v != nil {
				t.Errorf("NewVerifier(%d secrets, %d tokens, %v) = %v, %v; want nil, %v",
					len(tt.in.Secrets), len(tt.in.Tokens), tt.in.Tolerance, v, err, ErrBadConfig)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	ts := time.Unix(vectorTimestamp, 0)
	tests := []struct {
		name, secret, id string
		ts               time.Time
	}{
		{"bad secret", "whsec_***", "msg_1", ts},
		{"empty id", vectorSecret, "", ts},
		{"id with newline", vectorSecret, "msg\n1", ts},
		{"before 1970", vectorSecret, "msg_1", time.Unix(-1, 0)},
		{"past 18 digits", vectorSecret, "msg_1", time.Unix(maxUnix+1, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Sign(tt.secret, tt.id, tt.ts, nil)
			if !errors.Is(err, ErrBadConfig) || h != nil {
				t.Errorf("Sign(%q, %q, %v) = %v, %v; want nil, %v", tt.secret, tt.id, tt.ts, h, err, ErrBadConfig)
			}
		})
	}
}

// TestRedacted checks that no way of printing a Secret or a Verifier
// reveals key material.
func TestRedacted(t *testing.T) {
	s, err := ParseSecret(secretA)
	if err != nil {
		t.Fatal(err)
	}
	v := mustVerifier(t, Config{Secrets: []string{secretA}, Tokens: []string{tokenA}})
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "secret", s, "verifier", v)
	outputs := map[string]string{
		"secret %v":          fmt.Sprintf("%v", s),
		"secret %+v":         fmt.Sprintf("%+v", s),
		"secret %#v":         fmt.Sprintf("%#v", s),
		"secret in a struct": fmt.Sprintf("%+v", struct{ S Secret }{s}),
		"secret %x":          fmt.Sprintf("%x", s),
		"verifier %v":        fmt.Sprintf("%v", v),
		"verifier %+v":       fmt.Sprintf("%+v", v),
		"verifier value %+v": fmt.Sprintf("%+v", *v),
		"verifier value %#v": fmt.Sprintf("%#v", *v),
		"slog":               logged.String(),
	}
	key := "0123456789abcdef"
	for name, out := range outputs {
		if strings.Contains(out, key) || strings.Contains(out, fmt.Sprintf("%x", key)) ||
			strings.Contains(out, strings.TrimPrefix(secretA, "whsec_")[:16]) || strings.Contains(out, tokenA) {
			t.Errorf("%s = %q reveals key material", name, out)
		}
	}
	if !strings.Contains(logged.String(), `"secret":"REDACTED"`) || !strings.Contains(logged.String(), `"tokens":1`) {
		t.Errorf("slog output %q, want a redacted secret and key counts", logged.String())
	}
}
