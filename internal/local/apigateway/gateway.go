package apigateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/emulator"
)

// Defaults applied when Options leave a field zero.
const (
	// DefaultMaxBody is the HTTP API payload quota, 10 MB.
	DefaultMaxBody = 10 << 20
	// DefaultTimeout is the HTTP API's maximum integration timeout.
	DefaultTimeout = 30 * time.Second
)

// MaxInvokeBody is the largest payload accepted on the Invoke API path:
// Lambda's 6 MB quota for synchronous invocations.
const MaxInvokeBody = 6 << 20

// RequestIDHeader carries the gateway's request id on every answer, as an
// HTTP API sends it.
const RequestIDHeader = "Apigw-Requestid"

// Invoker runs one invocation of the function (*emulator.Instance). A nil
// error means the emulator answered; a failed function is a Result with
// FunctionError set.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (emulator.Result, error)
}

// Options tune a Gateway. The zero value routes every request to the
// function with HTTP API limits.
type Options struct {
	// Routes are the route keys served, "METHOD /path" such as
	// "POST /taskrouter"; a request matching none is answered 404 without
	// invoking the function. Empty routes everything to the function, like
	// an HTTP API's $default route.
	Routes []string

	// MaxBody is the largest request body accepted, in bytes. Zero or less
	// means DefaultMaxBody.
	MaxBody int64

	// Timeout bounds each request from its arrival to the function's answer,
	// queueing included. Zero or less means DefaultTimeout.
	Timeout time.Duration

	// InvokeAPI also serves POST /2015-03-31/functions/{name}/invocations,
	// which passes a raw event to the function.
	InvokeAPI bool

	// Observe, when set, is called once per request after its answer has
	// been written and flushed to the client, from the request's goroutine.
	Observe func(Exchange)
}

// Exchange describes one request the gateway answered.
type Exchange struct {
	// RequestID is the API request id, also sent as Apigw-Requestid.
	RequestID string
	// Method and Path are the request's method and URL path.
	Method, Path string
	// Status is the HTTP status answered.
	Status int
	// Invoked reports whether the function answered; Result is then set.
	Invoked bool
	// Result is the function's answer.
	Result emulator.Result
	// Err says why the gateway answered by itself with a 4xx or 5xx, or is
	// the function's failure; nil when the function's answer was relayed.
	Err error
	// Start is when the request arrived and Duration how long it took to
	// answer, queueing included.
	Start    time.Time
	Duration time.Duration
}

// Errors an Exchange reports; test them with errors.Is.
var (
	// ErrNoRoute means no route matches the method and path.
	ErrNoRoute = errors.New("localgw: no route matches")
	// ErrBodyTooLarge means the body exceeds the payload limit.
	ErrBodyTooLarge = errors.New("localgw: request body too large")
	// ErrTimeout means no answer came within the integration timeout, or the
	// function ran past its own timeout.
	ErrTimeout = errors.New("localgw: integration timed out")
	// ErrFunction means the function failed or answered something that is
	// not a proxy response.
	ErrFunction = errors.New("localgw: function failed")
	// ErrUnavailable means the emulator could not be reached.
	ErrUnavailable = errors.New("localgw: function unavailable")
)

// Gateway is an http.Handler standing in for API Gateway. It is safe for
// concurrent use; invocations are spread over its pool of invokers, one
// at a time per invoker.
type Gateway struct {
	pool   chan Invoker
	routes map[string]bool
	o      Options // with the defaults applied
}

