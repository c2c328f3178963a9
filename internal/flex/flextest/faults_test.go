package flextest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

func TestRateLimited(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	task := f.fake.AddChannelTask(testWS, ch, "assigned")
	f.fake.Inject(flextest.RateLimited(1500*time.Millisecond, 2))

	for i := range 2 {
		_, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", true))
		te := restError(t, err)
		if te.Status != 429 || te.Code != 20429 || te.MoreInfo != "https://www.twilio.com/docs/errors/20429" {
			t.Errorf("attempt %d: error = %d/%d %q, want 429/20429", i, te.Status, te.Code, te.MoreInfo)
		}
		status, h := f.seen.last()
		if status != 429 || h.Get("Retry-After") != "2" {
			t.Errorf("attempt %d: transport saw %d Retry-After %q, want 429 and \"2\"", i, status, h.Get("Retry-After"))
		}
		if got, _ := f.fake.Channel(ch.InteractionSID, ch.SID); got.Status != "active" {
			t.Errorf("attempt %d: a rate-limited request changed the channel to %q", i, got.Status)
		}
	}
	// Times is used up: the third attempt is served.
	if _, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", true)); err != nil {
		t.Fatalf("third attempt error: %v", err)
	}
	if got, _ := f.fake.Task(testWS, task.SID); got.AssignmentStatus != "completed" {
		t.Errorf("task after the served close = %q, want completed", got.AssignmentStatus)
	}
	var faulted []bool
	for _, r := range f.fake.Requests() {
		faulted = append(faulted, r.Fault)
	}
	if want := []bool{true, true, false}; !slices.Equal(faulted, want) {
		t.Errorf("Requests() fault flags = %v, want %v", faulted, want)
	}
	if n := f.fake.CloseCount(ch.SID); n != 1 {
		t.Errorf("CloseCount = %d, want 1", n)
	}
}

func TestUnavailable(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	f.fake.Inject(flextest.Unavailable(1))
	_, err := f.flex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
	if te := restError(t, err); te.Status != 503 || te.Code != 20503 {
		t.Errorf("FetchInteractionChannel = %d/%d, want 503/20503", te.Status, te.Code)
	}
	if _, err := f.flex.FetchInteractionChannel(ch.InteractionSID, ch.SID); err != nil {
		t.Errorf("FetchInteractionChannel after the fault is used up: %v", err)
	}
}

func TestBadGatewayIsNotATwilioError(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	f.fake.Inject(flextest.BadGateway(0))
	for i := range 3 {
		_, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", false))
		if err == nil {
			t.Fatalf("attempt %d: UpdateInteractionChannel succeeded through a 502 fault", i)
		}
		var te *client.TwilioRestError
		if errors.As(err, &te) {
			t.Errorf("attempt %d: error = %v, want a decoding error, not a TwilioRestError", i, err)
		}
		status, h := f.seen.last()
		if status != 502 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || h.Get("Twilio-Request-Id") != "" {
			t.Errorf("attempt %d: transport saw %d %q request id %q, want 502 text/html without request id",
				i, status, h.Get("Content-Type"), h.Get("Twilio-Request-Id"))
		}
	}
	f.fake.ClearFaults()
	if _, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", false)); err != nil {
		t.Errorf("UpdateInteractionChannel after ClearFaults: %v", err)
	}
}

