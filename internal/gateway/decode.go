package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Shape is the kind of event a payload was.
type Shape int

// The event shapes Decode understands.
const (
	// ShapeREST is payload format 1.0: an API Gateway REST API, or an HTTP
	// API whose integration uses payload 1.0.
	ShapeREST Shape = iota + 1
	// ShapeHTTP is payload format 2.0 from an API Gateway HTTP API.
	ShapeHTTP
	// ShapeFunctionURL is a Lambda function URL event (payload 2.0 shape).
	ShapeFunctionURL
)

// String returns a short name for the shape, for logs.
func (s Shape) String() string {
	switch s {
	case ShapeREST:
		return "rest"
	case ShapeHTTP:
		return "http"
	case ShapeFunctionURL:
		return "function-url"
	}
	return fmt.Sprintf("Shape(%d)", int(s))
}

// Errors returned by Decode, wrapped with context; test them with errors.Is.
var (
	// ErrMalformedEvent means the payload is not JSON, is not shaped like an
	// API Gateway or function URL event, or lacks the method or path.
	ErrMalformedEvent = errors.New("malformed HTTP event")
	// ErrBadBase64 means the event says its body is base64 but it is not.
	ErrBadBase64 = errors.New("body is not valid base64")
	// ErrBodyTooLarge means the decoded body would exceed Options.MaxBody.
	ErrBodyTooLarge = errors.New("body too large")
)

// DefaultMaxBody is the body limit, in decoded bytes, used when
// Options.MaxBody is not positive.
const DefaultMaxBody = 1 << 20

// Options tunes Decode. The zero value is ready to use.
type Options struct {
	// BaseURL is the public URL of the API root, for example
	// "https://hooks.example.com/flex" (the PUBLIC_BASE_URL setting). When
	// set, Request.PublicURL is BaseURL + Path + "?" + RawQuery. The caller
	// validates it when it loads its configuration.
	BaseURL string
	// MaxBody is the largest body accepted, in bytes after base64
	// decoding. Zero or less means DefaultMaxBody.
	MaxBody int
}

// Request is an HTTP request as the function saw it, independent of the
// event source.
type Request struct {
	// Shape is the kind of event the request arrived as.
	Shape Shape
	// Method is the HTTP method, upper-case.
	Method string
	// Path is the route path relative to the API, without stage or
	// custom-domain base path, for example "/taskrouter".
	Path string
	// RawQuery is the query string without '?'. It is exactly as sent for
	// payload 2.0 and rebuilt (sorted keys) for payload 1.0.
	RawQuery string
	// Header holds the request headers under canonical keys. Payload 1.0
	// keeps every repeated value; payload 2.0 gives one comma-joined value
	// per header, as API Gateway delivers it.
	Header http.Header
	// Body is the request body, base64 decoded when the event said so.
	Body []byte
	// PublicURL is the URL the sender used, as described in the package
	// documentation. It is empty when no host can be determined.
	PublicURL string
	// RequestID is the API Gateway or Lambda URL request id
	// (requestContext.requestId).
	RequestID string
	// SourceIP is the client address API Gateway saw.
	SourceIP string
}