// New returns a Gateway invoking the function through pool, one invocation
// at a time per invoker. It returns an error when pool is empty or a route is
// not "METHOD /path".
func New(pool []Invoker, o Options) (*Gateway, error) {
	if len(pool) == 0 {
		return nil, errors.New("localgw: no invoker")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	g := &Gateway{pool: make(chan Invoker, len(pool)), o: o}
	for _, inv := range pool {
		if inv == nil {
			return nil, errors.New("localgw: nil invoker")
		}
		g.pool <- inv
	}
	if len(o.Routes) > 0 {
		g.routes = map[string]bool{}
		for _, r := range o.Routes {
			method, path, ok := strings.Cut(r, " ")
			if !ok || method == "" || method != strings.ToUpper(method) || !strings.HasPrefix(path, "/") {
				return nil, fmt.Errorf("localgw: route %q is not \"METHOD /path\"", r)
			}
			g.routes[r] = true
		}
	}
	return g, nil
}

// ServeHTTP answers r as API Gateway would, invoking the function unless the
// gateway answers by itself (see the package documentation).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	x := Exchange{RequestID: randomID(), Method: r.Method, Path: r.URL.Path, Start: time.Now()}
	w.Header().Set(RequestIDHeader, x.RequestID)
	if g.o.InvokeAPI && isInvokePath(r.URL.Path) && r.Method == http.MethodPost {
		g.serveInvoke(w, r, &x)
	} else {
		g.serveRoute(w, r, &x)
	}
	x.Duration = time.Since(x.Start)
	if g.o.Observe != nil {
		// The client has its whole answer before the observer runs, however
		// long the observer takes.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		g.o.Observe(x)
	}
}

// matchRoute reports whether key ("METHOD /path") matches a route, where
// a route segment "{name}" matches any one non-empty segment, as HTTP API
// path variables do.
func matchRoute(routes map[string]bool, key string) bool {
	got := strings.Split(key, "/")
	for route := range routes {
		if slices.EqualFunc(strings.Split(route, "/"), got, func(want, seg string) bool {
			return want == seg || seg != "" && strings.HasPrefix(want, "{") && strings.HasSuffix(want, "}")
		}) {
			return true
		}
	}
	return false
}

// serveRoute serves a request to one of the API's routes.
func (g *Gateway) serveRoute(w http.ResponseWriter, r *http.Request, x *Exchange) {
	if g.routes != nil && !matchRoute(g.routes, r.Method+" "+r.URL.Path) {
		g.fail(w, x, http.StatusNotFound, "Not Found", ErrNoRoute)
		return
	}
	body, err := readBody(r, g.o.MaxBody)
	if err != nil {
		g.failRead(w, x, err, "Request Entity Too Large")
		return
	}
	event, err := gatewaytest.NewHTTPEvent(r.Method, "http://"+r.Host+r.URL.RequestURI(), eventHeader(r), body,
		gatewaytest.EventOptions{RequestID: x.RequestID, SourceIP: remoteIP(r.RemoteAddr), Time: x.Start})
	if err != nil {
		g.fail(w, x, http.StatusBadRequest, "Bad Request", err)
		return
	}
	if !g.call(r.Context(), w, x, event, false) {
		return
	}
	resp, err := gatewaytest.ParseResponse(x.Result.Payload)
	if err != nil {
		g.fail(w, x, http.StatusBadGateway, "Internal Server Error", fmt.Errorf("%w: %v", ErrFunction, err))
		return
	}
	for k, v := range resp.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	x.Status = resp.Status
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body) // a client that went away needs no answer
}

// serveInvoke serves the Lambda Invoke API path: the body is the event.
func (g *Gateway) serveInvoke(w http.ResponseWriter, r *http.Request, x *Exchange) {
	payload, err := readBody(r, MaxInvokeBody)
	if err != nil {
		g.failRead(w, x, err, "Request must be smaller than 6291456 bytes for the InvokeFunction operation")
		return
	}
	if !json.Valid(payload) {
		g.fail(w, x, http.StatusBadRequest, "Could not parse request body into json", errors.New("localgw: invoke payload is not JSON"))
		return
	}
	if !g.call(r.Context(), w, x, payload, true) {
		return
	}
	if x.Result.FunctionError != "" {
		w.Header().Set("X-Amz-Function-Error", x.Result.FunctionError)
	}
	w.Header().Set("X-Amzn-Requestid", x.Result.RequestID)
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	w.Header().Set("Content-Type", "application/json")
	x.Status = http.StatusOK
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(x.Result.Payload) // a client that went away needs no answer
}

