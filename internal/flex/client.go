package flex

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhook/flexhook/internal/retry"
	"github.com/flexhook/flexhook/internal/secrets"
)

// Credentials authenticate Twilio REST calls: an account SID with its auth
// token, or an API key SID with its secret (with the account SID alongside).
type Credentials struct {
	AccountSID string
	Username   string
	Password   secrets.Value
}

// CredentialSource supplies credentials. Refresh is called once per call
// after Twilio answers 401, to pick up a rotated secret; changed reports
// whether the credentials are now different (worth one more try).
type CredentialSource interface {
	Credentials(ctx context.Context) (Credentials, error)
	Refresh(ctx context.Context) (changed bool, err error)
}

// Options tune a Client. Zero values take the defaults shown.
type Options struct {
	// BaseURL, when set (scheme://host[:port]), receives every request
	// instead of Twilio, with the same path. For local runs and tests.
	BaseURL string
	// Transport sends the requests (default NewTransport()). Share one per
	// container so connections are reused.
	Transport http.RoundTripper
	// MaxAttempts bounds the HTTP attempts of one call (default 6).
	MaxAttempts int
	// BaseDelay is the first backoff (default 200ms); each retry doubles it,
	// up to MaxDelay (default 4s), with full jitter. A Retry-After from
	// Twilio is a lower bound.
	BaseDelay, MaxDelay time.Duration
	// Now and Sleep are the clock; tests inject them. Sleep must return
	// early with ctx.Err() when ctx is done.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a duration in [0, d] (default uniform random).
	Jitter func(d time.Duration) time.Duration
}

// Client makes flexhook's Twilio calls. It is safe for concurrent use.
type Client struct {
	creds   CredentialSource
	base    http.RoundTripper
	rewrite *url.URL
	o       Options
}

// New returns a Client. It fails only on an invalid Options.BaseURL.
func New(creds CredentialSource, o Options) (*Client, error) {
	c := &Client{creds: creds, base: o.Transport, o: o}
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("flex: invalid base URL %q", o.BaseURL)
		}
		c.rewrite = u
	}
	if c.base == nil {
		c.base = NewTransport()
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.o.BaseDelay, 200*time.Millisecond)
	def(&c.o.MaxDelay, 4*time.Second)
	if c.o.MaxAttempts <= 0 {
		c.o.MaxAttempts = 6
	}
	if c.o.Now == nil {
		c.o.Now = time.Now
	}
	if c.o.Sleep == nil {
		c.o.Sleep = retry.Sleep
	}
	if c.o.Jitter == nil {
		c.o.Jitter = retry.FullJitter
	}
	return c, nil
}

// services are twilio-go API services bound to one attempt.
type services struct {
	flex       *flexv1.ApiService
	taskrouter *taskrouterv1.ApiService
}

