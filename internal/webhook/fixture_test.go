package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/secrets"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// Test credentials. Their values are searched for in the logs.
const (
	acct       = "AC0123456789abcdef0123456789abcdef"
	authToken  = "tokenPRIMARY0123456789"
	authToken2 = "tokenSECONDARY987654321"
	crmSecret  = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	crmToken   = "crmBEARERtoken0123456789"
	ws         = "WS0123456789abcdef0123456789abcdef"
	publicHost = "abc123.execute-api.us-east-1.amazonaws.com"
)

// fakeSecrets is the credential cache, with a rotation Refresh can find.
type fakeSecrets struct {
	mu        sync.Mutex
	cur, next *secrets.Twilio
	err       error
	refreshes int
}

func (f *fakeSecrets) Get(context.Context) (*secrets.Twilio, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return f.cur, nil
}

func (f *fakeSecrets) Refresh(context.Context) (*secrets.Twilio, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	if f.next == nil {
		return f.cur, false, nil
	}
	f.cur, f.next = f.next, nil
	return f.cur, true, nil
}

func (f *fakeSecrets) Credentials(ctx context.Context) (flex.Credentials, error) {
	t, err := f.Get(ctx)
	if err != nil {
		return flex.Credentials{}, err
	}
	u, p := t.RESTCredentials()
	return flex.Credentials{AccountSID: t.AccountSID, Username: u, Password: p}, nil
}

func secretWith(tokens ...string) *secrets.Twilio {
	t := &secrets.Twilio{AccountSID: acct,
		CRMWebhookSecrets: []secrets.Value{secrets.NewValue(crmSecret)},
		CRMAPITokens:      []secrets.Value{secrets.NewValue(crmToken)},
		CRMSources:        testSourceSecrets(),
	}
	for _, tok := range tokens {
		t.AuthTokens = append(t.AuthTokens, secrets.NewValue(tok))
	}
	return t
}

// secretsAdapter lets the Twilio client read credentials from fakeSecrets.
type secretsAdapter struct{ f *fakeSecrets }

func (a secretsAdapter) Credentials(ctx context.Context) (flex.Credentials, error) {
	return a.f.Credentials(ctx)
}
func (a secretsAdapter) Refresh(ctx context.Context) (bool, error) {
	_, changed, err := a.f.Refresh(ctx)
	return changed, err
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return ctx.Err()
}

