package flextest_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// Credentials used by the tests. twilio-go only sends alphanumeric ones.
var (
	testAccount = "AC" + strings.Repeat("0a", 16)
	testToken   = "authtoken0123456789"
	testKey     = "SK" + strings.Repeat("1b", 16)
	testSecret  = "keysecret0123456789"
	testWS      = "WS" + strings.Repeat("2c", 16)
)

// maxRequests bounds the requests one fixture sends.
const maxRequests = 1000

// testEpoch is the fake clock's starting time.
var testEpoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testEpoch} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a fake served over loopback HTTP with twilio-go services
// pointed at it.
type fixture struct {
	fake  *flextest.Server
	srv   *httptest.Server
	clock *clock
	flex  *flexv1.ApiService
	tr    *taskrouterv1.ApiService
	// seen records the status and headers of every answer twilio-go got.
	seen *recorder
}

// newFixture starts a fake with the test credentials; opts may adjust the
// options before New.
func newFixture(t testing.TB, opts ...func(*flextest.Options)) *fixture {
	t.Helper()
	clk := newClock()
	o := flextest.Options{
		AccountSID:  testAccount,
		Credentials: map[string]string{testAccount: testToken, testKey: testSecret},
		Now:         clk.Now,
	}
	for _, f := range opts {
		f(&o)
	}
	fake := flextest.New(o)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	tr, err := flextest.NewTransport(srv.URL, srv.Client().Transport)
	if err != nil {
		t.Fatalf("NewTransport(%q) error: %v", srv.URL, err)
	}
	f := &fixture{fake: fake, srv: srv, clock: clk, seen: &recorder{next: tr}}
	f.flex, f.tr = f.services(t, testAccount, testToken)
	return f
}

// services returns twilio-go services that reach the fake with the given
// credentials.
func (f *fixture) services(t testing.TB, user, pass string) (*flexv1.ApiService, *taskrouterv1.ApiService) {
	t.Helper()
	c := f.client(t, user, pass)
	h := &client.RequestHandler{Client: c}
	return flexv1.NewApiService(h), taskrouterv1.NewApiService(h)
}

func (f *fixture) client(t testing.TB, user, pass string) *client.Client {
	t.Helper()
	c := &client.Client{
		Credentials: client.NewCredentials(user, pass),
		HTTPClient: &http.Client{
			Transport:     f.seen,
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(testAccount)
	return c
}

// recorder is a RoundTripper that keeps the status and headers of the last
// answer, which twilio-go does not expose on errors. It fails requests
// beyond maxRequests, so that a paging bug cannot make twilio-go loop forever.
type recorder struct {
	next http.RoundTripper

	mu     sync.Mutex
	status int
	header http.Header
	urls   []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.urls = append(r.urls, req.URL.String())
	n := len(r.urls)
	r.mu.Unlock()
	if n > maxRequests {
		return nil, fmt.Errorf("more than %d requests in one test: is paging looping?", maxRequests)
	}
	resp, err := r.next.RoundTrip(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.status, r.header = resp.StatusCode, resp.Header.Clone()
	}
	return resp, err
}

func (r *recorder) last() (int, http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.header
}

func (r *recorder) requestedURLs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.urls...)
}

// restError returns err as a *client.TwilioRestError, failing the test if
// it is not one.
func restError(t testing.TB, err error) *client.TwilioRestError {
	t.Helper()
	var te *client.TwilioRestError
	if !errors.As(err, &te) {
		t.Fatalf("error = %v (%T), want *client.TwilioRestError", err, err)
	}
	return te
}

// closeParams returns update parameters with status and, if routing, the
// Routing {"status":"closed"}.
func closeParams(status string, routing bool) *flexv1.UpdateInteractionChannelParams {
	p := (&flexv1.UpdateInteractionChannelParams{}).SetStatus(status)
	if routing {
		p.SetRouting(map[string]any{"status": "closed"})
	}
	return p
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
