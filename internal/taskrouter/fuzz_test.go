package taskrouter

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/flexhook/flexhook/internal/sid"
)

// FuzzVerifyForm feeds arbitrary URLs, bodies, signatures and tokens through
// ParseForm and Verify. Verify must never panic and only ever answer nil,
// ErrNotSigned or ErrBadSignature; it must agree with twilio-go's
// RequestValidator.ValidateBody on the same request; and a signature made by
// Sign over the parsed form always verifies with its token and never with
// another. Seeds live in testdata/fuzz/FuzzVerifyForm.
func FuzzVerifyForm(f *testing.F) {
	const bodyHash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
	f.Add("https://mycompany.com/myapp.php?foo=1&bar=2", []byte("CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212"), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", "12345")
	f.Add("https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="+bodyHash, []byte(`{"property": "value", "boolean": true}`), "a9nBmqA0ju/hNViExpshrM61xv4=", "12345")
	f.Add("https://abc.execute-api.us-east-1.amazonaws.com/prod/taskrouter#rc=3&rp=all", []byte(validForm().Encode()), "", "tokenPRIMARY")
	f.Add("https://hooks.example.com:443/taskrouter?x=1", []byte("EventType=task.canceled&EventType=task.completed"), "AAAA", "t")
	f.Fuzz(func(t *testing.T, rawURL string, body []byte, signature, token string) {
		form, perr := ParseForm(body)
		if perr != nil {
			var fe *FieldError
			if !errors.As(perr, &fe) {
				t.Fatalf("ParseForm(%q) error %v is not a *FieldError", body, perr)
			}
			form = nil
		}
		err := Verify(rawURL, form, body, signature, token)
		switch {
		case err == nil:
			if signature == "" || token == "" {
				t.Fatalf("Verify(%q, sig %q, token %q) = nil without a signature and a token", rawURL, signature, token)
			}
		case errors.Is(err, ErrNotSigned):
			if signature != "" {
				t.Fatalf("Verify(%q, sig %q) = ErrNotSigned for a signed request", rawURL, signature)
			}
		case !errors.Is(err, ErrBadSignature):
			t.Fatalf("Verify(%q) = %v, want nil, ErrNotSigned or ErrBadSignature", rawURL, err)
		}
		if perr != nil || token == "" {
			return
		}
		signed, _, _ := strings.Cut(rawURL, "#")
		v := twclient.NewRequestValidator(token)
		// The same request, signed the two ways Twilio signs: over the URL
		// and the form parameters, and over the URL alone (bodySHA256).
		for _, sig := range []string{signature, Sign(token, signed, form), Sign(token, signed, nil)} {
			if sig == "" {
				continue
			}
			got := Verify(rawURL, form, body, sig, token) == nil
			if want := v.ValidateBody(signed, body, sig); got != want {
				t.Fatalf("Verify(%q, %q, sig %q) accepted = %v, twilio-go ValidateBody = %v", rawURL, body, sig, got, want)
			}
		}
		if _, err := url.Parse(signed); err != nil || hasBodySHA256(signed) {
			return
		}
		sig := Sign(token, signed, form)
		if err := Verify(rawURL, form, body, sig, "other"+token, token); err != nil {
			t.Fatalf("Verify(%q, Sign(form)) = %v, want nil", rawURL, err)
		}
		if err := Verify(rawURL, form, body, sig, "other"+token); err == nil {
			t.Fatalf("Verify(%q) accepted a signature made with another token", rawURL)
		}
	})
}

// FuzzChannelFromAttributes checks that ChannelFromAttributes never panics,
// that every channel it accepts consists of well-formed SIDs, and that it
// reads the same values as encoding/json decoding the document into a map:
// exact key names, the value a case-sensitive reader (TaskRouter's
// expression language, the Flex UI) sees. Seeds live in
// testdata/fuzz/FuzzChannelFromAttributes.
func FuzzChannelFromAttributes(f *testing.F) {
	f.Add(`{"flexInteractionSid":"` + kd + `","flexInteractionChannelSid":"` + uo + `"}`)
	f.Add(`{"conversations":{"conversation_id":"` + kd + `"},"flexInteractionChannelSid":"` + uo + `"}`)
	f.Add(`{"flexInteractionChannelSid":"UO/../../Accounts","flexInteractionSid":"` + kd + `"}`)
	f.Add(`{"call_sid":"CA1","from":"+15551230000"}`)
	f.Add(strings.Repeat("[", 40) + strings.Repeat("]", 40))
	f.Add(`{"FlexInteractionSid":"` + kd + `","FLEXINTERACTIONCHANNELSID":"` + uo + `"}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, attrs string) {
		ch, ok, err := ChannelFromAttributes(attrs)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || ok {
				t.Fatalf("ChannelFromAttributes(%q) = %v, %v; want a *FieldError and ok false", attrs, ok, err)
			}
			return
		}
		if ok && (!sid.Valid(sid.Interaction, ch.InteractionSID) || !sid.Valid(sid.Channel, ch.ChannelSID)) {
			t.Fatalf("ChannelFromAttributes(%q) accepted %+v", attrs, ch)
		}
		if !ok && ch != (Channel{}) {
			t.Fatalf("ChannelFromAttributes(%q) = %+v with ok false", attrs, ch)
		}
		var doc map[string]any
		if attrs == "" || json.Unmarshal([]byte(attrs), &doc) != nil {
			if ok {
				t.Fatalf("ChannelFromAttributes(%q) accepted what encoding/json cannot decode as an object", attrs)
			}
			return
		}
		kdv, hasKD := doc["flexInteractionSid"].(string)
		uov, hasUO := doc["flexInteractionChannelSid"].(string)
		if !hasKD {
			if conv, isObj := doc["conversations"].(map[string]any); isObj {
				if id, isStr := conv["conversation_id"].(string); isStr && sid.Valid(sid.Interaction, id) && doc["flexInteractionSid"] == nil {
					kdv, hasKD = id, true
				}
			}
		}
		if ok != (hasKD && hasUO) || (ok && (ch.InteractionSID != kdv || ch.ChannelSID != uov)) {
			t.Fatalf("ChannelFromAttributes(%q) = %+v, %v; encoding/json reads %q, %q", attrs, ch, ok, kdv, uov)
		}
	})
}
