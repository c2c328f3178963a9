package stack

import (
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
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
// is recorded with its status before the answer reaches the function.
func (t *twilioTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := flextest.Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Time: time.Now()}
	rec := httptest.NewRecorder()
	t.sim.ServeHTTP(rec, r)
	if len(rec.Header()) == 0 {
		return // the function went away during a fault's delay: nothing was answered
	}
	req.Status = rec.Code
	t.record(req)
	maps.Copy(w.Header(), rec.Header())
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
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
