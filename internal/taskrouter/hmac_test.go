package taskrouter

import (
	"net/url"
	"strings"
	"testing"

	twclient "github.com/twilio/twilio-go/client"
)

// twilioAccepts is the reference: twilio-go's RequestValidator over the
// first value of each form key, with any of tokens.
func twilioAccepts(rawURL string, form url.Values, sig string, tokens []string) bool {
	params := make(map[string]string, len(form))
	for k, v := range form {
		params[k] = v[0]
	}
	for _, tok := range tokens {
		if tok == "" {
			continue
		}
		v := twclient.NewRequestValidator(tok)
		if v.Validate(rawURL, params, sig) {
			return true
		}
	}
	return false
}

// candidateSignatures returns signatures worth trying for rawURL: signed
// over the URL itself, with a default port added, and with the port taken
// out, so both of RequestValidator's variants are exercised.
func candidateSignatures(token, rawURL string, form url.Values) []string {
	sigs := []string{Sign(token, rawURL, form)}
	if u, err := url.Parse(rawURL); err == nil {
		h := u.Hostname()
		for _, host := range []string{h, h + ":443", h + ":80", h + ":8443"} {
			v := *u
			v.Host = host
			sigs = append(sigs, Sign(token, v.String(), form))
		}
	}
	return sigs
}

// checkSameAsTwilio fails t if verifyForm, where it answers, disagrees
// with twilio-go on any candidate signature or on sig.
func checkSameAsTwilio(t *testing.T, rawURL string, form url.Values, sig string, tokens []string) (fast bool) {
	t.Helper()
	sigs := append([]string{sig}, candidateSignatures(tokens[len(tokens)-1], rawURL, form)...)
	for _, s := range sigs {
		got, ok := verifyForm(rawURL, form, s, tokens)
		if !ok {
			return false
		}
		if want := twilioAccepts(rawURL, form, s, tokens); got != want {
			t.Errorf("verifyForm(%q, %v, %q) = %v, want %v (twilio-go)", rawURL, form, s, got, want)
		}
	}
	return true
}

func TestVerifyFormMatchesTwilio(t *testing.T) {
	form := url.Values{"EventType": {"task.completed"}, "AccountSid": {acct}, "TaskAttributes": {`{"a":"é ü & b"}`}}
	tests := []struct {
		name string
		url  string
		fast bool // answered without twilio-go
	}{
		{"execute-api", "https://abc123.execute-api.us-east-1.amazonaws.com/taskrouter", true},
		{"stage and query", "https://abc.execute-api.us-east-1.amazonaws.com/prod/taskrouter?env=prod&x=%20y", true},
		{"explicit default port", "https://hooks.example.com:443/flex/taskrouter", true},
		{"other port", "https://hooks.example.com:8443/taskrouter", true},
		{"http with port", "http://localhost:3000/taskrouter", true},
		{"http without port", "http://127.0.0.1/taskrouter", true},
		{"no path", "https://hooks.example.com", true},
		{"empty query", "https://hooks.example.com/t?", true},
		{"sub-delims in path", "https://hooks.example.com/a;b=c/d@e,f+g$h&i:j~k", true},
		{"upper-case host", "https://Hooks.Example.COM/taskrouter", true},
		{"escaped path", "https://hooks.example.com/a%20b", false},
		{"space in path", "https://hooks.example.com/a b", false},
		{"upper-case scheme", "HTTPS://hooks.example.com/taskrouter", false},
		{"user info", "https://user:pw@hooks.example.com/taskrouter", false},
		{"ipv6", "https://[::1]:8080/taskrouter", false},
		{"empty port", "https://hooks.example.com:/taskrouter", false},
		{"unicode query", "https://hooks.example.com/t?q=é", false},
		{"relative", "/taskrouter", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens := []string{"old-token", "12345"}
			if fast := checkSameAsTwilio(t, tt.url, form, "not-a-signature", tokens); fast != tt.fast {
				t.Errorf("verifyForm(%q) answered itself = %v, want %v", tt.url, fast, tt.fast)
			}
			// Whichever path answers, Verify agrees with twilio-go.
			for _, s := range candidateSignatures("12345", tt.url, form) {
				got := Verify(tt.url, form, nil, s, tokens...) == nil
				if want := twilioAccepts(tt.url, form, s, tokens); got != want {
					t.Errorf("Verify(%q, %q) accepted = %v, want %v (twilio-go)", tt.url, s, got, want)
				}
			}
		})
	}
}

// A token longer than SHA-1's block is hashed first (RFC 2104), and a form
// larger than the stack buffer is hashed from the heap; both still agree.
func TestVerifyFormLongInputs(t *testing.T) {
	form := url.Values{"TaskAttributes": {strings.Repeat("x", 3*stackMessage)}, "EventType": {"task.completed"}}
	for i := range stackKeys + 4 {
		form.Set("K"+strings.Repeat("k", i), "v")
	}
	u := "https://abc.execute-api.us-east-1.amazonaws.com/taskrouter"
	if !checkSameAsTwilio(t, u, form, "x", []string{strings.Repeat("long-token-", 10)}) {
		t.Errorf("verifyForm(%q) did not answer", u)
	}
}

// FuzzVerifyFormSameAsTwilio is the differential test: wherever verifyForm answers, it
// answers as twilio-go's RequestValidator does.
func FuzzVerifyFormSameAsTwilio(f *testing.F) {
	f.Add("https://abc.execute-api.us-east-1.amazonaws.com/taskrouter", "EventType", "task.completed", "TaskAttributes", `{"a":1}`, "12345", "sig")
	f.Add("https://hooks.example.com:443/a?b=c", "A", "", "B", "é", "tok", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
	f.Add("http://localhost:80", "", "", "x", "y", "k", "")
	f.Add("https://h:/p", "a", "b", "c", "d", "e", "f")
	f.Fuzz(func(t *testing.T, rawURL, k1, v1, k2, v2, token, sig string) {
		if token == "" {
			token = "t"
		}
		form := url.Values{k1: {v1}, k2: {v2}}
		checkSameAsTwilio(t, rawURL, form, sig, []string{token})
	})
}