// call invokes the function with payload on a free invoker, within the
// integration timeout. It answers the failures itself and reports whether
// the function's answer is in x.Result for the caller to relay. A failed
// function is relayed as is on the Invoke API path, and answered 502 or 504
// on a route.
func (g *Gateway) call(ctx context.Context, w http.ResponseWriter, x *Exchange, payload []byte, raw bool) bool {
	ctx, cancel := context.WithTimeout(ctx, g.o.Timeout)
	defer cancel()
	var inv Invoker
	select {
	case inv = <-g.pool:
	case <-ctx.Done():
		g.fail(w, x, http.StatusGatewayTimeout, "Endpoint request timed out", fmt.Errorf("%w: waiting for a free function: %v", ErrTimeout, ctx.Err()))
		return false
	}
	res, err := inv.Invoke(ctx, payload)
	g.pool <- inv
	switch {
	case err != nil && ctx.Err() != nil:
		g.fail(w, x, http.StatusGatewayTimeout, "Endpoint request timed out", fmt.Errorf("%w: %v", ErrTimeout, err))
		return false
	case err != nil:
		g.fail(w, x, http.StatusBadGateway, "Internal Server Error", fmt.Errorf("%w: %v", ErrUnavailable, err))
		return false
	}
	x.Invoked, x.Result = true, res
	if !res.Failed() {
		return true
	}
	x.Err = fmt.Errorf("%w: %s: %s", ErrFunction, res.ErrorType, res.ErrorMessage)
	if raw {
		return true
	}
	if res.ErrorType == emulator.ErrorTypeTimeout {
		x.Err = fmt.Errorf("%w: %s", ErrTimeout, res.ErrorMessage)
		g.fail(w, x, http.StatusGatewayTimeout, "Endpoint request timed out", x.Err)
		return false
	}
	g.fail(w, x, http.StatusBadGateway, "Internal Server Error", x.Err)
	return false
}

// failRead answers a body that could not be read: too large, or cut off.
func (g *Gateway) failRead(w http.ResponseWriter, x *Exchange, err error, tooLarge string) {
	if errors.Is(err, ErrBodyTooLarge) {
		w.Header().Set("Connection", "close")
		g.fail(w, x, http.StatusRequestEntityTooLarge, tooLarge, err)
		return
	}
	g.fail(w, x, http.StatusBadRequest, "Bad Request", err)
}

// fail answers with the gateway's own JSON error body.
func (g *Gateway) fail(w http.ResponseWriter, x *Exchange, status int, message string, err error) {
	x.Status, x.Err = status, err
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b) // a client that went away needs no answer
}

// readBody reads at most limit bytes of the body, failing with
// ErrBodyTooLarge beyond; a declared Content-Length over the limit fails
// without reading.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBodyTooLarge, r.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("localgw: read body: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrBodyTooLarge, limit)
	}
	return b, nil
}

// hopByHop are connection-level headers that a gateway consumes rather than
// forwards (RFC 9110 section 7.6.1).
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// eventHeader is the client's header as the function sees it: without
// hop-by-hop headers, and with the client's address appended to
// X-Forwarded-For as API Gateway does.
func eventHeader(r *http.Request) http.Header {
	h := r.Header.Clone()
	for _, k := range hopByHop {
		h.Del(k)
	}
	if ip := remoteIP(r.RemoteAddr); ip != "" {
		if prior := h.Get("X-Forwarded-For"); prior != "" {
			ip = prior + ", " + ip
		}
		h.Set("X-Forwarded-For", ip)
	}
	return h
}

// remoteIP is the host part of a RemoteAddr.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// isInvokePath matches /2015-03-31/functions/{name}/invocations.
func isInvokePath(p string) bool {
	return matchRoute(map[string]bool{"/2015-03-31/functions/{name}/invocations": true}, p)
}

// randomID returns 16 characters shaped like an HTTP API request id.
func randomID() string {
	var b [11]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(b[:])
}
