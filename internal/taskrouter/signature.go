package taskrouter

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"

	twclient "github.com/twilio/twilio-go/client"
)

// SignatureHeader carries Twilio's request signature.
const SignatureHeader = "X-Twilio-Signature"

// Authentication failures; test with errors.Is.
var (
	// ErrNotSigned: the request has no signature.
	ErrNotSigned = errors.New("taskrouter: request is not signed")
	// ErrBadSignature: the signature matches none of the tokens.
	ErrBadSignature = errors.New("taskrouter: signature does not match")
)

// Verify checks signature against the URL Twilio requested and the form
// parameters it posted with twilio-go's client.RequestValidator, once per
// token in turn (primary auth token first, then a secondary one during a
// rotation). The validator also tries the URL with and without its default
// port, since Twilio's own signing is inconsistent about ports.
//
// publicURL must be exactly what Twilio called, query string included;
// a "#" connection-override fragment is not signed and is removed here.
// If the URL has a bodySHA256 query parameter (JSON-body webhooks), body is
// checked against it and form is not signed. A form key with other than
// one value is refused before any validation: a signature covers only one
// value of each (ParseForm refuses such bodies too).
//
// Verify returns nil, ErrNotSigned or ErrBadSignature.
func Verify(publicURL string, form url.Values, body []byte, signature string, tokens ...string) error {
	if signature == "" {
		return ErrNotSigned
	}
	publicURL, _, _ = strings.Cut(publicURL, "#")
	if _, err := url.Parse(publicURL); err != nil {
		// twilio-go's ValidateBody refuses such a URL too; Twilio never
		// calls one.
		return ErrBadSignature
	}
	bodySHA := hasBodySHA256(publicURL)
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) != 1 {
			return ErrBadSignature
		}
		params[k] = v[0]
	}
	for _, tok := range tokens {
		if tok == "" {
			continue
		}
		v := twclient.NewRequestValidator(tok)
		if bodySHA && v.ValidateBody(publicURL, body, signature) || !bodySHA && v.Validate(publicURL, params, signature) {
			return nil
		}
	}
	return ErrBadSignature
}

// hasBodySHA256 reports whether rawURL selects the JSON-body variant: a
// non-empty bodySHA256 query parameter, read exactly as twilio-go's
// ValidateBody reads it (url.Parse, then Query, which skips malformed
// pairs), so the two never disagree on whether the body or the form is
// signed.
func hasBodySHA256(rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && u.Query().Get("bodySHA256") != ""
}

// Sign returns the X-Twilio-Signature Twilio would send for a POST of form to
// publicURL, signed with token. It is the test signer paired with Verify.
func Sign(token, publicURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(publicURL))
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range form[k] {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
