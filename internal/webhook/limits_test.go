package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/taskrouter"
	"github.com/flexhook/flexhook/internal/testing/hostile"
)

// The resource limits, each at its edge: the body cap (MaxBody, after
// base64 decoding) and the JSON nesting caps of task attributes and CRM
// bodies (32 levels). One step past each edge is refused; the edge itself
// is not.
func TestResourceLimits(t *testing.T) {
	e := newEdge(t, nil)
	withAttrs := func(attrs string) url.Values {
		f := e.form("task.canceled", e.task)
		f.Set("TaskAttributes", attrs)
		return f
	}
	// A form body of exactly n bytes that is a valid event: padding goes in
	// an extra field, which the signature covers.
	bodyOf := func(n int) []byte {
		f := e.form("task.created", e.task)
		f.Set("Pad", "")
		pad := n - len(f.Encode())
		f.Set("Pad", strings.Repeat("p", pad))
		if got := len(f.Encode()); got != n {
			t.Fatalf("padded body is %d bytes, want %d", got, n)
		}
		return e.signed(f, authToken)
	}
	tests := []struct {
		name    string
		payload []byte
		status  int
	}{
		{"body at the cap", bodyOf(MaxBody), http.StatusNoContent},
		{"body one byte over the cap", bodyOf(MaxBody + 1), http.StatusRequestEntityTooLarge},
		{"attributes nested 32 deep", e.signed(withAttrs(hostile.NestedObject("a", 32)), authToken), http.StatusNoContent},
		{"attributes nested 33 deep", e.signed(withAttrs(hostile.NestedObject("a", 33)), authToken), http.StatusBadRequest},
		{"attributes arrays 32 deep", e.signed(withAttrs(`{"a":`+hostile.Nested(31)+`}`), authToken), http.StatusNoContent},
		{"attributes arrays 33 deep", e.signed(withAttrs(`{"a":`+hostile.Nested(32)+`}`), authToken), http.StatusBadRequest},
		{"CRM body nested 32 deep", e.signedCRM(`{"interaction_sid":"` + edgeKD + `","channel_sid":"` + edgeUO + `","x":` + hostile.Nested(31) + `}`), http.StatusOK},
		{"CRM body nested 33 deep", e.signedCRM(`{"interaction_sid":"` + edgeKD + `","channel_sid":"` + edgeUO + `","x":` + hostile.Nested(32) + `}`), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := e.invoke(context.Background(), tt.payload); r.Status != tt.status {
				t.Errorf("status = %d %s, want %d", r.Status, r.Body, tt.status)
			}
		})
	}
	if crm.MaxDepth != 32 || maxAttributesDepthForTest() != 32 {
		t.Errorf("JSON depth caps = crm %d, attributes %d; want 32 and 32", crm.MaxDepth, maxAttributesDepthForTest())
	}
}

// maxAttributesDepthForTest finds the attributes cap through
// ChannelFromAttributes: the deepest nesting it still parses.
func maxAttributesDepthForTest() int {
	for d := 1; d < 100; d++ {
		var fe *taskrouter.FieldError
		if _, _, err := taskrouter.ChannelFromAttributes(hostile.Nested(d)); errors.As(err, &fe) && strings.Contains(fe.Reason, "nested") {
			return d - 1
		}
	}
	return -1
}

// A Twilio API that accepts the connection and then never answers in time
// (a slowloris-like upstream) cannot hold a request past its deadline: the
// Twilio client stops early enough to answer 503 with Retry-After, and the
// next request, once Twilio is back, works.
func TestSlowTwilioAnswersBeforeDeadline(t *testing.T) {
	e := newEdgeClock(t, nil, true)
	ch, task := e.newChannel(flextest.TaskCanceled)
	e.fake.Inject(flextest.Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r := e.invoke(ctx, e.signed(e.form("task.canceled", task), authToken))
	if r.Status != http.StatusServiceUnavailable || r.Header["Retry-After"] == "" {
		t.Fatalf("with Twilio hanging: %d %v %s, want 503 with Retry-After", r.Status, r.Header, r.Body)
	}
	if e.status(ch) != flextest.ChannelActive {
		t.Fatalf("channel %s after a request that never reached Twilio", e.status(ch))
	}
	for _, req := range e.fake.Requests() {
		if req.Status != 0 {
			t.Errorf("Twilio answered %s %s with %d during the outage", req.Method, req.Path, req.Status)
		}
	}
	e.fake.ClearFaults()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if r := e.invoke(ctx2, e.signed(e.form("task.canceled", task), authToken)); r.Status != http.StatusNoContent || e.status(ch) != flextest.ChannelClosed {
		t.Errorf("after Twilio recovered: %d %s, channel %s", r.Status, r.Body, e.status(ch))
	}
}