type fixture struct {
	t       *testing.T
	fake    *flextest.Server
	secrets *fakeSecrets
	clock   *clock
	handler *Handler
	logs    *syncBuffer
	metrics *syncBuffer
	cfg     config.Webhook
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFixture(t *testing.T, env map[string]string) *fixture {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	env[config.EnvSecretID] = "flexhook/test"
	cfg, err := config.LoadWebhook(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, cfg: cfg, logs: &syncBuffer{}, metrics: &syncBuffer{},
		secrets: &fakeSecrets{cur: secretWith(authToken)},
		clock:   &clock{t: time.Now()},
	}
	f.fake = flextest.New(flextest.Options{AccountSID: acct, Credentials: map[string]string{acct: authToken}})
	f.fake.AddWorkspace(ws)
	srv := httptest.NewServer(f.fake)
	t.Cleanup(srv.Close)
	api, err := flex.New(secretsAdapter{f.secrets}, flex.Options{
		BaseURL: srv.URL, Now: f.clock.Now, Sleep: f.clock.Sleep, BaseDelay: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.handler = newHandler(cfg, f.secrets, api, logging.New(f.logs, cfg.LogLevel), Options{
		Now: f.clock.Now, Metrics: metrics.New(f.metrics, "webhook", f.clock.Now),
	}, nil)
	return f
}

// newHandler builds a Handler as functions/webhook does, its close path
// (dependencies.Container.Close) built here over api, with store (nil:
// none) and the handler's clock.
func newHandler(cfg config.Webhook, sec secretSource, api twilioAPI, log *slog.Logger, o Options, store *idempotencytest.Memory) *Handler {
	closer := channelclose.New(api, channelclose.Options{DryRun: cfg.DryRun})
	p := closejob.NewProcessor(closer, nil, o.Now)
	if store != nil { // never a typed nil in the interface
		p = closejob.NewProcessor(closer, store, o.Now)
	}
	return New(cfg, p, sec, api, log, o)
}

// channel adds an active channel with one task in status.
func (f *fixture) channel(taskStatus string) (flextest.Channel, flextest.Task) {
	ch := f.fake.AddChannel(flextest.Channel{})
	return ch, f.fake.AddChannelTask(ws, ch, taskStatus)
}

func (f *fixture) status(ch flextest.Channel) string {
	got, _ := f.fake.Channel(ch.InteractionSID, ch.SID)
	return got.Status
}

// taskEvent is the form TaskRouter posts for eventType on task.
func (f *fixture) taskEvent(eventType string, task flextest.Task) url.Values {
	return url.Values{
		"EventType": {eventType}, "AccountSid": {acct}, "WorkspaceSid": {ws}, "WorkspaceName": {"Flex"},
		"EventDescription": {"Task " + task.SID + " " + eventType}, "ResourceType": {"Task"},
		"ResourceSid": {task.SID}, "TaskSid": {task.SID}, "TaskAttributes": {task.Attributes},
		"TaskAssignmentStatus": {task.AssignmentStatus}, "TaskAge": {"42"}, "TaskPriority": {"0"},
		"Timestamp": {strconvUnix(f.clock.Now())}, "TimestampMs": {strconvUnixMilli(f.clock.Now())},
	}
}

// signedTaskRouter builds an HTTP API event of a TaskRouter POST signed
// with token over the execute-api URL.
func (f *fixture) signedTaskRouter(form url.Values, token string) []byte {
	u := "https://" + publicHost + "/taskrouter"
	h := http.Header{
		"Content-Type":               {"application/x-www-form-urlencoded; charset=utf-8"},
		taskrouter.SignatureHeader:   {taskrouter.Sign(token, u, form)},
		"I-Twilio-Idempotency-Token": {idemToken(form)},
	}
	return f.event("POST", u, h, []byte(form.Encode()))
}

// signedCRM builds an HTTP API event of a CRM POST signed with the
// Standard Webhooks secret.
func (f *fixture) signedCRM(body string) []byte {
	h, err := crm.Sign(crmSecret, "msg_test", f.clock.Now(), []byte(body))
	if err != nil {
		f.t.Fatal(err)
	}
	h.Set("Content-Type", "application/json")
	return f.event("POST", "https://"+publicHost+"/crm", h, []byte(body))
}

func (f *fixture) event(method, u string, h http.Header, body []byte) []byte {
	ev, err := gatewaytest.NewHTTPEvent(method, u, h, body, gatewaytest.EventOptions{Time: f.clock.Now(), RequestID: "req-test"})
	if err != nil {
		f.t.Fatal(err)
	}
	return ev
}

// invoke runs the handler and decodes its answer.
func (f *fixture) invoke(payload []byte) gateway.Response {
	f.t.Helper()
	return f.invokeCtx(context.Background(), payload)
}

func (f *fixture) invokeCtx(ctx context.Context, payload []byte) gateway.Response {
	f.t.Helper()
	out, err := f.handler.Invoke(ctx, payload)
	if err != nil {
		f.t.Fatalf("Invoke returned an error: %v", err)
	}
	r, err := gatewaytest.ParseResponse(out)
	if err != nil {
		f.t.Fatalf("Invoke returned %s: %v", out, err)
	}
	return r
}

// lastLog is the last summary line, decoded.
func (f *fixture) lastLog() map[string]any {
	f.t.Helper()
	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var m map[string]any
		if json.Unmarshal([]byte(lines[i]), &m) == nil && m["message"] == "request" {
			return m
		}
	}
	f.t.Fatalf("no summary log line in %q", f.logs.String())
	return nil
}

func (f *fixture) flexPosts() int { return f.fake.Count(http.MethodPost, "/v1/Interactions") }

// idemToken is the I-Twilio-Idempotency-Token the fixture sends with a
// TaskRouter form: one per event.
func idemToken(form url.Values) string {
	return "tok-" + form.Get("EventType") + "-" + form.Get("TaskSid")
}
