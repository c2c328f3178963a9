// Package gatewaytest builds the API Gateway events a deployed API delivers
// and reads the responses a function returns: the inverse of package
// gateway, for the local API gateway of `flexhook run`, sample events and
// tests. Nothing a Lambda links imports it.
package gatewaytest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/flexhook/flexhook/internal/gateway"
)

// EventOptions describe the API a synthetic event seems to come through.
type EventOptions struct {
	// Stage is the API stage; "" means HTTP API's "$default" (no stage in
	// the path) for NewHTTPEvent and "prod" for NewRESTEvent.
	Stage string
	// RequestID is requestContext.requestId (default: derived from Time).
	RequestID string
	// SourceIP is the caller's address (default 127.0.0.1).
	SourceIP string
	// Time is the request time (default time.Now).
	Time time.Time
}

// NewHTTPEvent builds the API Gateway HTTP API (payload 2.0) event that API
// Gateway delivers for a request to rawURL — the inverse of gateway.Decode. Header
// names are lower-cased and repeated values comma-joined, and bodies other
// than JSON and text are base64-encoded, as API Gateway does (a form post
// arrives with isBase64Encoded true). With a named stage, rawURL's path must
// start with "/"+stage. It serves the local API gateway of `flexhook run`,
// sample events and tests.
func NewHTTPEvent(method, rawURL string, header http.Header, body []byte, o EventOptions) ([]byte, error) {
	u, o, err := o.parse(rawURL, "$default")
	if err != nil {
		return nil, err
	}
	stage := o.Stage
	routePath := u.EscapedPath()
	if stage != "$default" {
		routePath = strings.TrimPrefix(routePath, "/"+stage)
	}
	e := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       method + " " + routePath,
		RawPath:        u.EscapedPath(),
		RawQueryString: u.RawQuery,
		Headers:        map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:    "123456789012",
			APIID:        apiID(u.Host),
			DomainName:   u.Host,
			DomainPrefix: apiID(u.Host),
			RequestID:    o.RequestID,
			RouteKey:     method + " " + routePath,
			Stage:        stage,
			Time:         o.Time.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    o.Time.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    method,
				Path:      u.EscapedPath(),
				Protocol:  "HTTP/1.1",
				SourceIP:  o.SourceIP,
				UserAgent: header.Get("User-Agent"),
			},
		},
	}
	if q, err := url.ParseQuery(u.RawQuery); err == nil && len(q) > 0 {
		e.QueryStringParameters = map[string]string{}
		for k, v := range q {
			e.QueryStringParameters[k] = strings.Join(v, ",")
		}
	}
	for k, v := range header {
		e.Headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	e.Headers["host"] = u.Host
	e.Headers["content-length"] = strconv.Itoa(len(body))
	e.Headers["x-forwarded-proto"] = u.Scheme
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	e.Headers["x-forwarded-port"] = port
	e.Body, e.IsBase64Encoded = encodeEventBody(header.Get("Content-Type"), body)
	return json.Marshal(e)
}

// NewRESTEvent builds the API Gateway REST API (payload 1.0) event for a
// request to rawURL on the execute-api host, whose path starts with the
// stage ("/prod/taskrouter"). Headers keep their case and repeated values
// go to multiValueHeaders; the query string is delivered only as decoded
// parameters, as API Gateway does.
func NewRESTEvent(method, rawURL string, header http.Header, body []byte, o EventOptions) ([]byte, error) {
	u, o, err := o.parse(rawURL, "prod")
	if err != nil {
		return nil, err
	}
	fullPath := u.Path
	path := strings.TrimPrefix(fullPath, "/"+o.Stage)
	e := events.APIGatewayProxyRequest{
		Resource:          path,
		Path:              path,
		HTTPMethod:        method,
		Headers:           map[string]string{},
		MultiValueHeaders: map[string][]string{},
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID:        "123456789012",
			ResourcePath:     path,
			Stage:            o.Stage,
			RequestID:        o.RequestID,
			Identity:         events.APIGatewayRequestIdentity{SourceIP: o.SourceIP},
			HTTPMethod:       method,
			APIID:            apiID(u.Host),
			Path:             fullPath,
			DomainName:       u.Host,
			RequestTimeEpoch: o.Time.UnixMilli(),
		},
	}
	if q := u.Query(); len(q) > 0 {
		e.QueryStringParameters = map[string]string{}
		e.MultiValueQueryStringParameters = map[string][]string{}
		for k, v := range q {
			e.QueryStringParameters[k] = v[len(v)-1]
			e.MultiValueQueryStringParameters[k] = v
		}
	}
	for k, v := range header {
		e.Headers[k] = v[len(v)-1]
		e.MultiValueHeaders[k] = v
	}
	e.Headers["Host"], e.MultiValueHeaders["Host"] = u.Host, []string{u.Host}
	e.Headers["X-Forwarded-Proto"], e.MultiValueHeaders["X-Forwarded-Proto"] = u.Scheme, []string{u.Scheme}
	e.Body, e.IsBase64Encoded = encodeEventBody(header.Get("Content-Type"), body)
	return json.Marshal(e)
}

// parse reads an event's absolute URL and fills in o's defaults, stage
// being the default stage.
func (o EventOptions) parse(rawURL, stage string) (*url.URL, EventOptions, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, o, fmt.Errorf("gatewaytest: event URL %q is not absolute", rawURL)
	}
	if o.Stage == "" {
		o.Stage = stage
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.RequestID == "" {
		o.RequestID = "local-" + strconv.FormatInt(o.Time.UnixNano(), 36)
	}
	if o.SourceIP == "" {
		o.SourceIP = "127.0.0.1"
	}
	return u, o, nil
}

// apiID is the first label of an execute-api host, or a placeholder.
func apiID(host string) string {
	if i := strings.IndexByte(host, '.'); i > 0 {
		return host[:i]
	}
	return "local"
}

// encodeEventBody base64-encodes everything but JSON and text, as API
// Gateway does for bodies it treats as binary (form posts included).
func encodeEventBody(contentType string, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" || strings.HasPrefix(mt, "text/") {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// ParseResponse decodes what a function returned for an HTTP event (the
// document gateway.Encode writes) into a gateway.Response, decoding a base64 body. The local
// API gateway uses it to answer HTTP clients.
func ParseResponse(b []byte) (gateway.Response, error) {
	var r events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return gateway.Response{}, fmt.Errorf("gatewaytest: function response is not a proxy response: %w", err)
	}
	if r.StatusCode < 100 || r.StatusCode > 599 {
		return gateway.Response{}, fmt.Errorf("gatewaytest: function response has status %d", r.StatusCode)
	}
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(r.Body); err != nil {
			return gateway.Response{}, fmt.Errorf("gatewaytest: function response body: %w", err)
		}
	}
	h := r.Headers
	for k, v := range r.MultiValueHeaders {
		if h == nil {
			h = map[string]string{}
		}
		h[k] = strings.Join(v, ",")
	}
	return gateway.Response{Status: r.StatusCode, Header: h, Body: body}, nil
}
