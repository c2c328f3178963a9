package faults

import (
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// Failure is one kind of Twilio failure FlakyTwilio injects: a flextest
// fault, answered once, to the request it picks.
type Failure struct {
	// Name labels the failure in the figures, such as "503".
	Name string
	// Weight is the failure's share among the injected ones, relative to
	// the others' weights.
	Weight int
	// Fault is the answer. Method, Path and Times are set per request.
	Fault flextest.Fault
}

// DefaultFailures are the failures of the replay: 503s and 502 HTML pages,
// and 429s without Retry-After, which the worker's Twilio client retries
// within the delivery with backoff, and 429s with a Retry-After longer than
// the worker's timeout, which make the delivery fail at once, so the job
// goes back to the queue and comes again.
func DefaultFailures() []Failure {
	return []Failure{
		{Name: "503", Weight: 30, Fault: flextest.Unavailable(1)},
		{Name: "429", Weight: 20, Fault: flextest.RateLimited(0, 1)},
		{Name: "429 Retry-After 60s", Weight: 30, Fault: flextest.RateLimited(time.Minute, 1)},
		{Name: "502 HTML", Weight: 20, Fault: flextest.BadGateway(1)},
	}
}

// FlakyOptions configure a FlakyTwilio.
type FlakyOptions struct {
	// Share is the share (0 to 1) of requests answered with a failure.
	Share float64
	// Seed seeds the generator that picks the failed requests and the
	// failures.
	Seed uint64
	// Failures are the failures to pick from (default DefaultFailures).
	Failures []Failure
	// Spare, when set, names requests never to fail, by path: those of
	// channels that already have faults of their own.
	Spare func(path string) bool
}

// Close is a close effect: a request that moved a channel from open to
// closed or inactive, at its place on the timeline.
type Close struct {
	ChannelSID string
	Seq        int
}

// FlakyTwilio serves the Twilio simulator, failing a share of the
// requests with injected flextest faults. It serves one request at a time
// and numbers each request, and each change Do makes to the simulated
// world, on one timeline, and it records the close effects on it: what
// LiveCloses needs to find a close made while another task was live. It is
// safe for concurrent use.
type FlakyTwilio struct {
	sim      *flextest.Server
	failures []Failure
	weights  []int // the failures' weights
	share    float64
	spare    func(string) bool

	mu       sync.Mutex
	rng      *mrand.Rand
	seq      int
	requests int
	injected map[string]int
	closes   []Close
}

// NewFlakyTwilio returns a FlakyTwilio in front of sim.
func NewFlakyTwilio(sim *flextest.Server, o FlakyOptions) *FlakyTwilio {
	if len(o.Failures) == 0 {
		o.Failures = DefaultFailures()
	}
	f := &FlakyTwilio{sim: sim, failures: o.Failures, share: o.Share, spare: o.Spare,
		rng: mrand.New(mrand.NewPCG(o.Seed, o.Seed^0x7477696c696f)), injected: map[string]int{}}
	for _, fl := range o.Failures {
		f.weights = append(f.weights, fl.Weight)
	}
	return f
}

// Do runs change, a change of the simulated world such as a task ending,
// between two requests, and returns its place on the timeline.
func (f *FlakyTwilio) Do(change func()) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	change()
	return f.seq
}

// ServeHTTP implements http.Handler.
func (f *FlakyTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.requests++
	if f.share > 0 && slices.Max(f.weights) > 0 && f.rng.Float64() < f.share && (f.spare == nil || !f.spare(r.URL.Path)) {
		fl := f.failures[draw(f.rng, f.weights)]
		fault := fl.Fault
		fault.Method, fault.Path, fault.Times = r.Method, r.URL.Path, 1
		f.sim.Inject(fault)
		f.injected[fl.Name]++
	}
	kd, uo, isClose := closePath(r.Method, r.URL.Path)
	before := ""
	if isClose {
		c, _ := f.sim.Channel(kd, uo)
		before = c.Status
	}
	f.sim.ServeHTTP(w, r)
	if isClose {
		if c, _ := f.sim.Channel(kd, uo); !closedStatus(before) && closedStatus(c.Status) {
			f.closes = append(f.closes, Close{ChannelSID: uo, Seq: f.seq})
		}
	}
}

// draw returns an index of weights, each drawn with its weight's share of
// their sum, which must be positive.
func draw(rng *mrand.Rand, weights []int) int {
	sum := 0
	for _, w := range weights {
		sum += w
	}
	n := rng.IntN(sum)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	return len(weights) - 1
}

// total returns the sum of the counts of m.
func total[K comparable](m map[K]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// FlakyStats count what a FlakyTwilio did.
type FlakyStats struct {
	Requests int            // requests served
	Injected map[string]int // injected failures, by Failure.Name
}

// Total returns the number of injected failures.
func (s FlakyStats) Total() int { return total(s.Injected) }

// Stats returns the counts so far.
func (f *FlakyTwilio) Stats() FlakyStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return FlakyStats{Requests: f.requests, Injected: maps.Clone(f.injected)}
}

// Closes returns the close effects so far, in timeline order.
func (f *FlakyTwilio) Closes() []Close {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Close(nil), f.closes...)
}

// closePath reports a POST to an Interaction Channel, the close request,
// with its SIDs.
func closePath(method, p string) (kd, uo string, ok bool) {
	seg := strings.Split(strings.Trim(p, "/"), "/")
	if method != http.MethodPost || len(seg) != 5 || seg[1] != "Interactions" || seg[3] != "Channels" {
		return "", "", false
	}
	return seg[2], seg[4], true
}

func closedStatus(s string) bool { return s == flextest.ChannelClosed || s == flextest.ChannelInactive }

// Life is when a task was live (pending, reserved, assigned or wrapping)
// on the timeline: from Start until End, or still when End is 0.
type Life struct {
	TaskSID    string
	ChannelSID string
	Start, End int
}

// LiveCloses returns the close effects made while a task of the channel
// was live: a close at Seq s is one if a Life of its channel has Start < s
// and no End before s. It is what the live-task guard must prevent: for a
// task's terminal event the guard leaves that task out, but its Life has
// ended before the event is sent, so it never counts.
func LiveCloses(closes []Close, lives []Life) []Close {
	var bad []Close
	for _, c := range closes {
		if slices.ContainsFunc(lives, func(l Life) bool {
			return l.ChannelSID == c.ChannelSID && l.Start < c.Seq && (l.End == 0 || l.End > c.Seq)
		}) {
			bad = append(bad, c)
		}
	}
	return bad
}

// String renders a Close for a test failure.
func (c Close) String() string { return fmt.Sprintf("close of %s at %d", c.ChannelSID, c.Seq) }
