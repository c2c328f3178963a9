package tracing

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// contextKey is the key aws-lambda-go stores the invocation's trace header
// under. It is a plain string because aws-lambda-go uses one.
const contextKey = "x-amzn-trace-id"

// ContextWithHeader returns ctx carrying the trace header h under the key
// aws-lambda-go uses, for tests and local runs.
func ContextWithHeader(ctx context.Context, h string) context.Context {
	//lint:ignore SA1029 the key must be aws-lambda-go's, a plain string.
	return context.WithValue(ctx, contextKey, h) //nolint:staticcheck
}

// Header is the part of an X-Ray trace header a subsegment needs.
type Header struct {
	Root    string // trace id, 1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx
	Parent  string // id of the parent segment, 16 hex digits
	Sampled bool
}

// ParseHeader reads a trace header such as
// "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".
// Unknown fields (Lineage, Self…) are ignored.
func ParseHeader(s string) Header {
	var h Header
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, ";")
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "Root":
			h.Root = v
		case "Parent":
			h.Parent = v
		case "Sampled":
			h.Sampled = v == "1"
		}
	}
	return h
}

// headerFrom returns the trace header of ctx's invocation, and whether a
// subsegment should be sent for it.
func headerFrom(ctx context.Context) (Header, bool) {
	s, _ := ctx.Value(contextKey).(string)
	if s == "" {
		return Header{}, false
	}
	h := ParseHeader(s)
	return h, h.Sampled && h.Root != "" && h.Parent != ""
}

// Options configure New.
type Options struct {
	// DaemonAddr is the X-Ray daemon's UDP address (AWS_XRAY_DAEMON_ADDRESS,
	// host:port). Empty turns tracing off.
	DaemonAddr string
}

// Tracer sends subsegments to the X-Ray daemon. A nil *Tracer traces
// nothing. It is safe for concurrent use.
type Tracer struct {
	addr string

	mu   sync.Mutex
	conn net.Conn // dialed on the first subsegment
}

// New returns a Tracer for o, or nil when o.DaemonAddr is empty.
func New(o Options) *Tracer {
	if o.DaemonAddr == "" {
		return nil
	}
	// AWS_XRAY_DAEMON_ADDRESS may also be "tcp:host:port udp:host:port".
	addr := o.DaemonAddr
	for _, f := range strings.Fields(addr) {
		if a, ok := strings.CutPrefix(f, "udp:"); ok {
			addr = a
		}
	}
	return &Tracer{addr: addr}
}

// Transport returns base wrapped so that each request made in a sampled
// invocation is sent as a "remote" subsegment named for its host, with its
// method, URL, status and error class. A nil Tracer returns base.
func (t *Tracer) Transport(base http.RoundTripper) http.RoundTripper {
	if t == nil {
		return base
	}
	return &traced{t: t, do: base.RoundTrip, namespace: "remote"}
}

// Doer is the HTTP client interface of the AWS SDK (aws.HTTPClient).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// AWSClient returns base wrapped so that each AWS API call made in a
// sampled invocation is sent as an "aws" subsegment named service, with
// the operation (from X-Amz-Target) and the request id. A nil Tracer
// returns base.
func (t *Tracer) AWSClient(base Doer, service string) Doer {
	if t == nil {
		return base
	}
	return &traced{t: t, do: base.Do, name: service, namespace: "aws"}
}

// traced makes requests with do and, in a sampled invocation, sends each
// as a subsegment called name (the request's host when empty) in
// namespace ("remote" or "aws", which adds the operation and request id).
// It is both an http.RoundTripper and a Doer.
type traced struct {
	t               *Tracer
	do              func(*http.Request) (*http.Response, error)
	name, namespace string
}

func (c *traced) RoundTrip(req *http.Request) (*http.Response, error) { return c.Do(req) }

func (c *traced) Do(req *http.Request) (*http.Response, error) {
	h, ok := headerFrom(req.Context())
	if !ok {
		return c.do(req)
	}
	t := c.t
	start := time.Now()
	resp, err := c.do(req)
	seg := t.subsegment(h, cmp.Or(c.name, req.URL.Hostname()), start)
	seg.Namespace = c.namespace
	seg.HTTP = httpInfo(req, resp)
	if c.namespace == "aws" {
		info := &awsInfo{}
		if target := req.Header.Get("X-Amz-Target"); target != "" {
			_, info.Operation, _ = strings.Cut(target, ".")
		}
		if resp != nil {
			info.RequestID = resp.Header.Get("X-Amzn-Requestid")
		}
		seg.AWS = info
	}
	seg.classify(resp, err)
	t.send(seg)
	return resp, err
}

