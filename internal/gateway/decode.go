package gateway

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
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

// event is the union of the payload 1.0 and 2.0 request shapes, holding
// only the fields Decode reads.
type event struct {
	Version string `json:"version"`

	// Payload 1.0.
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`

	// Payload 1.0 and 2.0.
	Headers map[string]string `json:"headers"`
	// headerList is what decodeEvent produces instead of Headers: the
	// members of "headers" in order, key then value (a null value as "").
	// headersSet reports that Headers would be a map rather than nil.
	// headerMap turns them into Headers.
	headerList            []string
	headersSet            bool
	QueryStringParameters map[string]string `json:"queryStringParameters"`
	Body                  string            `json:"body"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`

	// Payload 2.0.
	RawPath        string   `json:"rawPath"`
	RawQueryString string   `json:"rawQueryString"`
	Cookies        []string `json:"cookies"`

	RequestContext struct {
		RequestID  string `json:"requestId"`
		DomainName string `json:"domainName"`
		Stage      string `json:"stage"`
		// Payload 1.0: the path as the client sent it, stage or base
		// path included.
		Path     string `json:"path"`
		Identity struct {
			SourceIP string `json:"sourceIp"`
		} `json:"identity"`
		// Payload 2.0.
		HTTP struct {
			Method   string `json:"method"`
			Path     string `json:"path"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"`
	} `json:"requestContext"`
}

// Decode parses the raw Lambda payload of an API Gateway REST (payload
// 1.0), HTTP API (payload 2.0) or function URL event.
//
// It returns an error wrapping ErrMalformedEvent when the payload is not
// such an event, ErrBadBase64 when a body flagged as base64 does not
// decode, and ErrBodyTooLarge when the decoded body exceeds opts.MaxBody.
// Decode never panics, whatever the payload.
func Decode(payload []byte, opts Options) (*Request, error) {
	var ev event
	if err := decodeEvent(payload, &ev); err != nil {
		return nil, fmt.Errorf("decode event: %w: %w", ErrMalformedEvent, err)
	}
	r := &Request{RequestID: ev.RequestContext.RequestID}
	var publicPath string
	switch ev.Version {
	case "2.0":
		if ev.RequestContext.HTTP.Method == "" {
			return nil, fmt.Errorf("decode event: %w: payload 2.0 without requestContext.http.method", ErrMalformedEvent)
		}
		r.Method = ev.RequestContext.HTTP.Method
		r.Shape = ShapeHTTP
		if isFunctionURLHost(ev.RequestContext.DomainName) {
			r.Shape = ShapeFunctionURL
		}
		publicPath = ev.RawPath
		if publicPath == "" {
			publicPath = ev.RequestContext.HTTP.Path
		}
		if !strings.HasPrefix(publicPath, "/") {
			return nil, fmt.Errorf("decode event: %w: payload 2.0 without an absolute rawPath", ErrMalformedEvent)
		}
		r.Path = publicPath
		if stage := ev.RequestContext.Stage; r.Shape == ShapeHTTP && stage != "" && stage != "$default" {
			r.Path = trimStage(publicPath, stage)
		}
		r.RawQuery = ev.RawQueryString
		r.Header = singleValueHeaderList(ev.headerList)
		if len(ev.Cookies) > 0 && r.Header.Get("Cookie") == "" {
			r.Header["Cookie"] = []string{strings.Join(ev.Cookies, "; ")}
		}
		r.SourceIP = ev.RequestContext.HTTP.SourceIP
	case "", "1.0":
		if ev.HTTPMethod == "" {
			return nil, fmt.Errorf("decode event: %w: no httpMethod", ErrMalformedEvent)
		}
		if !strings.HasPrefix(ev.Path, "/") {
			return nil, fmt.Errorf("decode event: %w: payload 1.0 without an absolute path", ErrMalformedEvent)
		}
		r.Method = ev.HTTPMethod
		r.Shape = ShapeREST
		r.Path = routePathV1(ev.Path, ev.Resource, ev.PathParameters)
		publicPath = ev.RequestContext.Path
		if !strings.HasPrefix(publicPath, "/") {
			publicPath = ev.Path
		}
		if len(ev.MultiValueQueryStringParameters) > 0 {
			r.RawQuery = url.Values(ev.MultiValueQueryStringParameters).Encode()
		} else {
			r.RawQuery = encodeSingleQuery(ev.QueryStringParameters)
		}
		if len(ev.MultiValueHeaders) > 0 {
			r.Header = multiValueHeader(ev.MultiValueHeaders)
		} else {
			r.Header = singleValueHeaderList(ev.headerList)
		}
		r.SourceIP = ev.RequestContext.Identity.SourceIP
	default:
		return nil, fmt.Errorf("decode event: %w: unknown payload version", ErrMalformedEvent)
	}
	r.Method = strings.ToUpper(r.Method)

	body, err := decodeBody(ev.Body, ev.IsBase64Encoded, opts.MaxBody)
	if err != nil {
		return nil, fmt.Errorf("decode event body: %w", err)
	}
	r.Body = body

	if opts.BaseURL != "" {
		r.PublicURL = joinURL(strings.TrimRight(opts.BaseURL, "/"), "", r.Path, r.RawQuery)
	} else {
		r.PublicURL = rebuildURL(r.Header, ev.RequestContext.DomainName, publicPath, r.RawQuery)
	}
	return r, nil
}

