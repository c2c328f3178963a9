package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"sync"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/apigateway"
	"github.com/flexhook/flexhook/internal/local/emulator"
)

// keep bounds how many recent summaries, traces and observations are kept
// for look-up; older ones are forgotten first.
const keep = 256

// maxLine bounds a log line kept for parsing; longer lines are forwarded but
// not parsed.
const maxLine = 64 << 10

// Summary is the function's summary log line of one request (the line with
// message "request" the webhook writes once per invocation).
type Summary struct {
	RequestID   string `json:"requestId"`
	Route       string `json:"route"`
	Outcome     string `json:"outcome"`
	Status      int    `json:"status"`
	EventType   string `json:"event_type"`
	TaskSID     string `json:"task_sid"`
	ChannelSID  string `json:"channel_sid"`
	Reason      string `json:"reason"`
	LiveTaskSID string `json:"live_task_sid"`
	Attempts    int    `json:"attempts"`
	Error       string `json:"error"`
}

// recent is a bounded map from id to value, oldest forgotten first, whose
// readers can wait for an id, or for values put after a mark, to arrive.
type recent[V any] struct {
	mu      sync.Mutex
	limit   int // how many ids are kept
	items   map[string]V
	order   []string
	added   int           // ids ever put
	changed chan struct{} // closed and replaced on every put
}

func newRecent[V any]() *recent[V] {
	return &recent[V]{limit: keep, items: map[string]V{}, changed: make(chan struct{})}
}

func (r *recent[V]) put(id string, v V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.putLocked(id, v)
}

// add puts v under the next sequence number.
func (r *recent[V]) add(v V) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.putLocked(strconv.Itoa(r.added), v)
}

func (r *recent[V]) putLocked(id string, v V) {
	if _, ok := r.items[id]; !ok {
		r.added++
		r.order = append(r.order, id)
		if len(r.order) > r.limit {
			delete(r.items, r.order[0])
			r.order = r.order[1:]
		}
	}
	r.items[id] = v
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recent[V]) get(id string) (V, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.items[id]
	return v, ok
}

// mark returns how many ids were ever put: pass it to since and its waits.
func (r *recent[V]) mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.added
}

// since returns the values of the ids first put after mark, in order.
func (r *recent[V]) since(mark int) []V {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sinceLocked(mark)
}

func (r *recent[V]) sinceLocked(mark int) []V {
	ids := r.order[max(0, len(r.order)-(r.added-mark)):]
	out := make([]V, 0, len(ids))
	for _, id := range ids {
		out = append(out, r.items[id])
	}
	return out
}