// Decode parses the raw Lambda payload of an API Gateway REST (payload
// 1.0), HTTP API (payload 2.0) or function URL event.
//
// It returns an error wrapping ErrMalformedEvent when the payload is not
// such an event, ErrBadBase64 when a body flagged as base64 does not
// decode, and ErrBodyTooLarge when the decoded body exceeds opts.MaxBody.
// Decode never panics, whatever the payload.
func Decode(payload []byte, opts Options) (*Request, error) {
	shape, err := shapeOf(payload)
	if err != nil {
		return nil, fmt.Errorf("decode event: %w: %w", ErrMalformedEvent, err)
	}
	var (
		r          *Request
		publicPath string // the path the sender used, stage or base path included
		domain     string // requestContext.domainName
		body       string
		b64        bool
	)
	switch shape {
	case ShapeREST:
		var e events.APIGatewayProxyRequest
		if err = json.Unmarshal(payload, &e); err == nil {
			r, publicPath, err = fromREST(&e)
			domain, body, b64 = e.RequestContext.DomainName, e.Body, e.IsBase64Encoded
		}
	case ShapeHTTP:
		var e events.APIGatewayV2HTTPRequest
		if err = json.Unmarshal(payload, &e); err == nil {
			c := &e.RequestContext
			r, publicPath, err = fromV2(shape, v2Event{e.RawPath, e.RawQueryString, e.Headers, e.Cookies,
				c.HTTP.Method, c.HTTP.Path, c.HTTP.SourceIP, c.RequestID, c.Stage})
			domain, body, b64 = c.DomainName, e.Body, e.IsBase64Encoded
		}
	case ShapeFunctionURL:
		var e events.LambdaFunctionURLRequest
		if err = json.Unmarshal(payload, &e); err == nil {
			c := &e.RequestContext
			r, publicPath, err = fromV2(shape, v2Event{e.RawPath, e.RawQueryString, e.Headers, e.Cookies,
				c.HTTP.Method, c.HTTP.Path, c.HTTP.SourceIP, c.RequestID, ""})
			domain, body, b64 = c.DomainName, e.Body, e.IsBase64Encoded
		}
	}
	if err != nil {
		return nil, fmt.Errorf("decode event: %w: %w", ErrMalformedEvent, err)
	}
	r.Method = strings.ToUpper(r.Method)
	if r.Body, err = decodeBody(body, b64, opts.MaxBody); err != nil {
		return nil, fmt.Errorf("decode event body: %w", err)
	}
	if opts.BaseURL != "" {
		r.PublicURL = joinURL(strings.TrimRight(opts.BaseURL, "/"), r.Path, r.RawQuery)
	} else {
		r.PublicURL = rebuildURL(r.Header, domain, publicPath, r.RawQuery)
	}
	return r, nil
}

