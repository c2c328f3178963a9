package closejob

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
	"github.com/flexhook/flexhook/internal/retry"
	"github.com/flexhook/flexhook/internal/secrets"
)

const (
	kd = "KD0123456789abcdef0123456789abcdef"
	uo = "UO0123456789abcdef0123456789abcdef"
	ws = "WS0123456789abcdef0123456789abcdef"
	wt = "WT0123456789abcdef0123456789abcdef"
)

func job() channelclose.Job {
	return channelclose.Job{Source: "taskrouter", EventType: "task.canceled", WorkspaceSID: ws, TaskSID: wt,
		InteractionSID: kd, ChannelSID: uo, Status: "closed", Routing: true, Guard: true}
}

// scripted is a closer whose answers are queued.
type scripted struct {
	calls   int
	results []channelclose.Result
	errs    []error
}

func (s *scripted) Close(context.Context, channelclose.Job) (channelclose.Result, error) {
	i := s.calls
	s.calls++
	var r channelclose.Result
	var err error
	if i < len(s.results) {
		r = s.results[i]
	}
	if i < len(s.errs) {
		err = s.errs[i]
	}
	return r, err
}

type transient struct{}

func (transient) Error() string        { return "twilio 503" }
func (transient) RetryableError() bool { return true }

func TestMessageRoundTrip(t *testing.T) {
	m := NewMessage(TaskRouterKey("task.canceled", wt), job(), time.Unix(1_700_000_000, 0))
	body, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMessage(body)
	if err != nil || got.Key != m.Key || got.Job != m.Job || !got.ReceivedAt.Equal(m.ReceivedAt) {
		t.Fatalf("DecodeMessage(Encode) = %+v, %v", got, err)
	}
	tampered := strings.Replace(body, `"status":"closed"`, `"status":"inactive"`, 1)
	for _, bad := range []string{`{`, `{"v":2}`, `{"v":1,"key":""}`, tampered,
		strings.Replace(body, uo, "UO/../x", 1)} {
		if _, err := DecodeMessage(bad); !errors.Is(err, ErrBadMessage) {
			t.Errorf("DecodeMessage(%.60s…) = %v, want ErrBadMessage", bad, err)
		}
	}
}

func TestKeys(t *testing.T) {
	if got := TaskRouterKey("task.canceled", wt); got != "tr:task.canceled:"+wt {
		t.Errorf("TaskRouterKey = %q", got)
	}
	if TaskRouterKey("task.canceled", wt) == TaskRouterKey("task.completed", wt) {
		t.Errorf("two terminal events of a task share a key")
	}
	if CRMKey("msg_1", "") == CRMKey("", "msg_1") {
		t.Errorf("webhook-id and Idempotency-Key share a key space")
	}
	if CRMKey("msg_1", "") != CRMKey("msg_1", "k") {
		t.Errorf("webhook-id does not decide the key")
	}
	// Without an id, every request is its own event: a later request for
	// the same channel (reopened meanwhile) must not replay an old one.
	if a, b := CRMKey("", ""), CRMKey("", ""); a == b || !strings.HasPrefix(a, "crm:once:") {
		t.Errorf("CRM keys without an id = %q, %q; want distinct crm:once: keys", a, b)
	}
	j, j2 := job(), job()
	j2.Status = "inactive"
	if Hash(j) == Hash(j2) {
		t.Errorf("Hash ignores the status")
	}
	if id := DedupID(strings.Repeat("x", 5000)); len(id) != 64 {
		t.Errorf("DedupID length %d", len(id))
	}
}