// isFunctionURLHost reports whether host is a Lambda function URL domain,
// <url-id>.lambda-url.<region>.on.aws.
func isFunctionURLHost(host string) bool {
	return strings.Contains(host, ".lambda-url.") && strings.HasSuffix(host, ".on.aws")
}

// trimStage removes a leading "/stage" segment from p, which HTTP APIs put
// in rawPath for every stage except $default.
func trimStage(p, stage string) string {
	n := 1 + len(stage)
	if len(p) < n || p[1:n] != stage {
		return p
	}
	switch {
	case len(p) == n:
		return "/"
	case p[n] == '/':
		return p[n:]
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
	if !strings.Contains(resource, "{") {
		return resource, true
	}
	var b strings.Builder
	b.Grow(len(resource) + 32)
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

// encodeSingleQuery encodes single-valued query parameters in the same
// deterministic form as url.Values.Encode: keys sorted, QueryEscape'd.
func encodeSingleQuery(q map[string]string) string {
	if len(q) == 0 {
		return ""
	}
	keys := slices.Sorted(maps.Keys(q))
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(q[k]))
	}
	return b.String()
}

// singleValueHeader builds an http.Header from a map of one value per
// header, sharing one backing array between all the value slices.
func singleValueHeader(m map[string]string) http.Header {
	h := make(http.Header, len(m))
	values := make([]string, len(m))
	i := 0
	for k, v := range m {
		ck := canonicalHeaderKey(k)
		if _, dup := h[ck]; dup {
			return mergeHeader(len(m), func(yield func(string, []string) bool) {
				for _, k := range slices.Sorted(maps.Keys(m)) {
					if !yield(k, []string{m[k]}) {
						return
					}
				}
			})
		}
		values[i] = v
		h[ck] = values[i : i+1 : i+1]
		i++
	}
	return h
}

// singleValueHeaderList builds an http.Header from header names and values
// in the order they came, key then value, without the map of them that
// json.Unmarshal would have built. When two names are the same after
// canonicalization it builds that map and leaves the result to
// singleValueHeader, whose merge rules then apply.
func singleValueHeaderList(kv []string) http.Header {
	n := len(kv) / 2
	h := make(http.Header, n)
	values := make([]string, n)
	for i := 0; i < n; i++ {
		ck := canonicalHeaderKey(kv[2*i])
		if _, dup := h[ck]; dup {
			return singleValueHeader(headerMap(kv))
		}
		values[i] = kv[2*i+1]
		h[ck] = values[i : i+1 : i+1]
	}
	return h
}