// subsegment is an independent subsegment document.
type subsegment struct {
	Name      string    `json:"name"`
	ID        string    `json:"id"`
	TraceID   string    `json:"trace_id"`
	ParentID  string    `json:"parent_id"`
	Type      string    `json:"type"`
	StartTime float64   `json:"start_time"`
	EndTime   float64   `json:"end_time"`
	Namespace string    `json:"namespace,omitempty"`
	Error     bool      `json:"error,omitempty"`
	Throttle  bool      `json:"throttle,omitempty"`
	Fault     bool      `json:"fault,omitempty"`
	HTTP      *httpData `json:"http,omitempty"`
	AWS       *awsInfo  `json:"aws,omitempty"`
	Cause     *cause    `json:"cause,omitempty"`
}

type httpData struct {
	Request  httpRequest   `json:"request"`
	Response *httpResponse `json:"response,omitempty"`
}

type httpRequest struct {
	Method string `json:"method"`
	URL    string `json:"url"`
}

type httpResponse struct {
	Status        int   `json:"status"`
	ContentLength int64 `json:"content_length,omitempty"`
}

type awsInfo struct {
	Operation string `json:"operation,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

type cause struct {
	Exceptions []exception `json:"exceptions"`
}

type exception struct {
	ID      string `json:"id"`
	Message string `json:"message"`
	Remote  bool   `json:"remote"`
}

func (t *Tracer) subsegment(h Header, name string, start time.Time) *subsegment {
	return &subsegment{
		Name: name, ID: newID(), TraceID: h.Root, ParentID: h.Parent, Type: "subsegment",
		StartTime: epoch(start), EndTime: epoch(time.Now()),
	}
}

// httpInfo describes the request; the URL is sent without its query
// string, which could carry identifiers.
func httpInfo(req *http.Request, resp *http.Response) *httpData {
	u := *req.URL
	u.RawQuery, u.User, u.Fragment = "", nil, ""
	d := &httpData{Request: httpRequest{Method: req.Method, URL: u.String()}}
	if resp != nil {
		d.Response = &httpResponse{Status: resp.StatusCode, ContentLength: max(resp.ContentLength, 0)}
	}
	return d
}

// classify sets X-Ray's error flags: 429 is a throttle, other 4xx an
// error, 5xx and failures without a response a fault.
func (s *subsegment) classify(resp *http.Response, err error) {
	switch {
	case err != nil:
		s.Fault = true
		s.Cause = &cause{Exceptions: []exception{{ID: newID(), Message: err.Error(), Remote: true}}}
	case resp.StatusCode == http.StatusTooManyRequests:
		s.Error, s.Throttle = true, true
	case resp.StatusCode >= 500:
		s.Fault = true
	case resp.StatusCode >= 400:
		s.Error = true
	}
}

// daemonHeader starts every datagram sent to the X-Ray daemon.
const daemonHeader = `{"format":"json","version":1}` + "\n"

// send writes seg to the daemon. Tracing must never fail a request, so
// errors are dropped; a failed write closes the connection for the next
// subsegment to dial again.
func (t *Tracer) send(seg *subsegment) {
	b, err := json.Marshal(seg)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		c, err := net.Dial("udp", t.addr)
		if err != nil {
			return
		}
		t.conn = c
	}
	if _, err := t.conn.Write(append([]byte(daemonHeader), b...)); err != nil {
		t.conn.Close()
		t.conn = nil
	}
}

// Close releases the connection to the daemon.
func (t *Tracer) Close() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.conn == nil {
		return nil
	}
	err := t.conn.Close()
	t.conn = nil
	return err
}

// newID returns a random 64-bit segment id as 16 hex digits.
func newID() string { return fmt.Sprintf("%016x", rand.Uint64()) }

// epoch is t in seconds since the epoch, as X-Ray wants.
func epoch(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }
