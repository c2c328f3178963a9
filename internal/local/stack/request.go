package stack

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// Request is a signed webhook request, ready to be sent, printed as a curl
// command or wrapped in an API Gateway event.
type Request struct {
	// Method is the HTTP method, POST for webhooks.
	Method string
	// URL is the absolute URL the request is sent to, which the signature
	// covers.
	URL string
	// Header holds the content type and the authentication headers.
	Header http.Header
	// Body is the encoded form or JSON document.
	Body []byte
}

// TaskRouterRequest returns the POST TaskRouter would send to rawURL for
// form, signed with token in X-Twilio-Signature.
func TaskRouterRequest(rawURL, token string, form url.Values) (Request, error) {
	if err := checkURL(rawURL); err != nil {
		return Request{}, err
	}
	if token == "" {
		return Request{}, fmt.Errorf("localrun: empty auth token")
	}
	return Request{
		Method: http.MethodPost,
		URL:    rawURL,
		Header: http.Header{
			"Content-Type":             {"application/x-www-form-urlencoded"},
			taskrouter.SignatureHeader: {taskrouter.Sign(token, rawURL, form)},
		},
		Body: []byte(form.Encode()),
	}, nil
}

// CRMAuth says how a CRM request authenticates: with a Standard Webhooks
// signature when Secret is set (ID and Time default to a random message id
// and now), or else with an "Authorization: Bearer" Token.
type CRMAuth struct {
	Secret string
	ID     string
	Time   time.Time
	Token  string
}

// CRMRequest returns a POST of the JSON body to rawURL authenticated by
// auth. It fails when neither a secret nor a token is given, or when crm.Sign
// refuses the secret or id.
func CRMRequest(rawURL string, body []byte, auth CRMAuth) (Request, error) {
	if err := checkURL(rawURL); err != nil {
		return Request{}, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	switch {
	case auth.Secret != "":
		signed, err := crm.Sign(auth.Secret, cmp.Or(auth.ID, NewMessageID()), cmp.Or(auth.Time, time.Now()), body)
		if err != nil {
			return Request{}, err
		}
		maps.Copy(h, signed)
	case auth.Token != "":
		h.Set("Authorization", "Bearer "+auth.Token)
	default:
		return Request{}, fmt.Errorf("localrun: a CRM request needs a webhook secret or a bearer token")
	}
	return Request{Method: http.MethodPost, URL: rawURL, Header: h, Body: body}, nil
}

// NewMessageID returns a random Standard Webhooks message id, "msg_" and 24
// hex digits.
func NewMessageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "msg_" + hex.EncodeToString(b[:])
}

func checkURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("localrun: %q is not an absolute http(s) URL", rawURL)
	}
	return nil
}

// Curl renders r as a curl command a shell runs as is: one option per line,
// headers sorted, every argument single-quoted. It prints the response
// headers and body, without a progress meter.
func (r Request) Curl() string {
	var b strings.Builder
	b.WriteString("curl -sS -i")
	if r.Method != http.MethodPost {
		b.WriteString(" -X " + shellQuote(r.Method))
	}
	b.WriteString(" " + shellQuote(r.URL))
	for _, k := range slices.Sorted(maps.Keys(r.Header)) {
		for _, v := range r.Header[k] {
			b.WriteString(" \\\n  -H " + shellQuote(k+": "+v))
		}
	}
	if len(r.Body) > 0 {
		b.WriteString(" \\\n  --data-raw " + shellQuote(string(r.Body)))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Event renders r as the API Gateway HTTP API (payload 2.0) event the
// function would receive for it.
func (r Request) Event(o gatewaytest.EventOptions) ([]byte, error) {
	return gatewaytest.NewHTTPEvent(r.Method, r.URL, r.Header, r.Body, o)
}

// HTTP returns r as an *http.Request bound to ctx.
func (r Request) HTTP(ctx context.Context) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	return req, nil
}