// await calls done, with r locked, now and after every put until it
// returns true, or ctx ends; it reports whether done returned true.
func (r *recent[V]) await(ctx context.Context, done func() bool) bool {
	for {
		r.mu.Lock()
		ok, changed := done(), r.changed
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// waitSince returns the values of the ids put after mark, in the order
// they were first put, once there are n of them, or those so far and false
// when ctx ends.
func (r *recent[V]) waitSince(ctx context.Context, mark, n int) ([]V, bool) {
	var out []V
	ok := r.await(ctx, func() bool { out = r.sinceLocked(mark); return len(out) >= n })
	return out, ok
}

// waitMatch returns the first value put after mark that match accepts,
// waiting for it until ctx ends.
func (r *recent[V]) waitMatch(ctx context.Context, mark int, match func(V) bool) (V, bool) {
	var v V
	ok := r.await(ctx, func() bool {
		for _, x := range r.sinceLocked(mark) {
			if match(x) {
				v = x
				return true
			}
		}
		return false
	})
	return v, ok
}

// wait returns the value for id once it is there, or false when ctx ends.
func (r *recent[V]) wait(ctx context.Context, id string) (V, bool) {
	return r.waitUntil(ctx, id, func(V) bool { return true })
}

// waitUntil returns the value for id once it is there and ok accepts it,
// or the value so far (possibly zero) and false when ctx ends.
func (r *recent[V]) waitUntil(ctx context.Context, id string, ok func(V) bool) (V, bool) {
	var v V
	done := r.await(ctx, func() bool {
		var found bool
		v, found = r.items[id]
		return found && ok(v)
	})
	return v, done
}

// logTap reads the function's output, line by line, keeping the webhook's
// summary lines and the worker's job lines by request id and forwarding
// everything to an optional writer.
type logTap struct {
	forward   io.Writer
	summaries *recent[Summary]
	jobs      *recent[[]Job] // a worker invocation's job lines, in order

	mu      sync.Mutex
	partial []byte
}

func newLogTap(forward io.Writer) *logTap {
	return &logTap{forward: forward, summaries: newRecent[Summary](), jobs: newRecent[[]Job]()}
}

// Write implements io.Writer. It never fails: a forward writer's error is
// ignored so that the function's output keeps flowing.
func (l *logTap) Write(p []byte) (int, error) {
	if l.forward != nil {
		_, _ = l.forward.Write(p)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for line, rest, ok := bytes.Cut(l.partial, []byte("\n")); ok; line, rest, ok = bytes.Cut(rest, []byte("\n")) {
		l.parse(line)
		l.partial = rest
	}
	if len(l.partial) > maxLine {
		l.partial = l.partial[:0]
	}
	if len(l.partial) == 0 {
		l.partial = nil // let the consumed buffer go
	}
	return len(p), nil
}

// parse keeps line if it is a summary line or a job line.
func (l *logTap) parse(line []byte) {
	var head struct {
		Message   string `json:"message"`
		RequestID string `json:"requestId"`
	}
	if json.Unmarshal(line, &head) != nil || head.RequestID == "" {
		return // the emulator's START, END and REPORT lines, among others
	}
	switch head.Message {
	case "request":
		var s Summary
		if json.Unmarshal(line, &s) == nil {
			l.summaries.put(s.RequestID, s)
		}
	case "job":
		var j Job
		if json.Unmarshal(line, &j) == nil {
			prev, _ := l.jobs.get(j.RequestID) // l.mu serializes the writers
			l.jobs.put(j.RequestID, append(prev[:len(prev):len(prev)], j))
		}
	}
}

// tracedFunction invokes the function and records the Twilio simulator
// requests each invocation made, by Lambda request id. It serializes
// invocations, which the emulator requires anyway, so that every request in
// the function's tap between two invocations belongs to the one between.
type tracedFunction struct {
	fn    apigateway.Invoker
	calls *twilioTap // the function's view of the simulator; nil in RealTwilio mode

	mu      sync.Mutex
	traces  *recent[trace]
	invoked bool
}

// trace is what tracedFunction knows of one invocation.
type trace struct {
	calls []flextest.Request // nil without a simulator
	cold  bool               // the first invocation, which started the function
}

// Invoke implements apigateway.Invoker.
func (t *tracedFunction) Invoke(ctx context.Context, payload []byte) (emulator.Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.calls != nil {
		t.calls.reset()
	}
	res, err := t.fn.Invoke(ctx, payload)
	if err != nil {
		return res, err
	}
	tr := trace{cold: !t.invoked}
	t.invoked = true
	if t.calls != nil {
		tr.calls = t.calls.requests()
	}
	t.traces.put(res.RequestID, tr)
	return res, nil
}

// Observation is what one request through the local gateway did, put
// together from the gateway's exchange, the function's summary log line and
// the Twilio simulator's request log.
type Observation struct {
	// Exchange is the gateway's account of the request.
	Exchange apigateway.Exchange
	// Summary is the function's summary line; nil when none was seen (the
	// function was not invoked, crashed, or logs elsewhere).
	Summary *Summary
	// FlexCalls are the requests the function sent to the Twilio simulator
	// while serving this request; nil in RealTwilio mode.
	FlexCalls []flextest.Request
	// ColdStart marks the first invocation, which started the function.
	ColdStart bool
}