// bind builds twilio-go services whose requests run under ctx and report to
// cl. twilio-go has no per-call context, so each attempt gets its own light
// client around the shared transport.
func (c *Client) bind(ctx context.Context, cl *call, cr Credentials) services {
	tc := &twclient.Client{
		Credentials: twclient.NewCredentials(cr.Username, cr.Password.Reveal()),
		HTTPClient: &http.Client{
			Transport:     &transport{base: c.base, rewrite: c.rewrite, call: cl, now: c.o.Now},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	tc.SetAccountSid(cr.AccountSID)
	cl.ctx = ctx
	// A RequestHandler built by hand ignores TWILIO_EDGE and TWILIO_REGION:
	// the hosts are exactly the allowlisted ones.
	rh := &twclient.RequestHandler{Client: tc}
	return services{flex: flexv1.NewApiService(rh), taskrouter: taskrouterv1.NewApiService(rh)}
}

// do runs fn with retries. It returns the number of HTTP attempts made and,
// on failure, an *Error (or the credential source's own error).
func (c *Client) do(ctx context.Context, op string, fn func(services) error) (int, error) {
	deadline, hasDeadline := ctx.Deadline()
	refreshed := false
	for attempt := 1; ; attempt++ {
		cr, err := c.creds.Credentials(ctx)
		if err != nil {
			return attempt - 1, fmt.Errorf("%s: %w", op, err)
		}
		actx, cancel, ok := c.attemptContext(ctx, deadline, hasDeadline)
		if !ok {
			cancel()
			return attempt - 1, &Error{Op: op, Attempts: attempt - 1, retryable: true,
				Err: fmt.Errorf("no time left before the deadline: %w", context.DeadlineExceeded)}
		}
		var cl call
		err = fn(c.bind(actx, &cl, cr))
		cancel()
		if err == nil {
			return attempt, nil
		}
		e := classify(op, err, &cl, cr)
		e.Attempts = attempt
		if e.Status == http.StatusUnauthorized && !refreshed {
			refreshed = true
			if changed, rerr := c.creds.Refresh(ctx); rerr == nil && changed {
				continue
			}
		}
		if !e.retryable || attempt >= c.o.MaxAttempts || ctx.Err() != nil {
			return attempt, e
		}
		delay := retry.Backoff{Base: c.o.BaseDelay, Max: c.o.MaxDelay, Jitter: c.o.Jitter}.Delay(attempt, e.RetryAfter)
		if hasDeadline && c.o.Now().Add(delay+safetyMargin).After(deadline) {
			return attempt, e
		}
		if err := c.o.Sleep(ctx, delay); err != nil {
			return attempt, e
		}
	}
}

const (
	// attemptTimeout bounds one HTTP attempt, so one hung connection
	// cannot eat the whole budget.
	attemptTimeout = 4 * time.Second
	// safetyMargin is kept free before the context's deadline to answer
	// the webhook: no attempt or backoff runs into it.
	safetyMargin = 500 * time.Millisecond
	// minAttempt is the least time worth starting an HTTP attempt with.
	minAttempt = 50 * time.Millisecond
)

// attemptContext bounds one attempt by attemptTimeout and by the deadline
// minus the safety margin. ok is false when too little time is left.
func (c *Client) attemptContext(ctx context.Context, deadline time.Time, hasDeadline bool) (context.Context, context.CancelFunc, bool) {
	d := attemptTimeout
	if hasDeadline {
		left := deadline.Sub(c.o.Now()) - safetyMargin
		if left < minAttempt {
			return ctx, func() {}, false
		}
		d = min(d, left)
	}
	actx, cancel := context.WithTimeout(ctx, d)
	return actx, cancel, true
}

// classify turns what twilio-go returned, and what the transport saw, into
// an *Error with its retry class. This is the one place that decides what
// is worth retrying.
func classify(op string, err error, cl *call, cr Credentials) *Error {
	e := &Error{Op: op, Status: cl.status, RetryAfter: cl.retryAfter, Err: err}
	var te *twclient.TwilioRestError
	isTwilio := errors.As(err, &te)
	if isTwilio {
		e.Code = te.Code
		pass := cr.Password.Reveal()
		// The credentials travel as an Authorization: Basic header, so a
		// message that echoes the request carries them base64-encoded.
		basic := base64.StdEncoding.EncodeToString([]byte(cr.Username + ":" + pass))
		e.Message = scrub(te.Message, basic, pass)
		// Detach twilio-go's error, whose text repeats the message.
		e.Err = errors.New(e.Message)
	}
	switch {
	case errors.Is(err, errForbiddenRequest):
		e.retryable = false
	case e.Status == 0:
		// No response: network failure or timeout — unless twilio-go
		// refused the request locally (e.g. credentials with illegal
		// characters), which repeats identically.
		e.retryable = !isTwilio
	case e.Status == http.StatusTooManyRequests || e.Status >= 500 ||
		e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooEarly:
		// 408 and 425 say "not now", like a 5xx: the same request may pass.
		e.retryable = true
	case e.Status >= 400 && !isTwilio:
		// Not Twilio's error JSON: a proxy or load balancer answered.
		e.retryable = e.Status != http.StatusUnauthorized && e.Status != http.StatusNotFound
	default:
		// Other 4xx with Twilio's error JSON, a redirect, or a 2xx whose
		// body did not decode: the same request would get the same answer.
		e.retryable = false
	}
	return e
}
