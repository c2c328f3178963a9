package flex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/sid"
)

// Twilio's API hosts flexhook talks to.
const (
	flexHost       = "flex-api.twilio.com"
	taskrouterHost = "taskrouter.twilio.com"
)

// maxResponseBody caps how much of a Twilio response is read. Our responses
// are a few kilobytes; a page of 20 tasks with large attributes stays far
// below this.
const maxResponseBody = 4 << 20

// errForbiddenRequest is returned for any request outside the allowlist.
var errForbiddenRequest = errors.New("request outside flexhook's Twilio allowlist")

// NewTransport returns the http.RoundTripper shared by every call of a
// container: keep-alive connections (one per host is enough, as a Lambda
// container serves one request at a time) and bounded dial and TLS times.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          8,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   3 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// call is one logical call (with its retries): it carries the context
// twilio-go cannot pass, and records what the last response looked like,
// which twilio-go does not expose on errors.
type call struct {
	ctx        context.Context
	status     int           // HTTP status of the last response
	retryAfter time.Duration // its Retry-After, if any
}

// transport binds requests to the call's context, enforces the allowlist,
// optionally redirects them to TWILIO_API_BASE_URL, and buffers response
// bodies so connections are reused even on twilio-go's error path (which
// never closes the body).
type transport struct {
	base    http.RoundTripper
	rewrite *url.URL // nil in production
	call    *call
	now     func() time.Time
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := allowed(req); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.WithContext(t.call.ctx)
	if t.rewrite != nil {
		u := *r.URL
		u.Scheme, u.Host = t.rewrite.Scheme, t.rewrite.Host
		r.URL, r.Host = &u, ""
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	// The status is recorded only once the whole answer is read: a
	// connection lost mid-body is a network failure (retryable), whatever
	// status line came before it.
	t.call.status, t.call.retryAfter = 0, 0
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if len(body) > maxResponseBody {
		return nil, fmt.Errorf("response body over %d bytes", maxResponseBody)
	}
	t.call.status = resp.StatusCode
	t.call.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), t.now())
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// allowed accepts only the calls flexhook makes, on Twilio's hosts:
//
//	GET|POST flex-api.twilio.com/v1/Interactions/KD…/Channels/UO…
//	GET      taskrouter.twilio.com/v1/Workspaces/WS…/Tasks[/WT…]
//	GET      taskrouter.twilio.com/v1/Workspaces/WS…/Events
//
// It is defence in depth: SIDs are validated before calls are built.
func allowed(req *http.Request) error {
	u := req.URL
	if u.Scheme != "https" || u.User != nil || u.Port() != "" {
		return fmt.Errorf("%w: %s %s://%s", errForbiddenRequest, req.Method, u.Scheme, u.Host)
	}
	seg := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/"), "/")
	ok := false
	switch u.Host {
	case flexHost:
		ok = (req.Method == http.MethodGet || req.Method == http.MethodPost) && len(seg) == 5 &&
			seg[0] == "v1" && seg[1] == "Interactions" && sid.Valid(sid.Interaction, seg[2]) &&
			seg[3] == "Channels" && sid.Valid(sid.Channel, seg[4])
	case taskrouterHost:
		ok = req.Method == http.MethodGet && (len(seg) == 4 || len(seg) == 5) &&
			seg[0] == "v1" && seg[1] == "Workspaces" && sid.Valid(sid.Workspace, seg[2]) &&
			((seg[3] == "Tasks" && (len(seg) == 4 || sid.Valid(sid.Task, seg[4]))) ||
				(seg[3] == "Events" && len(seg) == 4))
	}
	if !ok {
		return fmt.Errorf("%w: %s %s%s", errForbiddenRequest, req.Method, u.Host, u.EscapedPath())
	}
	return nil
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date.
// It returns 0 when the header is absent or unusable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, time.Hour)
		}
	}
	return 0
}