// headerMap returns the map json.Unmarshal builds from the header list:
// later values win.
func headerMap(kv []string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// multiValueHeader builds an http.Header from payload 1.0
// multiValueHeaders, keeping every value.
func multiValueHeader(m map[string][]string) http.Header {
	h := make(http.Header, len(m))
	for k, vs := range m {
		ck := http.CanonicalHeaderKey(k)
		if _, dup := h[ck]; dup {
			return mergeHeader(len(m), func(yield func(string, []string) bool) {
				for _, k := range slices.Sorted(maps.Keys(m)) {
					if !yield(k, m[k]) {
						return
					}
				}
			})
		}
		h[ck] = slices.Clip(vs)
	}
	return h
}

// mergeHeader is the slow path taken when two keys differ only in case
// ("cache-control" and "Cache-Control"): the keys arrive sorted so the
// merged value order does not depend on map iteration order.
func mergeHeader(n int, all func(yield func(string, []string) bool)) http.Header {
	h := make(http.Header, n)
	for k, vs := range all {
		ck := http.CanonicalHeaderKey(k)
		h[ck] = append(slices.Clip(h[ck]), vs...)
	}
	return h
}

// decodeBody returns the request body, base64-decoded when b64 is set,
// refusing bodies longer than max bytes (DefaultMaxBody if max <= 0).
func decodeBody(s string, b64 bool, max int) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	if !b64 {
		if len(s) > max {
			return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, len(s), max)
		}
		if s == "" {
			return nil, nil
		}
		return []byte(s), nil
	}
	if n := base64DecodedLen(s); n > max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, n, max)
	}
	if s == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBase64, err)
	}
	if len(b) > max { // unreachable for canonical base64; kept as the invariant
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, len(b), max)
	}
	return b, nil
}

// base64DecodedLen returns the length that padded standard base64 s
// decodes to, without decoding it. For malformed input it is an estimate;
// decoding reports the error.
func base64DecodedLen(s string) int {
	n := len(s)
	pad := 0
	if n > 0 && s[n-1] == '=' {
		pad++
		if n > 1 && s[n-2] == '=' {
			pad++
		}
	}
	return (n - pad) * 3 / 4
}

// rebuildURL reconstructs the URL the sender used from the event: scheme
// from X-Forwarded-Proto, host from requestContext.domainName or the Host
// header, and a non-default X-Forwarded-Port. It returns "" when there is
// no usable host.
func rebuildURL(h http.Header, domain, path, rawQuery string) string {
	host := domain
	if !validHost(host) {
		host = firstValue(h, "Host")
		if !validHost(host) {
			return ""
		}
	}
	scheme := "https"
	if strings.EqualFold(firstValue(h, "X-Forwarded-Proto"), "http") {
		scheme = "http"
	}
	authority := host
	if port := firstValue(h, "X-Forwarded-Port"); validPort(port) && !hasPort(host) &&
		!(scheme == "https" && port == "443") && !(scheme == "http" && port == "80") {
		authority = host + ":" + port
	}
	return joinURL(scheme+"://", authority, path, rawQuery)
}

// joinURL concatenates prefix, authority and path, adding '?' and rawQuery
// when the query is not empty, with a single allocation.
func joinURL(prefix, authority, path, rawQuery string) string {
	var b strings.Builder
	b.Grow(len(prefix) + len(authority) + len(path) + 1 + len(rawQuery))
	b.WriteString(prefix)
	b.WriteString(authority)
	b.WriteString(path)
	if rawQuery != "" {
		b.WriteByte('?')
		b.WriteString(rawQuery)
	}
	return b.String()
}

// firstValue returns the first comma-separated element of the first value
// of header key, trimmed of spaces, as proxies append to X-Forwarded-*.
func firstValue(h http.Header, key string) string {
	vs := h[key]
	if len(vs) == 0 {
		return ""
	}
	v, _, _ := strings.Cut(vs[0], ",")
	return strings.TrimSpace(v)
}

// validHost reports whether host can stand as a URL authority: a DNS name,
// an IPv4 address or a bracketed IPv6 address, optionally with a port.
func validHost(host string) bool {
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// hasPort reports whether host already ends with ":port".
func hasPort(host string) bool {
	i := strings.LastIndexByte(host, ':')
	return i >= 0 && i > strings.LastIndexByte(host, ']')
}

// validPort reports whether p is a decimal TCP port number.
func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n > 0 && n <= 65535
}
