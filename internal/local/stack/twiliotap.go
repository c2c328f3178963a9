package stack

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// tapLogLimit bounds the requests a tap keeps between two resets.
const tapLogLimit = 4096

// twilioTap serves the Twilio simulator to one function on a port of its
// own and keeps the requests that function made. The webhook and the worker
// each get a tap, so that their calls are told apart while both run, without
// resetting the simulator's own log and close counters.
type twilioTap struct {
	sim *flextest.Server

	mu  sync.Mutex
	log []flextest.Request
}

// ServeHTTP implements http.Handler: the simulator answers, and the request
// is recorded before its answer reaches the function.
func (t *twilioTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t.sim.ServeHTTP(&tapWriter{ResponseWriter: w, tap: t, req: flextest.Request{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Time: time.Now(),
	}}, r)
}

func (t *twilioTap) record(r flextest.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.log) >= tapLogLimit {
		t.log = t.log[1:]
	}
	t.log = append(t.log, r)
}

// reset forgets the recorded requests.
func (t *twilioTap) reset() {
	t.mu.Lock()
	t.log = nil
	t.mu.Unlock()
}

// requests returns a copy of the recorded requests, oldest first: empty,
// not nil, when there are none.
func (t *twilioTap) requests() []flextest.Request {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]flextest.Request{}, t.log...)
}

// tapWriter records its request, with the status, when the status is
// written: before the client can have its answer.
type tapWriter struct {
	http.ResponseWriter
	tap      *twilioTap
	req      flextest.Request
	recorded bool
}

// WriteHeader records the request with status, then writes the status.
func (w *tapWriter) WriteHeader(status int) {
	if !w.recorded {
		w.recorded = true
		w.req.Status = status
		w.tap.record(w.req)
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write records the request as answered 200 if no status was written.
func (w *tapWriter) Write(p []byte) (int, error) {
	if !w.recorded {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// serveTap serves a new tap of the simulator on a free loopback port and
// returns it with its base URL; the System stops it on Close.
func (s *System) serveTap() (*twilioTap, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("start the Twilio simulator: %w", err)
	}
	tap := &twilioTap{sim: s.twilio}
	s.closers = append(s.closers, serve(&http.Server{Handler: tap, ReadHeaderTimeout: 10 * time.Second}, ln))
	return tap, "http://" + ln.Addr().String(), nil
}
