package flex_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/secrets"
)

const (
	acct  = "AC0123456789abcdef0123456789abcdef"
	token = "authtoken1"
	ws    = "WS0123456789abcdef0123456789abcdef"
)

// creds is a CredentialSource whose Refresh switches to next, as a
// rotated secret would.
type creds struct {
	mu        sync.Mutex
	cur, next *flex.Credentials
	refreshes int
}

func (c *creds) Credentials(context.Context) (flex.Credentials, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.cur, nil
}

func (c *creds) Refresh(context.Context) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refreshes++
	if c.next == nil {
		return false, nil
	}
	c.cur, c.next = c.next, nil
	return true, nil
}

// fakeClock drives retries without real waiting: Sleep advances Now.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return nil
}

type fixture struct {
	fake   *flextest.Server
	client *flex.Client
	creds  *creds
	clock  *fakeClock
	conns  *atomic.Int32
	srv    *httptest.Server
}

func newFixture(t *testing.T, o flextest.Options, fo flex.Options) *fixture {
	t.Helper()
	o.AccountSID = acct
	if o.Credentials == nil {
		o.Credentials = map[string]string{acct: token}
	}
	f := &fixture{fake: flextest.New(o), conns: new(atomic.Int32)}
	f.srv = httptest.NewUnstartedServer(f.fake)
	f.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	f.creds = &creds{cur: &flex.Credentials{AccountSID: acct, Username: acct, Password: secrets.NewValue(token)}}
	f.clock = &fakeClock{t: time.Now()}
	fo.BaseURL = f.srv.URL
	if fo.Now == nil {
		fo.Now, fo.Sleep = f.clock.Now, f.clock.Sleep
	}
	fo.Jitter = func(d time.Duration) time.Duration { return d }
	c, err := flex.New(f.creds, fo)
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	return f
}

func (f *fixture) channel(status string) flex.ChannelRef {
	ch := f.fake.AddChannel(flextest.Channel{Status: status})
	return flex.ChannelRef{InteractionSID: ch.InteractionSID, ChannelSID: ch.SID}
}

