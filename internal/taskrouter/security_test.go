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

// Channel keys match exactly: encoding/json's case-insensitive struct
// matching would read "FLEXINTERACTIONCHANNELSID", which TaskRouter's
// expressions and the Flex UI do not.
func TestChannelFromAttributesExactKeys(t *testing.T) {
	tests := []struct {
		name  string
		attrs string
		want  Channel
		ok    bool
	}{
		{"other case only", `{"FlexInteractionSid":"` + kd + `","FLEXINTERACTIONCHANNELSID":"` + uo + `"}`, Channel{}, false},
		{"other case beside the real key", `{"flexInteractionSid":"` + kd + `","flexInteractionChannelSid":"` + uo + `","FlexInteractionChannelSid":"UOffffffffffffffffffffffffffffffff"}`, Channel{kd, uo}, true},
		{"conversation id in other case", `{"Conversations":{"Conversation_Id":"` + kd + `"},"flexInteractionChannelSid":"` + uo + `"}`, Channel{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := ChannelFromAttributes(tt.attrs)
			if tt.ok && (err != nil || !ok || got != tt.want) {
				t.Errorf("ChannelFromAttributes(%s) = %v, %v, %v; want %v", tt.attrs, got, ok, err, tt.want)
			}
			if !tt.ok && ok {
				t.Errorf("ChannelFromAttributes(%s) = %v, true; want no channel", tt.attrs, got)
			}
		})
	}
}