// shapeOf tells the event sources apart from the fields that name them:
// "version" is "2.0" for HTTP APIs and function URLs and "1.0" or absent
// for payload 1.0, and a function URL is served on its own domain,
// <url-id>.lambda-url.<region>.on.aws.
func shapeOf(payload []byte) (Shape, error) {
	var probe struct {
		Version        string `json:"version"`
		RequestContext struct {
			DomainName string `json:"domainName"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return 0, err
	}
	switch probe.Version {
	case "", "1.0":
		return ShapeREST, nil
	case "2.0":
		if isFunctionURLHost(probe.RequestContext.DomainName) {
			return ShapeFunctionURL, nil
		}
		return ShapeHTTP, nil
	}
	return 0, fmt.Errorf("unknown payload version %q", probe.Version)
}

// isFunctionURLHost reports whether host is a Lambda function URL domain,
// <url-id>.lambda-url.<region>.on.aws.
func isFunctionURLHost(host string) bool {
	return strings.Contains(host, ".lambda-url.") && strings.HasSuffix(host, ".on.aws")
}

// fromREST reads a payload 1.0 event. publicPath is requestContext.path,
// the path as the client sent it (stage or base path included).
func fromREST(e *events.APIGatewayProxyRequest) (r *Request, publicPath string, err error) {
	if e.HTTPMethod == "" {
		return nil, "", errors.New("no httpMethod")
	}
	if !strings.HasPrefix(e.Path, "/") {
		return nil, "", errors.New("payload 1.0 without an absolute path")
	}
	r = &Request{
		Shape:     ShapeREST,
		Method:    e.HTTPMethod,
		Path:      routePathV1(e.Path, e.Resource, e.PathParameters),
		RequestID: e.RequestContext.RequestID,
		SourceIP:  e.RequestContext.Identity.SourceIP,
	}
	if len(e.MultiValueQueryStringParameters) > 0 {
		r.RawQuery = url.Values(e.MultiValueQueryStringParameters).Encode()
	} else {
		q := make(url.Values, len(e.QueryStringParameters))
		for k, v := range e.QueryStringParameters {
			q[k] = []string{v}
		}
		r.RawQuery = q.Encode()
	}
	if len(e.MultiValueHeaders) > 0 {
		r.Header = header(e.MultiValueHeaders, func(vs []string) []string { return vs })
	} else {
		r.Header = header(e.Headers, func(v string) []string { return []string{v} })
	}
	publicPath = e.RequestContext.Path
	if !strings.HasPrefix(publicPath, "/") {
		publicPath = e.Path
	}
	return r, publicPath, nil
}

// v2Event holds the fields APIGatewayV2HTTPRequest and
// LambdaFunctionURLRequest share, which Decode reads.
type v2Event struct {
	rawPath, rawQuery string
	headers           map[string]string
	cookies           []string
	method, httpPath  string
	sourceIP          string
	requestID         string
	stage             string // "" for a function URL
}

// fromV2 reads a payload 2.0 event. publicPath is rawPath, which HTTP APIs
// prefix with the stage for every stage but $default.
func fromV2(shape Shape, e v2Event) (r *Request, publicPath string, err error) {
	if e.method == "" {
		return nil, "", errors.New("payload 2.0 without requestContext.http.method")
	}
	publicPath = e.rawPath
	if publicPath == "" {
		publicPath = e.httpPath
	}
	if !strings.HasPrefix(publicPath, "/") {
		return nil, "", errors.New("payload 2.0 without an absolute rawPath")
	}
	r = &Request{
		Shape:     shape,
		Method:    e.method,
		Path:      publicPath,
		RawQuery:  e.rawQuery,
		Header:    header(e.headers, func(v string) []string { return []string{v} }),
		RequestID: e.requestID,
		SourceIP:  e.sourceIP,
	}
	if e.stage != "" && e.stage != "$default" {
		r.Path = trimStage(publicPath, e.stage)
	}
	if len(e.cookies) > 0 && r.Header.Get("Cookie") == "" {
		r.Header["Cookie"] = []string{strings.Join(e.cookies, "; ")}
	}
	return r, publicPath, nil
}

// header builds an http.Header from an event's header map, keeping every
// value. Keys that differ only in case ("cache-control" and
// "Cache-Control") are merged in sorted key order, so the result never
// depends on map iteration order.
func header[V any](m map[string]V, values func(V) []string) http.Header {
	h := make(http.Header, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		ck := http.CanonicalHeaderKey(k)
		h[ck] = append(h[ck], values(m[k])...)
	}
	return h
}

// trimStage removes a leading "/stage" segment from p, which HTTP APIs put
// in rawPath for every stage except $default.
func trimStage(p, stage string) string {
	rest, ok := strings.CutPrefix(p, "/"+stage)
	switch {
	case !ok:
		return p
	case rest == "":
		return "/"
	case rest[0] == '/':
		return rest
	}
	return p
}

// routePathV1 returns the route path of a payload 1.0 event. The path field
// omits the stage, but on a custom domain it carries the base path mapping
// too ("/flex/taskrouter" for base path "flex"). The resource template with
// its path parameters filled in is the route path without either, so it is
// used whenever path ends with it.
func routePathV1(path, resource string, params map[string]string) string {
	route, ok := expandResource(resource, params)
	if ok && strings.HasSuffix(path, route) {
		return route
	}
	return path
}

// expandResource fills the {name} and {name+} placeholders of an API
// Gateway resource template from params. It reports false when the
// template is not an absolute path or a parameter is missing.
func expandResource(resource string, params map[string]string) (string, bool) {
	if !strings.HasPrefix(resource, "/") {
		return "", false
	}
	var b strings.Builder
	rest := resource
	for {
		before, after, found := strings.Cut(rest, "{")
		b.WriteString(before)
		if !found {
			return b.String(), true
		}
		name, tail, closed := strings.Cut(after, "}")
		if !closed {
			return "", false
		}
		v, present := params[strings.TrimSuffix(name, "+")]
		if !present {
			return "", false
		}
		b.WriteString(v)
		rest = tail
	}
}

// decodeBody returns the request body, base64-decoded when b64 is set,
// refusing bodies longer than max bytes (DefaultMaxBody if max <= 0). A
// base64 body is measured before it is decoded, so an oversized one costs
// no decoding work.
func decodeBody(s string, b64 bool, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	n := len(s)
	if b64 {
		n = base64DecodedLen(s)
	}
	if n > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, n, max)
	}
	if s == "" {
		return nil, nil
	}
	if !b64 {
		return []byte(s), nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBase64, err)
	}
	return b, nil
}

// base64DecodedLen returns the length that padded standard base64 s
// decodes to, without decoding it. For malformed input it is an estimate;
// decoding reports the error.
func base64DecodedLen(s string) int {
	pad := min(len(s)-len(strings.TrimRight(s, "=")), 2)
	return (len(s) - pad) * 3 / 4
}