func TestRunOnce(t *testing.T) {
	ctx := context.Background()
	store := idempotencytest.NewMemory(idempotency.Options{})
	c := &scripted{results: []channelclose.Result{{Outcome: channelclose.Closed, ChannelStatus: "closed", Attempts: 1}}}
	p := NewProcessor(c, store, nil)
	m := NewMessage("tr:task.canceled:"+wt, job(), time.Now())
	res, err := p.Run(ctx, m)
	if err != nil || res.Outcome != channelclose.Closed || res.Replayed {
		t.Fatalf("first Run = %+v, %v", res, err)
	}
	for i := 0; i < 3; i++ {
		res, err = p.Run(ctx, m)
		if err != nil || res.Outcome != channelclose.Closed || !res.Replayed || res.ChannelStatus != "closed" {
			t.Fatalf("duplicate Run = %+v, %v; want the replayed outcome", res, err)
		}
	}
	if c.calls != 1 {
		t.Errorf("closer ran %d times for one event, want 1", c.calls)
	}
	if res, ok, err := p.Check(ctx, m); !ok || err != nil || res.Outcome != channelclose.Closed {
		t.Errorf("Check after completion = %+v, %v, %v", res, ok, err)
	}
	other := m
	other.Job.Status = "inactive"
	other.PayloadHash = Hash(other.Job)
	if _, err := p.Run(ctx, other); !errors.Is(err, ErrPayloadMismatch) {
		t.Errorf("same key, different close = %v, want ErrPayloadMismatch", err)
	}
	if _, _, err := p.Check(ctx, other); !errors.Is(err, ErrPayloadMismatch) {
		t.Errorf("Check, same key, different close = %v, want ErrPayloadMismatch", err)
	}
}

func TestRunRetryableReleases(t *testing.T) {
	ctx := context.Background()
	store := idempotencytest.NewMemory(idempotency.Options{})
	c := &scripted{errs: []error{transient{}, nil}, results: []channelclose.Result{{}, {Outcome: channelclose.Closed}}}
	p := NewProcessor(c, store, nil)
	m := NewMessage("k1", job(), time.Now())
	if _, err := p.Run(ctx, m); !retry.Retryable(err) {
		t.Fatalf("Run with a transient failure = %v, want retryable", err)
	}
	if _, ok, err := p.Check(ctx, m); ok || err != nil {
		t.Errorf("after a released failure, Check = %v, %v; want free to enqueue", ok, err)
	}
	if res, err := p.Run(ctx, m); err != nil || res.Outcome != channelclose.Closed {
		t.Errorf("retry = %+v, %v", res, err)
	}
}

func TestRunPermanentIsRecorded(t *testing.T) {
	ctx := context.Background()
	store := idempotencytest.NewMemory(idempotency.Options{})
	c := &scripted{errs: []error{errors.New("twilio 400 (code 45359)")}}
	p := NewProcessor(c, store, nil)
	m := NewMessage("k2", job(), time.Now())
	var pe *PermanentError
	if _, err := p.Run(ctx, m); !errors.As(err, &pe) {
		t.Fatalf("Run with a permanent failure = %v, want *PermanentError", err)
	}
	res, err := p.Run(ctx, m)
	if err != nil || !res.Replayed || res.Outcome != OutcomeFailedPermanent || !strings.Contains(res.Failure, "45359") {
		t.Errorf("duplicate of a failed event = %+v, %v; want the recorded failure", res, err)
	}
	if c.calls != 1 {
		t.Errorf("closer ran %d times, want 1", c.calls)
	}
}

func TestInProgress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := idempotencytest.NewMemory(idempotency.Options{})
	m := NewMessage("k3", job(), time.Now())
	if _, err := store.Begin(ctx, m.Key, m.PayloadHash, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	p := NewProcessor(&scripted{}, store, nil)
	if _, err := p.Run(ctx, m); !errors.Is(err, ErrInProgress) {
		t.Errorf("Run while another delivery holds the key = %v, want ErrInProgress", err)
	}
	if _, _, err := p.Check(ctx, m); !errors.Is(err, ErrInProgress) {
		t.Errorf("Check while in progress = %v, want ErrInProgress", err)
	}
}

