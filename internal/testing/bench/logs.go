package bench

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// invocation is what the emulator's output says about one invocation.
type invocation struct {
	// From the REPORT line.
	reported bool
	duration float64 // Duration, ms
	init     float64 // Init Duration, ms; 0 on a warm invocation
	// From the EMF line after the function's summary log line; nil
	// until it is written.
	emf     map[string]any
	latency float64 // EMF Latency, ms
	flex    float64 // EMF FlexLatency, ms
}

// logs parses the emulator's output line by line as it is written and
// lets the harness wait for the lines of one invocation.
type logs struct {
	mu      sync.Mutex
	partial []byte
	byID    map[string]*invocation
	lastID  string        // request id of the last summary line
	changed chan struct{} // closed and replaced whenever a line is parsed
}

func newLogs() *logs {
	return &logs{byID: map[string]*invocation{}, changed: make(chan struct{})}
}

// Write consumes output; it never fails.
func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		line, rest, ok := bytes.Cut(l.partial, []byte("\n"))
		if !ok {
			break
		}
		l.parse(line)
		l.partial = rest
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

var reportLine = regexp.MustCompile(`^REPORT RequestId: (\S+)\t(?:Init Duration: ([0-9.]+) ms\t)?Duration: ([0-9.]+) ms`)

// parse records one line; l.mu is held.
func (l *logs) parse(line []byte) {
	if m := reportLine.FindSubmatch(line); m != nil {
		inv := l.get(string(m[1]))
		inv.reported = true
		inv.duration, _ = strconv.ParseFloat(string(m[3]), 64)
		if len(m[2]) > 0 {
			inv.init, _ = strconv.ParseFloat(string(m[2]), 64)
		}
		return
	}
	if !bytes.HasPrefix(line, []byte(`{"`)) {
		return
	}
	var rec map[string]any
	if json.Unmarshal(line, &rec) != nil {
		return
	}
	if _, ok := rec["_aws"]; ok {
		// The EMF line follows the summary line of its request: both are
		// written, in this order, by the one invocation in flight.
		if l.lastID == "" {
			return
		}
		inv := l.get(l.lastID)
		inv.emf = rec
		inv.latency, _ = rec["Latency"].(float64)
		inv.flex, _ = rec["FlexLatency"].(float64)
		return
	}
	if rec["message"] == "request" {
		if id, ok := rec["requestId"].(string); ok {
			l.lastID = id
		}
	}
}

func (l *logs) get(id string) *invocation {
	inv := l.byID[id]
	if inv == nil {
		inv = &invocation{}
		l.byID[id] = inv
	}
	return inv
}

// wait returns the invocation's REPORT and EMF figures once both lines
// have been written, or false after timeout.
func (l *logs) wait(id string, timeout time.Duration) (invocation, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		inv := l.byID[id]
		changed := l.changed
		if inv != nil && inv.reported && inv.emf != nil {
			out := *inv
			delete(l.byID, id)
			l.mu.Unlock()
			return out, true
		}
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			return invocation{}, false
		}
	}
}
