package flextest

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
)

// Transport is an http.RoundTripper that sends every request to the fake:
// it replaces the scheme and host of the request URL (flex-api.twilio.com,
// taskrouter.twilio.com...) with those of Target and keeps the path, query,
// headers and body. twilio-go has no base URL setting, so tests put a
// Transport in the client's http.Client.
type Transport struct {
	// Target is the fake's base URL, such as an httptest.Server's URL.
	Target *url.URL
	// Base sends the rewritten request; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// NewTransport returns a Transport to serverURL, which must be an absolute
// http or https URL. A nil base means http.DefaultTransport.
func NewTransport(serverURL string, base http.RoundTripper) (*Transport, error) {
	u, err := url.Parse(serverURL)
	if err != nil {
		return nil, fmt.Errorf("flextest transport: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("flextest transport: %q is not an absolute http(s) URL", serverURL)
	}
	return &Transport{Target: u, Base: base}, nil
}

// RoundTrip sends a copy of req, rewritten to Target. It does not modify req.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.URL.Scheme = t.Target.Scheme
	r.URL.Host = t.Target.Host
	r.Host = t.Target.Host
	return cmp.Or(t.Base, http.DefaultTransport).RoundTrip(r)
}