func TestFaultMatching(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	f.fake.AddWorkspace(testWS)
	channelPath := "/v1/Interactions/" + ch.InteractionSID + "/Channels/" + ch.SID
	tests := []struct {
		name      string
		fault     flextest.Fault
		wantFetch bool // whether GET channel is faulted
		wantClose bool // whether POST channel is faulted
		wantList  bool // whether GET tasks is faulted
	}{
		{"any request", flextest.Fault{Status: 500}, true, true, true},
		{"method only", flextest.Fault{Method: "POST", Status: 500}, false, true, false},
		{"lower-case method", flextest.Fault{Method: "post", Status: 500}, false, true, false},
		{"exact path", flextest.Fault{Path: channelPath, Status: 500}, true, true, false},
		{"segment prefix", flextest.Fault{Path: "/v1/Interactions", Status: 500}, true, true, false},
		{"wildcard segment", flextest.Fault{Path: "/v1/Interactions/*/Channels/" + ch.SID, Status: 500}, true, true, false},
		{"pattern in segment", flextest.Fault{Path: "/v1/Workspaces/WS*/Tasks", Status: 500}, false, false, true},
		{"partial segment is no prefix", flextest.Fault{Path: "/v1/Inter", Status: 500}, false, false, false},
		{"other channel", flextest.Fault{Path: "/v1/Interactions/*/Channels/" + flextest.NewSID("UO"), Status: 500}, false, false, false},
		{"method and path", flextest.Fault{Method: "GET", Path: "/v1/Interactions", Status: 500}, true, false, false},
		{"longer than the path", flextest.Fault{Path: channelPath + "/Invites", Status: 500}, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.fake.ClearFaults()
			f.fake.Inject(tt.fault)
			_, err := f.flex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
			if got := isStatus(err, 500); got != tt.wantFetch {
				t.Errorf("fault %+v on GET channel: faulted = %v, want %v (err %v)", tt.fault, got, tt.wantFetch, err)
			}
			// Status=open is rejected when served, so nothing is closed.
			_, err = f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("open", false))
			if got := isStatus(err, 500); got != tt.wantClose {
				t.Errorf("fault %+v on POST channel: faulted = %v, want %v (err %v)", tt.fault, got, tt.wantClose, err)
			}
			_, err = f.tr.PageTask(testWS, nil, "", "")
			if got := isStatus(err, 500); got != tt.wantList {
				t.Errorf("fault %+v on GET tasks: faulted = %v, want %v (err %v)", tt.fault, got, tt.wantList, err)
			}
		})
	}
}

func isStatus(err error, status int) bool {
	var te *client.TwilioRestError
	return errors.As(err, &te) && te.Status == status
}

func TestFaultOrderAndTimes(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	f.fake.Inject(flextest.Fault{Status: 500, Times: 1})
	f.fake.Inject(flextest.Fault{Status: 503, Code: 45780, Message: "Account is sending too many concurrent API requests", Times: 2})
	var got []int
	for range 4 {
		_, err := f.flex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
		var te *client.TwilioRestError
		switch {
		case err == nil:
			got = append(got, 200)
		case errors.As(err, &te):
			got = append(got, te.Code)
		default:
			t.Fatalf("FetchInteractionChannel error: %v", err)
		}
	}
	if want := []int{20500, 45780, 45780, 200}; !slices.Equal(got, want) {
		t.Errorf("answers = %v, want %v", got, want)
	}
}

func TestFaultsBeforeAuthentication(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	f.fake.Inject(flextest.Unavailable(1))
	flex, _ := f.services(t, testAccount, "wrongtoken")
	_, err := flex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
	if te := restError(t, err); te.Status != 503 {
		t.Errorf("faulted request with bad credentials = %d, want 503", te.Status)
	}
}

func TestInjectRejectsInvalidFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault flextest.Fault
	}{
		{"2xx status", flextest.Fault{Status: 200}},
		{"204 status", flextest.Fault{Status: 204}},
		{"1xx status", flextest.Fault{Status: 100}},
		{"status beyond 5xx", flextest.Fault{Status: 600}},
		{"nothing to do", flextest.Fault{Path: "/v1"}},
		{"negative times", flextest.Fault{Status: 500, Times: -1}},
		{"negative delay", flextest.Fault{Status: 500, Delay: -time.Second}},
		{"bad pattern", flextest.Fault{Status: 500, Path: "/v1/[Interactions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := flextest.New(flextest.Options{})
			defer func() {
				if recover() == nil {
					t.Errorf("Inject(%+v) did not panic", tt.fault)
				}
			}()
			s.Inject(tt.fault)
		})
	}
}

