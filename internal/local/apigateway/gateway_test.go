package apigateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// fakeFunction is an Invoker that records the events it gets and answers
// with answer, or echoes a 200 proxy response when answer is nil.
type fakeFunction struct {
	mu       sync.Mutex
	payloads [][]byte
	answer   func(ctx context.Context, payload []byte) (emulator.Result, error)
}

func (f *fakeFunction) Invoke(ctx context.Context, payload []byte) (emulator.Result, error) {
	f.mu.Lock()
	f.payloads = append(f.payloads, payload)
	n := len(f.payloads)
	f.mu.Unlock()
	if f.answer != nil {
		return f.answer(ctx, payload)
	}
	body, _ := gateway.Encode(gateway.Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"ok":true}`)})
	return emulator.Result{Payload: body, StatusCode: 200, RequestID: fmt.Sprintf("lambda-%d", n)}, nil
}

func (f *fakeFunction) calls() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.payloads...)
}

// exchanges collects what Observe reports. Observe runs after the client
// has its answer, so tests wait for it.
type exchanges struct {
	mu    sync.Mutex
	list  []Exchange
	added chan struct{}
}

func newExchanges() *exchanges { return &exchanges{added: make(chan struct{}, 1000)} }

func (e *exchanges) add(x Exchange) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, x)
	e.added <- struct{}{}
}

// wait returns the exchanges once there are n of them.
func (e *exchanges) wait(t *testing.T, n int) []Exchange {
	t.Helper()
	bound := time.After(10 * time.Second)
	for {
		if all := e.all(); len(all) >= n {
			return all
		}
		select {
		case <-e.added:
		case <-bound:
			t.Fatalf("Observe called %d times, want %d", len(e.all()), n)
		}
	}
}

func (e *exchanges) all() []Exchange {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Exchange(nil), e.list...)
}

var routes = []string{"POST /taskrouter", "POST /crm"}

func newServer(t *testing.T, pool []Invoker, o Options) (*httptest.Server, *exchanges) {
	t.Helper()
	xs := newExchanges()
	o.Observe = xs.add
	g, err := New(pool, o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv, xs
}

func post(t *testing.T, u, contentType string, body []byte, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// A signed TaskRouter form posted with curl reaches the function as the
// HTTP API event API Gateway would deliver, and the signature made for the
// URL the client used verifies against the URL the function rebuilds.
func TestEventShape(t *testing.T) {
	fn := &fakeFunction{}
	srv, xs := newServer(t, []Invoker{fn}, Options{Routes: routes})
	target := srv.URL + "/taskrouter"
	form := url.Values{"EventType": {"task.canceled"}, "TaskSid": {"WT00000000000000000000000000000001"}}
	sig := taskrouter.Sign("token0123456789", target, form)
	resp, _ := post(t, target, "application/x-www-form-urlencoded", []byte(form.Encode()),
		http.Header{taskrouter.SignatureHeader: {sig}, "Connection": {"keep-alive"}, "X-Multi": {"a", "b"}})
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want the function's 200", resp.StatusCode)
	}
	calls := fn.calls()
	if len(calls) != 1 {
		t.Fatalf("function invoked %d times, want 1", len(calls))
	}
	var raw struct {
		Version         string            `json:"version"`
		RouteKey        string            `json:"routeKey"`
		Headers         map[string]string `json:"headers"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
		RequestContext  struct {
			DomainName string `json:"domainName"`
			RequestID  string `json:"requestId"`
			Stage      string `json:"stage"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(calls[0], &raw); err != nil {
		t.Fatalf("event is not JSON: %v", err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	for name, got := range map[string]any{
		"version": raw.Version, "routeKey": raw.RouteKey, "isBase64Encoded": raw.IsBase64Encoded,
		"domainName": raw.RequestContext.DomainName, "stage": raw.RequestContext.Stage,
		"requestId": raw.RequestContext.RequestID,
	} {
		want := map[string]any{
			"version": "2.0", "routeKey": "POST /taskrouter", "isBase64Encoded": true,
			"domainName": host, "stage": "$default", "requestId": resp.Header.Get(RequestIDHeader),
		}[name]
		if got != want {
			t.Errorf("event %s = %v, want %v", name, got, want)
		}
	}
	for k := range raw.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header name %q is not lower-case", k)
		}
	}
	for k, want := range map[string]string{"x-multi": "a,b", "x-forwarded-for": "127.0.0.1", "host": host, "x-forwarded-proto": "http"} {
		if got := raw.Headers[k]; got != want {
			t.Errorf("event header %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := raw.Headers["connection"]; ok {
		t.Errorf("hop-by-hop header connection reached the function")
	}

	req, err := gateway.Decode(calls[0], gateway.Options{})
	if err != nil {
		t.Fatalf("Decode(event) = %v", err)
	}
	if req.PublicURL != target {
		t.Errorf("function rebuilds URL %q, want %q", req.PublicURL, target)
	}
	if string(req.Body) != form.Encode() {
		t.Errorf("function body %q, want %q", req.Body, form.Encode())
	}
	got, err := taskrouter.ParseForm(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := taskrouter.Verify(req.PublicURL, got, req.Body, req.Header.Get(taskrouter.SignatureHeader), "token0123456789"); err != nil {
		t.Errorf("Verify(signature made for %s) = %v, want nil", target, err)
	}
	x := xs.wait(t, 1)
	if len(x) != 1 || !x[0].Invoked || x[0].Status != 200 || x[0].Err != nil || x[0].Result.RequestID != "lambda-1" {
		t.Errorf("Observe got %+v, want one relayed invocation", x)
	}
}

// The function's proxy response is relayed: status, headers, base64 body.
func TestRelaysResponse(t *testing.T) {
	fn := &fakeFunction{answer: func(context.Context, []byte) (emulator.Result, error) {
		b, _ := gateway.Encode(gateway.Response{Status: 422, Header: map[string]string{"X-Custom": "v"}, Body: []byte{0xff, 0x00}})
		return emulator.Result{Payload: b, StatusCode: 200}, nil
	}}
	srv, _ := newServer(t, []Invoker{fn}, Options{})
	resp, body := post(t, srv.URL+"/anything?x=1", "application/json", []byte(`{}`), nil)
	if resp.StatusCode != 422 || resp.Header.Get("X-Custom") != "v" || !bytes.Equal(body, []byte{0xff, 0x00}) {
		t.Errorf("got %d %v %x, want 422 with X-Custom and the decoded body", resp.StatusCode, resp.Header, body)
	}
	if resp.Header.Get(RequestIDHeader) == "" {
		t.Errorf("answer has no %s header", RequestIDHeader)
	}
}

// The gateway answers failures itself, as API Gateway does.
func TestErrorMapping(t *testing.T) {
	result := func(r emulator.Result, err error) func(context.Context, []byte) (emulator.Result, error) {
		return func(context.Context, []byte) (emulator.Result, error) { return r, err }
	}
	blocked := func(ctx context.Context, _ []byte) (emulator.Result, error) {
		<-ctx.Done()
		return emulator.Result{}, ctx.Err()
	}
	tests := []struct {
		name       string
		answer     func(context.Context, []byte) (emulator.Result, error)
		path       string
		method     string
		body       []byte
		chunked    bool // send the body without a Content-Length
		opts       Options
		wantStatus int
		wantMsg    string
		wantErr    error
		wantCalls  int
	}{
		{name: "function error", answer: result(emulator.Result{FunctionError: emulator.Unhandled, ErrorType: "errorString", ErrorMessage: "boom", StatusCode: 200}, nil),
			wantStatus: 502, wantMsg: "Internal Server Error", wantErr: ErrFunction, wantCalls: 1},
		{name: "function crash", answer: result(emulator.Result{FunctionError: emulator.Unhandled, ErrorType: "Runtime.ExitError", StatusCode: 502}, nil),
			wantStatus: 502, wantMsg: "Internal Server Error", wantErr: ErrFunction, wantCalls: 1},
		{name: "function timeout", answer: result(emulator.Result{FunctionError: emulator.Unhandled, ErrorType: emulator.ErrorTypeTimeout, ErrorMessage: "Task timed out after 12.00 seconds"}, nil),
			wantStatus: 504, wantMsg: "Endpoint request timed out", wantErr: ErrTimeout, wantCalls: 1},
		{name: "emulator gone", answer: result(emulator.Result{}, emulator.ErrExited),
			wantStatus: 502, wantMsg: "Internal Server Error", wantErr: ErrUnavailable, wantCalls: 1},
		{name: "not a proxy response", answer: result(emulator.Result{Payload: []byte(`"hello"`), StatusCode: 200}, nil),
			wantStatus: 502, wantMsg: "Internal Server Error", wantErr: ErrFunction, wantCalls: 1},
		{name: "integration timeout", answer: blocked, opts: Options{Timeout: time.Millisecond},
			wantStatus: 504, wantMsg: "Endpoint request timed out", wantErr: ErrTimeout, wantCalls: 1},
		{name: "unknown path", path: "/nope", wantStatus: 404, wantMsg: "Not Found", wantErr: ErrNoRoute},
		{name: "wrong method", method: http.MethodGet, wantStatus: 404, wantMsg: "Not Found", wantErr: ErrNoRoute},
		{name: "body over the limit", body: bytes.Repeat([]byte("a"), 11), opts: Options{MaxBody: 10},
			wantStatus: 413, wantMsg: "Request Entity Too Large", wantErr: ErrBodyTooLarge},
		{name: "chunked body over the limit", body: bytes.Repeat([]byte("a"), 11), chunked: true, opts: Options{MaxBody: 10},
			wantStatus: 413, wantMsg: "Request Entity Too Large", wantErr: ErrBodyTooLarge},
		{name: "body at the limit", body: bytes.Repeat([]byte("a"), 10), opts: Options{MaxBody: 10}, wantStatus: 200, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := &fakeFunction{answer: tt.answer}
			tt.opts.Routes = routes
			srv, xs := newServer(t, []Invoker{fn}, tt.opts)
			path, method := "/crm", http.MethodPost
			if tt.path != "" {
				path = tt.path
			}
			if tt.method != "" {
				method = tt.method
			}
			body := tt.body
			if body == nil {
				body = []byte(`{"a":1}`)
			}
			var r io.Reader = bytes.NewReader(body)
			if tt.chunked {
				r = io.MultiReader(r)
			}
			req, _ := http.NewRequest(method, srv.URL+path, r)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("%s %s = %d %s, want %d", method, path, resp.StatusCode, got, tt.wantStatus)
			}
			if tt.wantMsg != "" {
				var m struct{ Message string }
				if json.Unmarshal(got, &m) != nil || m.Message != tt.wantMsg || resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("body %s (%s), want JSON message %q", got, resp.Header.Get("Content-Type"), tt.wantMsg)
				}
			}
			if n := len(fn.calls()); n != tt.wantCalls {
				t.Errorf("function invoked %d times, want %d", n, tt.wantCalls)
			}
			x := xs.wait(t, 1)
			if len(x) != 1 {
				t.Fatalf("Observe called %d times, want 1", len(x))
			}
			if x[0].Status != tt.wantStatus || !errors.Is(x[0].Err, tt.wantErr) || (tt.wantErr == nil) != (x[0].Err == nil) {
				t.Errorf("exchange status %d err %v, want %d %v", x[0].Status, x[0].Err, tt.wantStatus, tt.wantErr)
			}
		})
	}
}

// gatedFunction blocks every invocation until the test releases it, and
// counts how many run at once on each instance and in total.
type gatedFunction struct {
	started chan *gatedFunction
	release chan struct{}
	busy    atomic.Int32
	total   *atomic.Int32
	maxSeen *atomic.Int32
	overlap atomic.Bool
}

func (f *gatedFunction) Invoke(ctx context.Context, payload []byte) (emulator.Result, error) {
	if f.busy.Add(1) > 1 {
		f.overlap.Store(true)
	}
	n := f.total.Add(1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	f.started <- f
	<-f.release
	f.total.Add(-1)
	f.busy.Add(-1)
	body, _ := gateway.Encode(gateway.Response{Status: 204})
	return emulator.Result{Payload: body, StatusCode: 200}, nil
}

// Concurrent clients are spread over the pool, never more than one
// invocation per emulator, and all of them are answered.
func TestSerializesOnPool(t *testing.T) {
	const clients = 12
	var total, maxSeen atomic.Int32
	started := make(chan *gatedFunction, clients)
	pool := []*gatedFunction{}
	var invokers []Invoker
	for i := 0; i < 2; i++ {
		f := &gatedFunction{started: started, release: make(chan struct{}), total: &total, maxSeen: &maxSeen}
		pool = append(pool, f)
		invokers = append(invokers, f)
	}
	srv, _ := newServer(t, invokers, Options{Routes: routes})
	statuses := make(chan int, clients)
	for i := 0; i < clients; i++ {
		go func() {
			resp, err := http.Post(srv.URL+"/taskrouter", "application/x-www-form-urlencoded", strings.NewReader("a=1"))
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	// Let one invocation finish each time one starts: a gateway that did
	// not queue would have started more than the pool holds.
	for i := 0; i < clients; i++ {
		f := <-started
		f.release <- struct{}{}
	}
	for i := 0; i < clients; i++ {
		if s := <-statuses; s != 204 {
			t.Errorf("client got %d, want 204", s)
		}
	}
	if m := maxSeen.Load(); m > 2 {
		t.Errorf("%d invocations ran at once on a pool of 2", m)
	}
	for i, f := range pool {
		if f.overlap.Load() {
			t.Errorf("emulator %d got concurrent invocations", i)
		}
	}
}

// A request that waits for a busy emulator past the integration timeout is
// answered 504 without being invoked.
func TestQueueTimeout(t *testing.T) {
	var total, maxSeen atomic.Int32
	f := &gatedFunction{started: make(chan *gatedFunction, 2), release: make(chan struct{}), total: &total, maxSeen: &maxSeen}
	xs := newExchanges()
	g, err := New([]Invoker{f}, Options{Routes: routes, Timeout: time.Millisecond, Observe: xs.add})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/crm", strings.NewReader("{}")))
		first <- rec.Code
	}()
	<-f.started // the only emulator is now busy
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/crm", strings.NewReader("{}")))
	if rec.Code != http.StatusGatewayTimeout {
		t.Errorf("queued request answered %d, want 504", rec.Code)
	}
	close(f.release)
	<-first
	var queued []Exchange
	for _, x := range xs.all() {
		if !x.Invoked {
			queued = append(queued, x)
		}
	}
	if len(queued) != 1 || !errors.Is(queued[0].Err, ErrTimeout) {
		t.Errorf("exchanges %+v, want one uninvoked timeout", xs.all())
	}
}

// The Invoke API path passes the event unchanged and answers like Lambda.
func TestInvokeAPI(t *testing.T) {
	event := []byte(`{"version":"2.0","rawPath":"/taskrouter","body":"signed"}`)
	tests := []struct {
		name       string
		invokeAPI  bool
		path       string
		body       []byte
		result     emulator.Result
		wantStatus int
		wantFnErr  string
		wantCalls  int
	}{
		{name: "success", invokeAPI: true, path: emulator.InvokePath, body: event,
			result: emulator.Result{Payload: []byte(`{"statusCode":204}`), RequestID: "r1"}, wantStatus: 200, wantCalls: 1},
		{name: "any function name", invokeAPI: true, path: "/2015-03-31/functions/WebhookFunction/invocations", body: event,
			result: emulator.Result{Payload: []byte(`{"statusCode":204}`), RequestID: "r1"}, wantStatus: 200, wantCalls: 1},
		{name: "function error", invokeAPI: true, path: emulator.InvokePath, body: event,
			result:     emulator.Result{Payload: []byte(`{"errorType":"errorString","errorMessage":"boom"}`), FunctionError: emulator.Unhandled, ErrorType: "errorString"},
			wantStatus: 200, wantFnErr: emulator.Unhandled, wantCalls: 1},
		{name: "not JSON", invokeAPI: true, path: emulator.InvokePath, body: []byte("nope"), wantStatus: 400},
		{name: "disabled", path: emulator.InvokePath, body: event, wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := &fakeFunction{answer: func(context.Context, []byte) (emulator.Result, error) { return tt.result, nil }}
			srv, _ := newServer(t, []Invoker{fn}, Options{Routes: routes, InvokeAPI: tt.invokeAPI})
			resp, body := post(t, srv.URL+tt.path, "application/json", tt.body, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("POST %s = %d %s, want %d", tt.path, resp.StatusCode, body, tt.wantStatus)
			}
			if got := resp.Header.Get("X-Amz-Function-Error"); got != tt.wantFnErr {
				t.Errorf("X-Amz-Function-Error = %q, want %q", got, tt.wantFnErr)
			}
			calls := fn.calls()
			if len(calls) != tt.wantCalls {
				t.Fatalf("function invoked %d times, want %d", len(calls), tt.wantCalls)
			}
			if tt.wantCalls == 1 {
				if !bytes.Equal(calls[0], tt.body) {
					t.Errorf("function got %s, want the event unchanged %s", calls[0], tt.body)
				}
				if !bytes.Equal(body, tt.result.Payload) {
					t.Errorf("answer %s, want the function's payload %s", body, tt.result.Payload)
				}
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	fn := &fakeFunction{}
	tests := []struct {
		name   string
		pool   []Invoker
		routes []string
	}{
		{"empty pool", nil, nil},
		{"nil invoker", []Invoker{nil}, nil},
		{"route without method", []Invoker{fn}, []string{"/taskrouter"}},
		{"route without slash", []Invoker{fn}, []string{"POST taskrouter"}},
		{"lower-case method", []Invoker{fn}, []string{"post /taskrouter"}},
	}
	for _, tt := range tests {
		if _, err := New(tt.pool, Options{Routes: tt.routes}); err == nil {
			t.Errorf("New(%s) = nil error, want one", tt.name)
		}
	}
}

func TestIsInvokePath(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{emulator.InvokePath, true},
		{"/2015-03-31/functions/my-fn/invocations", true},
		{"/2015-03-31/functions//invocations", false},
		{"/2015-03-31/functions/a/b/invocations", false},
		{"/2015-03-31/functions/function", false},
		{"/taskrouter", false},
	}
	for _, tt := range tests {
		if got := isInvokePath(tt.path); got != tt.want {
			t.Errorf("isInvokePath(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

// The client has its answer while Observe still runs.
func TestObserveAfterAnswer(t *testing.T) {
	release := make(chan struct{})
	observed := make(chan Exchange, 1)
	g, err := New([]Invoker{&fakeFunction{}}, Options{Observe: func(x Exchange) {
		<-release
		observed <- x
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	defer srv.Close()
	defer close(release)
	client := &http.Client{Timeout: 10 * time.Second} // bounds the test should the answer wait for Observe
	resp, err := client.Post(srv.URL+"/crm", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("answer held back until Observe returns: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || string(body) != `{"ok":true}` {
		t.Errorf("got %d %s (%v), want the function's 200", resp.StatusCode, body, err)
	}
}