func TestDryRunDoesNotConsumeTheKey(t *testing.T) {
	ctx := context.Background()
	store := idempotencytest.NewMemory(idempotency.Options{})
	c := &scripted{results: []channelclose.Result{{Outcome: channelclose.DryRun}, {Outcome: channelclose.Closed}}}
	p := NewProcessor(c, store, nil)
	m := NewMessage("k4", job(), time.Now())
	if res, err := p.Run(ctx, m); err != nil || res.Outcome != channelclose.DryRun {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if res, err := p.Run(ctx, m); err != nil || res.Outcome != channelclose.Closed || res.Replayed {
		t.Errorf("real run after a dry run = %+v, %v; want a real close", res, err)
	}
}

func TestNoStore(t *testing.T) {
	c := &scripted{results: []channelclose.Result{{Outcome: channelclose.Closed}, {Outcome: channelclose.AlreadyClosed}}, errs: []error{nil, nil, errors.New("perm")}}
	p := NewProcessor(c, nil, nil)
	m := NewMessage("k5", job(), time.Now())
	for _, want := range []channelclose.Outcome{channelclose.Closed, channelclose.AlreadyClosed} {
		if res, err := p.Run(context.Background(), m); err != nil || res.Outcome != want || res.Replayed {
			t.Errorf("Run without a store = %+v, %v; want %s", res, err, want)
		}
	}
	var pe *PermanentError
	if _, err := p.Run(context.Background(), m); !errors.As(err, &pe) {
		t.Errorf("permanent failure without a store = %v", err)
	}
	if _, ok, err := p.Check(context.Background(), m); ok || err != nil {
		t.Errorf("Check without a store = %v, %v", ok, err)
	}
}

func TestConfigErrorsAreNotRecorded(t *testing.T) {
	ctx := context.Background()
	for name, err := range map[string]error{
		"twilio 401":       &flex.Error{Status: 401},
		"twilio 403":       &flex.Error{Status: 403},
		"malformed secret": &secrets.FormatError{Field: "auth_token", Reason: "is required"},
		"denied secret":    &secrets.FetchError{SecretID: "s", Code: "AccessDeniedException"},
	} {
		t.Run(name, func(t *testing.T) {
			if !ConfigError(err) {
				t.Fatalf("ConfigError(%v) = false", err)
			}
			store := idempotencytest.NewMemory(idempotency.Options{})
			c := &scripted{errs: []error{err, nil}, results: []channelclose.Result{{}, {Outcome: channelclose.Closed}}}
			p := NewProcessor(c, store, nil)
			m := NewMessage("k-"+name, job(), time.Now())
			_, got := p.Run(ctx, m)
			var pe *PermanentError
			if got == nil || errors.As(got, &pe) {
				t.Fatalf("Run = %v, want the configuration error, not recorded as permanent", got)
			}
			// Once the deployment is fixed, the event still closes.
			if res, err := p.Run(ctx, m); err != nil || res.Outcome != channelclose.Closed || res.Replayed {
				t.Errorf("after the fix: %+v, %v; want a real close", res, err)
			}
		})
	}
	if ConfigError(&flex.Error{Status: 400}) || ConfigError(errors.New("x")) {
		t.Errorf("ConfigError is too wide")
	}
}

// Done tells a key recorded as finished, whatever its payload, from one
// unknown, released or still in progress.
func TestDoneWhateverThePayload(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		name  string
		setup func(p *Processor, store *idempotencytest.Memory, m Message)
		want  bool
	}{
		{"unknown key", func(*Processor, *idempotencytest.Memory, Message) {}, false},
		{"finished", func(p *Processor, _ *idempotencytest.Memory, m Message) { _, _ = p.Run(ctx, m) }, true},
		{"in progress", func(_ *Processor, store *idempotencytest.Memory, m Message) {
			_, _ = store.Begin(ctx, m.Key, m.PayloadHash, time.Now().Add(time.Minute))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := idempotencytest.NewMemory(idempotency.Options{})
			p := NewProcessor(&scripted{results: []channelclose.Result{{Outcome: channelclose.Closed}}}, store, nil)
			m := NewMessage("k-done", job(), time.Now())
			tt.setup(p, store, m)
			if got, err := p.Done(ctx, m.Key); got != tt.want || err != nil {
				t.Errorf("Done(%q) = %v, %v; want %v", m.Key, got, err, tt.want)
			}
		})
	}
	if got, err := NewProcessor(&scripted{}, nil, nil).Done(ctx, "k"); got || err != nil {
		t.Errorf("Done without a store = %v, %v; want false", got, err)
	}
}
