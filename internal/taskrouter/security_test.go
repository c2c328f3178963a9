package taskrouter

import (
	"errors"
	"net/url"
	"testing"
)

// Regression tests for defects FuzzVerifyForm and FuzzChannelFromAttributes
// found: each row is a place where flexhook and another reader of the same
// bytes disagreed.

// TestHasBodySHA256 pins which URLs select the JSON-body variant: the
// same reading as twilio-go's ValidateBody (url.Parse, then Query), so the
// two never disagree on what is signed.
func TestHasBodySHA256(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://h/p?bodySHA256=ab", true},
		{"https://h/p?x=1&bodySHA256=ab", true},
		{"https://h/p?bodySHA256=ab&x=%zz", true},
		{"https://h/p?bodySHA256=", false},
		{"https://h/p", false},
		{"https://h/p?bodysha256=ab", false},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		if got := hasBodySHA256(tt.url); got != tt.want || got != (u.Query().Get("bodySHA256") != "") {
			t.Errorf("hasBodySHA256(%q) = %v, want %v", tt.url, got, tt.want)
		}
	}
}

// A URL that does not parse is refused, as twilio-go's ValidateBody
// refuses it, whatever the signature.
func TestVerifyUnparseableURL(t *testing.T) {
	for _, u := range []string{"0%", "https://h/%zz", "https://h\x00/p"} {
		sig := Sign("12345", u, nil)
		if err := Verify(u, nil, nil, sig, "12345"); !errors.Is(err, ErrBadSignature) {
			t.Errorf("Verify(%q, Sign(%q)) = %v, want ErrBadSignature", u, u, err)
		}
	}
}