// gate is an Options.Wait that reports each wait and lets the test end it.
type gate struct {
	entered chan time.Duration
	release chan struct{}
}

func newGate() *gate {
	return &gate{entered: make(chan time.Duration, 1), release: make(chan struct{})}
}

func (g *gate) Wait(ctx context.Context, d time.Duration) error {
	g.entered <- d
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestFaultDelay(t *testing.T) {
	tests := []struct {
		name       string
		fault      flextest.Fault
		wantStatus int
		wantState  string // channel status after the request
	}{
		{"delayed error", flextest.Fault{Status: 503, Delay: time.Minute}, 503, "active"},
		{"delay only serves the request", flextest.Fault{Delay: time.Minute}, 200, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGate()
			f := newFixture(t, func(o *flextest.Options) { o.Wait = g.Wait })
			ch := f.fake.AddChannel(flextest.Channel{})
			f.fake.Inject(tt.fault)

			done := make(chan error, 1)
			go func() {
				_, err := f.flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, closeParams("closed", true))
				done <- err
			}()
			if d := <-g.entered; d != tt.fault.Delay {
				t.Errorf("waited %v, want %v", d, tt.fault.Delay)
			}
			close(g.release)
			got := 200
			if err := <-done; err != nil {
				got = -1
				var te *client.TwilioRestError
				if errors.As(err, &te) {
					got = te.Status
				}
			}
			if got != tt.wantStatus {
				t.Errorf("delayed request answered %d, want %d", got, tt.wantStatus)
			}
			if got, _ := f.fake.Channel(ch.InteractionSID, ch.SID); got.Status != tt.wantState {
				t.Errorf("channel after delayed request = %q, want %q", got.Status, tt.wantState)
			}
		})
	}
}

// TestFaultDelayCanceled checks that a delay ends with the request context
// and that nothing is answered or changed.
func TestFaultDelayCanceled(t *testing.T) {
	g := newGate()
	s := flextest.New(flextest.Options{
		Credentials: map[string]string{testAccount: testToken},
		Wait:        g.Wait,
	})
	ch := s.AddChannel(flextest.Channel{})
	s.Inject(flextest.Fault{Delay: time.Hour})

	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "POST", "/v1/Interactions/"+ch.InteractionSID+"/Channels/"+ch.SID,
		strings.NewReader("Status=closed"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testAccount, testToken)
	w := httptest.NewRecorder()
	served := make(chan struct{})
	go func() {
		s.ServeHTTP(w, req)
		close(served)
	}()
	<-g.entered
	cancel()
	<-served

	if w.Code != http.StatusOK || w.Body.Len() != 0 || len(w.Header()) != 0 {
		t.Errorf("canceled request answered %d %q %v, want nothing written", w.Code, w.Body.String(), w.Header())
	}
	if got, _ := s.Channel(ch.InteractionSID, ch.SID); got.Status != "active" {
		t.Errorf("channel after canceled request = %q, want active", got.Status)
	}
	reqs := s.Requests()
	if len(reqs) != 1 || reqs[0].Status != 0 || !reqs[0].Fault {
		t.Errorf("Requests() = %+v, want one faulted request with status 0", reqs)
	}
}

func TestRateLimitedRetryAfter(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, ""},
		{-time.Second, ""},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{1001 * time.Millisecond, "2"},
		{30 * time.Second, "30"},
	}
	for _, tt := range tests {
		f := flextest.RateLimited(tt.in, 0)
		if got := f.Header.Get("Retry-After"); got != tt.want {
			t.Errorf("RateLimited(%v).Retry-After = %q, want %q", tt.in, got, tt.want)
		}
		if f.Status != 429 || f.Code != 20429 {
			t.Errorf("RateLimited(%v) = %d/%d, want 429/20429", tt.in, f.Status, f.Code)
		}
	}
}