func (f *fixture) posts() []flextest.Request {
	var out []flextest.Request
	for _, r := range f.fake.Requests() {
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

func TestCloseChannelWireFormat(t *testing.T) {
	tests := []struct {
		name        string
		status      string
		routing     bool
		wantRouting string
	}{
		{"closed completes tasks", "closed", true, `{"status":"closed"}`},
		{"closed to wrapup", "closed", false, ""},
		{"inactive always sends routing", "inactive", false, `{"status":"closed"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, flextest.Options{}, flex.Options{})
			ch := f.channel("active")
			res, err := f.client.CloseChannel(context.Background(), ch, tt.status, tt.routing)
			if err != nil {
				t.Fatalf("CloseChannel: %v", err)
			}
			if res.Status != tt.status || res.AlreadyClosed || res.Attempts != 1 {
				t.Errorf("CloseChannel = %+v, want status %s in 1 attempt", res, tt.status)
			}
			posts := f.posts()
			if len(posts) != 1 {
				t.Fatalf("got %d POSTs, want 1", len(posts))
			}
			p := posts[0]
			if p.Path != "/v1/Interactions/"+ch.InteractionSID+"/Channels/"+ch.ChannelSID || p.User != acct {
				t.Errorf("POST %s as %s, want the channel path as %s", p.Path, p.User, acct)
			}
			if p.Form.Get("Status") != tt.status || p.Form.Get("Routing") != tt.wantRouting {
				t.Errorf("form = %v, want Status=%s Routing=%q", p.Form, tt.status, tt.wantRouting)
			}
			if got, _ := f.fake.Channel(ch.InteractionSID, ch.ChannelSID); got.Status != tt.status {
				t.Errorf("channel status = %s, want %s", got.Status, tt.status)
			}
		})
	}
}

func TestCloseChannelIdempotent(t *testing.T) {
	for _, mode := range []flextest.RepeatClose{flextest.RepeatCloseOK, flextest.RepeatCloseError} {
		f := newFixture(t, flextest.Options{RepeatClose: mode}, flex.Options{})
		ch := f.channel("closed")
		res, err := f.client.CloseChannel(context.Background(), ch, "closed", true)
		if err != nil {
			t.Fatalf("repeat close (mode %d): %v", mode, err)
		}
		if res.Status != "closed" {
			t.Errorf("repeat close (mode %d) status = %s", mode, res.Status)
		}
		if mode == flextest.RepeatCloseError && (!res.AlreadyClosed || res.Attempts != 2) {
			t.Errorf("repeat close answered 400: %+v, want AlreadyClosed after a fetch (2 attempts)", res)
		}
		if f.fake.CloseCount(ch.ChannelSID) != 0 {
			t.Errorf("repeat close changed the channel")
		}
	}
	// Inactive asked of a closed or inactive channel is done; closed asked
	// of an inactive channel that Twilio refuses to close is not (the
	// channel is still open to the customer).
	for _, tt := range []struct {
		current, asked string
		done           bool
	}{
		{"closed", "inactive", true},
		{"inactive", "inactive", true},
		{"inactive", "closed", false},
	} {
		f := newFixture(t, flextest.Options{}, flex.Options{})
		ch := f.channel(tt.current)
		f.fake.Inject(flextest.Fault{Method: "POST", Status: 400, Code: 45359, Times: 1})
		res, err := f.client.CloseChannel(context.Background(), ch, tt.asked, true)
		if tt.done && (err != nil || !res.AlreadyClosed || res.Status != tt.current) {
			t.Errorf("%s refused on a %s channel = %+v, %v; want AlreadyClosed", tt.asked, tt.current, res, err)
		}
		if !tt.done && (res.AlreadyClosed || !errors.Is(err, flex.ErrNotClosed)) {
			t.Errorf("%s refused on a %s channel = %+v, %v; want ErrNotClosed", tt.asked, tt.current, res, err)
		}
	}
	// A 400 on a channel that is still open is a real failure.
	f := newFixture(t, flextest.Options{}, flex.Options{})
	ch := f.channel("active")
	f.fake.Inject(flextest.Fault{Method: "POST", Status: 400, Code: 45359, Times: 1})
	_, err := f.client.CloseChannel(context.Background(), ch, "closed", true)
	var fe *flex.Error
	if !errors.As(err, &fe) || fe.RetryableError() || !errors.Is(err, flex.ErrNotClosed) || fe.Code != 45359 {
		t.Errorf("close refused on an open channel = %v, want a permanent *Error wrapping ErrNotClosed", err)
	}
}

func TestCloseChannelNotFound(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{})
	ch := flex.ChannelRef{InteractionSID: flextest.NewSID("KD"), ChannelSID: flextest.NewSID("UO")}
	_, err := f.client.CloseChannel(context.Background(), ch, "closed", true)
	var fe *flex.Error
	if !errors.Is(err, flex.ErrNotFound) || !errors.As(err, &fe) || fe.RetryableError() || fe.Attempts != 1 || fe.Code != 20404 {
		t.Errorf("close of a missing channel = %v, want a permanent ErrNotFound after 1 attempt", err)
	}
}

func TestCloseChannelRetries(t *testing.T) {
	tests := []struct {
		name       string
		faults     []flextest.Fault
		attempts   int
		wantSleeps []time.Duration
	}{
		{"429 with Retry-After", []flextest.Fault{flextest.RateLimited(2*time.Second, 2)}, 3, []time.Duration{2 * time.Second, 2 * time.Second}},
		{"503 burst", []flextest.Fault{flextest.Unavailable(3)}, 4, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond}},
		{"HTML 502 from a proxy", []flextest.Fault{flextest.BadGateway(1)}, 2, []time.Duration{100 * time.Millisecond}},
		{"500 then 429", []flextest.Fault{{Status: 500, Times: 1}, flextest.RateLimited(3*time.Second, 1)}, 3, []time.Duration{100 * time.Millisecond, 3 * time.Second}},
		{"408 request timeout", []flextest.Fault{{Status: 408, Times: 1}}, 2, []time.Duration{100 * time.Millisecond}},
		{"425 too early", []flextest.Fault{{Status: 425, Times: 2}}, 3, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, flextest.Options{}, flex.Options{BaseDelay: 100 * time.Millisecond})
			ch := f.channel("active")
			for _, fault := range tt.faults {
				f.fake.Inject(fault)
			}
			res, err := f.client.CloseChannel(context.Background(), ch, "closed", true)
			if err != nil {
				t.Fatalf("CloseChannel: %v", err)
			}
			if res.Attempts != tt.attempts || res.Status != "closed" {
				t.Errorf("CloseChannel = %+v, want closed after %d attempts", res, tt.attempts)
			}
			if got := f.clock.sleeps; len(got) != len(tt.wantSleeps) || !equalDurations(got, tt.wantSleeps) {
				t.Errorf("backoff sleeps = %v, want %v", got, tt.wantSleeps)
			}
			if f.fake.CloseCount(ch.ChannelSID) != 1 {
				t.Errorf("close effects = %d, want 1", f.fake.CloseCount(ch.ChannelSID))
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestCloseChannelGivesUpBeforeDeadline(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{BaseDelay: time.Second, MaxDelay: time.Second, MaxAttempts: 20})
	ch := f.channel("active")
	f.fake.Inject(flextest.Fault{Status: 500})
	start := f.clock.Now()
	ctx, cancel := context.WithDeadline(context.Background(), start.Add(5*time.Second))
	defer cancel()
	_, err := f.client.CloseChannel(ctx, ch, "closed", true)
	var fe *flex.Error
	if !errors.As(err, &fe) || !fe.RetryableError() || fe.Status != 500 {
		t.Fatalf("persistent 500 = %v, want a retryable *Error", err)
	}
	// Attempts at 0s, 1s, 2s, 3s, 4s; a fifth backoff would end inside the
	// 500ms safety margin before the 5s deadline.
	if fe.Attempts != 5 {
		t.Errorf("attempts = %d, want 5", fe.Attempts)
	}
	if end := f.clock.Now(); end.Add(500 * time.Millisecond).After(start.Add(5 * time.Second)) {
		t.Errorf("gave up at +%v, inside the safety margin", end.Sub(start))
	}
}

func TestRetryAfterBeyondDeadline(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{})
	ch := f.channel("active")
	f.fake.Inject(flextest.RateLimited(30*time.Second, 0))
	ctx, cancel := context.WithDeadline(context.Background(), f.clock.Now().Add(10*time.Second))
	defer cancel()
	_, err := f.client.CloseChannel(ctx, ch, "closed", true)
	var fe *flex.Error
	if !errors.As(err, &fe) || !fe.RetryableError() || fe.RetryAfter != 30*time.Second || fe.Attempts != 1 {
		t.Errorf("429 with Retry-After past the deadline = %v (%+v), want one attempt and RetryAfter 30s", err, fe)
	}
	if len(f.clock.sleeps) != 0 {
		t.Errorf("slept %v although the wait could not fit", f.clock.sleeps)
	}
}

func TestCallerCancelStopsRetries(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{})
	ch := f.channel("active")
	f.fake.Inject(flextest.Unavailable(0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client.CloseChannel(ctx, ch, "closed", true)
	if err == nil || f.fake.CloseCount(ch.ChannelSID) != 0 {
		t.Errorf("close with a canceled context = %v, want an error and no close", err)
	}
}

func TestUnauthorizedRefreshesOnce(t *testing.T) {
	f := newFixture(t, flextest.Options{Credentials: map[string]string{acct: "newtoken"}}, flex.Options{})
	ch := f.channel("active")
	_, err := f.client.CloseChannel(context.Background(), ch, "closed", true)
	if !errors.Is(err, flex.ErrUnauthorized) || f.creds.refreshes != 1 {
		t.Fatalf("close with a stale token and nothing new = %v after %d refreshes, want ErrUnauthorized after 1", err, f.creds.refreshes)
	}
	f.creds.next = &flex.Credentials{AccountSID: acct, Username: acct, Password: secrets.NewValue("newtoken")}
	res, err := f.client.CloseChannel(context.Background(), ch, "closed", true)
	if err != nil || res.Attempts != 2 {
		t.Errorf("close after rotation = %+v, %v; want success on the second attempt", res, err)
	}
}

func TestAPIKeyCredentials(t *testing.T) {
	key := "SK0123456789abcdef0123456789abcdef"
	f := newFixture(t, flextest.Options{Credentials: map[string]string{key: "keysecret"}}, flex.Options{})
	f.creds.cur = &flex.Credentials{AccountSID: acct, Username: key, Password: secrets.NewValue("keysecret")}
	ch := f.channel("active")
	if _, err := f.client.CloseChannel(context.Background(), ch, "closed", true); err != nil {
		t.Fatalf("close with an API key: %v", err)
	}
	if u := f.posts()[0].User; u != key {
		t.Errorf("authenticated as %s, want the API key %s", u, key)
	}
}

func TestInvalidInputMakesNoCall(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{})
	good := f.channel("active")
	bad := []flex.ChannelRef{
		{InteractionSID: "KD../../v1/Workspaces", ChannelSID: good.ChannelSID},
		{InteractionSID: good.InteractionSID, ChannelSID: "UO" + strings.Repeat("0", 31) + "/"},
		{InteractionSID: good.ChannelSID, ChannelSID: good.InteractionSID},
		{InteractionSID: good.InteractionSID, ChannelSID: "UO%2F" + strings.Repeat("0", 29)},
	}
	for _, ch := range bad {
		if _, err := f.client.CloseChannel(context.Background(), ch, "closed", true); !errors.Is(err, flex.ErrInvalidSID) {
			t.Errorf("CloseChannel(%+v) = %v, want ErrInvalidSID", ch, err)
		}
	}
	if _, err := f.client.CloseChannel(context.Background(), good, "deleted", true); err == nil {
		t.Errorf("CloseChannel with status deleted succeeded")
	}
	if _, err := f.client.LiveTasks(context.Background(), "WS1", good.ChannelSID, ""); !errors.Is(err, flex.ErrInvalidSID) {
		t.Errorf("LiveTasks with a bad workspace = %v, want ErrInvalidSID", err)
	}
	if _, err := f.client.FetchTask(context.Background(), ws, "WT/x"); !errors.Is(err, flex.ErrInvalidSID) {
		t.Errorf("FetchTask with a bad task = %v, want ErrInvalidSID", err)
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Errorf("invalid input made %d requests, want 0", n)
	}
}

func TestLiveTasks(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{})
	ch := flextest.Channel{InteractionSID: flextest.NewSID("KD"), SID: flextest.NewSID("UO")}
	f.fake.AddChannel(ch)
	own := f.fake.AddChannelTask(ws, ch, "completed")
	transferred := f.fake.AddChannelTask(ws, ch, "assigned")
	f.fake.AddChannelTask(ws, ch, "canceled")
	other := flextest.Channel{InteractionSID: flextest.NewSID("KD"), SID: flextest.NewSID("UO")}
	f.fake.AddChannel(other)
	f.fake.AddChannelTask(ws, other, "assigned")

	live, err := f.client.LiveTasks(context.Background(), ws, ch.SID, own.SID)
	if err != nil {
		t.Fatalf("LiveTasks: %v", err)
	}
	if len(live) != 1 || live[0].SID != transferred.SID || live[0].AssignmentStatus != "assigned" {
		t.Errorf("LiveTasks = %+v, want only the transferred task %s", live, transferred.SID)
	}
	r := f.fake.Requests()[0]
	if got := r.Query.Get("EvaluateTaskAttributes"); got != `flexInteractionChannelSid == "`+ch.SID+`"` {
		t.Errorf("EvaluateTaskAttributes = %q", got)
	}
	if got := strings.Join(r.Query["AssignmentStatus"], ","); got != "pending,reserved,assigned,wrapping" {
		t.Errorf("AssignmentStatus = %q", got)
	}
	// The live task itself is excluded when it is the event's task.
	if live, _ := f.client.LiveTasks(context.Background(), ws, ch.SID, transferred.SID); len(live) != 0 {
		t.Errorf("LiveTasks excluding the only live task = %+v, want none", live)
	}
}

func TestFetchTask(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{})
	ch := f.fake.AddChannel(flextest.Channel{})
	task := f.fake.AddChannelTask(ws, ch, "assigned")
	got, err := f.client.FetchTask(context.Background(), ws, task.SID)
	if err != nil || got.SID != task.SID || !strings.Contains(got.Attributes, ch.SID) {
		t.Errorf("FetchTask = %+v, %v", got, err)
	}
	if _, err := f.client.FetchTask(context.Background(), ws, flextest.NewSID("WT")); !errors.Is(err, flex.ErrNotFound) {
		t.Errorf("FetchTask(missing) = %v, want ErrNotFound", err)
	}
}

func TestConnectionReuse(t *testing.T) {
	f := newFixture(t, flextest.Options{RepeatClose: flextest.RepeatCloseError}, flex.Options{Transport: flex.NewTransport()})
	f.fake.Inject(flextest.Unavailable(2))
	f.fake.Inject(flextest.Fault{Method: "GET", Path: "/v1/Workspaces", Status: 404, Times: 1})
	for i := 0; i < 5; i++ {
		ch := f.channel("active")
		if _, err := f.client.CloseChannel(context.Background(), ch, "closed", true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.client.CloseChannel(context.Background(), ch, "closed", true); err != nil {
			t.Fatal(err) // 400 + fetch: error bodies must not leak the connection
		}
		_, _ = f.client.LiveTasks(context.Background(), ws, ch.ChannelSID, "")
	}
	if n := f.conns.Load(); n != 1 {
		t.Errorf("opened %d connections for %d requests, want 1", n, len(f.fake.Requests()))
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{MaxAttempts: 2})
	ch := f.channel("active")
	f.srv.Close()
	_, err := f.client.CloseChannel(context.Background(), ch, "closed", true)
	var fe *flex.Error
	if !errors.As(err, &fe) || !fe.RetryableError() || fe.Status != 0 || fe.Attempts != 2 {
		t.Errorf("close with the server down = %v, want a retryable *Error after 2 attempts", err)
	}
}

func TestErrorMessagesAreScrubbed(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{})
	ch := f.channel("active")
	f.fake.Inject(flextest.Fault{Status: 400, Code: 20001, Message: "bad request from " + acct + ":" + token, Times: 1})
	f.fake.Inject(flextest.Fault{Status: 400, Code: 20001, Message: "still " + token})
	_, err := f.client.CloseChannel(context.Background(), ch, "closed", true)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("error %q reveals the auth token", err)
	}
}

// Events walks every page of the Events resource through meta.next_page_url's
// PageToken (never Page), applies the filters, and reads the task's fields
// from event_data — also for tasks TaskRouter has already deleted.
func TestEvents(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{})
	start := time.Now().Add(-24 * time.Hour).Truncate(time.Second)
	f.fake.SetNow(start)
	flows := f.fake.Flows(ws)
	var declined []string
	for i := 0; i < 250; i++ {
		f.fake.Advance(5 * time.Minute)
		_, task := flows.Start(flextest.Channel{})
		if i%2 == 0 {
			if err := flows.AgentEndsChat(task.SID); err != nil {
				t.Fatal(err)
			}
			continue
		}
		invite, err := flows.Transfer(task.SID)
		if err != nil {
			t.Fatal(err)
		}
		if err := flows.AgentEndsChat(invite.SID); err != nil {
			t.Fatal(err)
		}
		declined = append(declined, invite.SID)
	}
	f.fake.Advance(10 * time.Minute)
	f.fake.Reset()

	var got []flex.Event
	filter := flex.EventFilter{Type: "task.completed", Start: start, End: f.fake.Now()}
	err := f.client.Events(context.Background(), ws, filter, func(e flex.Event) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 125 conversations with one task, 125 with two: 375 completions.
	if len(got) != 375 {
		t.Errorf("Events visited %d task.completed events, want 375", len(got))
	}
	seen := map[string]bool{}
	for i, e := range got {
		if e.Type != "task.completed" || e.AssignmentStatus != "completed" || e.WorkspaceSID != ws ||
			!strings.Contains(e.Attributes, "flexInteractionChannelSid") || !strings.HasPrefix(e.SID, "EV") {
			t.Fatalf("event %d = %+v", i, e)
		}
		if i > 0 && e.Date.After(got[i-1].Date) {
			t.Errorf("event %d is newer than the one before it: not newest first", i)
		}
		if seen[e.SID] {
			t.Errorf("event %s visited twice", e.SID)
		}
		seen[e.SID] = true
	}
	reqs := f.fake.Requests()
	if len(reqs) < 2 {
		t.Fatalf("Events read %d pages, want paging", len(reqs))
	}
	for _, r := range reqs {
		if r.Query.Has("Page") || r.Query.Get("EventType") != "task.completed" {
			t.Errorf("page request %v: want EventType and no Page parameter", r.Query)
		}
	}
	// The task is deleted by retention, its events remain.
	if _, err := f.client.FetchTask(context.Background(), ws, declined[0]); !errors.Is(err, flex.ErrNotFound) {
		t.Errorf("FetchTask of an ended task 10 minutes later = %v, want ErrNotFound", err)
	}
	var types []string
	err = f.client.Events(context.Background(), ws, flex.EventFilter{TaskSID: declined[0], Start: start}, func(e flex.Event) error {
		if e.TaskSID != declined[0] {
			t.Errorf("TaskSid filter visited %+v", e)
		}
		types = append(types, e.Type)
		return nil
	})
	if err != nil || strings.Join(types, ",") != "task.system-deleted,task.completed,task.wrapup,task.created" {
		t.Errorf("events of task %s = %v, %v", declined[0], types, err)
	}
	stop := errors.New("stop")
	n := 0
	if err := f.client.Events(context.Background(), ws, filter, func(flex.Event) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("Events with a stopping visitor = %v after %d visits", err, n)
	}
	// The page bound: a walk with more pages to read says so
	// (ErrTooManyPages) after visiting what it read; a walk that ends on
	// its last allowed page does not.
	restore := flex.SetMaxEventPages(1)
	n = 0
	if err := f.client.Events(context.Background(), ws, filter, func(flex.Event) error { n++; return nil }); !errors.Is(err, flex.ErrTooManyPages) || n != 200 {
		t.Errorf("Events past the page bound = %v after %d visits, want ErrTooManyPages after 200", err, n)
	}
	flex.SetMaxEventPages(2)
	if err := f.client.Events(context.Background(), ws, filter, func(flex.Event) error { return nil }); err != nil {
		t.Errorf("Events ending on the last allowed page = %v", err)
	}
	restore()
	if err := f.client.Events(context.Background(), ws, flex.EventFilter{TaskSID: "WT../x"}, nil); !errors.Is(err, flex.ErrInvalidSID) {
		t.Errorf("Events with a bad task SID = %v, want ErrInvalidSID", err)
	}
}

// A connection lost after the status line is a network failure, retried,
// not a 200 with a bad body.
func TestTruncatedAnswerIsRetried(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{})
	ch := flextest.Channel{InteractionSID: flextest.NewSID("KD"), SID: flextest.NewSID("UO")}
	f.fake.AddChannel(ch)
	f.fake.AddWorkspace(ws)
	var calls atomic.Int32
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			w.Write([]byte(`{"tasks":[`))
			if hj, ok := w.(http.Hijacker); ok {
				conn, _, _ := hj.Hijack()
				conn.Close()
			}
			return
		}
		f.fake.ServeHTTP(w, r)
	}))
	defer cut.Close()
	c, err := flex.New(f.creds, flex.Options{BaseURL: cut.URL, Now: f.clock.Now, Sleep: f.clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.LiveTasks(context.Background(), ws, ch.SID, ""); err != nil {
		t.Errorf("LiveTasks after a truncated answer = %v, want a retried success", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("calls = %d, want 2", n)
	}
}

// When a close is refused and the confirming fetch cannot be made now, the
// failure is retryable, not a permanent refusal.
func TestRefusedCloseWithBusyFetchIsRetryable(t *testing.T) {
	f := newFixture(t, flextest.Options{}, flex.Options{MaxAttempts: 2})
	ch := f.channel("closed")
	f.fake.Inject(flextest.Fault{Method: "POST", Status: 400, Code: 45359, Times: 1})
	f.fake.Inject(flextest.Fault{Method: "GET", Status: 503})
	_, err := f.client.CloseChannel(context.Background(), ch, "closed", true)
	var fe *flex.Error
	if !errors.As(err, &fe) || !fe.RetryableError() {
		t.Errorf("refused close, fetch answering 503 = %v, want a retryable error", err)
	}
	f.fake.ClearFaults()
	f.fake.Inject(flextest.Fault{Method: "POST", Status: 400, Code: 45359, Times: 1})
	f.fake.Inject(flextest.Fault{Method: "GET", Status: 404, Code: 20404, Times: 1})
	if _, err := f.client.CloseChannel(context.Background(), ch, "closed", true); !errors.Is(err, flex.ErrNotFound) {
		t.Errorf("refused close, channel gone = %v, want ErrNotFound", err)
	}
}
