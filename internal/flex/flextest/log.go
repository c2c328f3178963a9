package flextest

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// Request is one request the fake received, as kept in its log.
type Request struct {
	Method, Path string
	Query        url.Values
	Form         url.Values // the form body parameters of a POST
	// User is the Basic-auth username, whether accepted or not. The
	// password is never recorded.
	User string
	// Status is the HTTP status answered; 0 when the client went away
	// during a fault's Delay and nothing was answered.
	Status    int
	Fault     bool      // an injected fault matched the request
	RequestID string    // the Twilio-Request-Id answered, if any
	Time      time.Time // when the request arrived, by the server's clock
}

// record appends rec to the log, dropping the oldest entries beyond the
// log limit.
func (s *Server) record(rec Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, rec)
	if s.o.LogLimit > 0 && len(s.log) > s.o.LogLimit {
		s.log = slices.Delete(s.log, 0, len(s.log)-s.o.LogLimit)
	}
}

// Requests returns a copy of the request log, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.log))
	for i, r := range s.log {
		r.Query = cloneValues(r.Query)
		r.Form = cloneValues(r.Form)
		out[i] = r
	}
	return out
}

// Reset empties the request log and the close counters. Channels, tasks,
// credentials and faults are kept.
func (s *Server) Reset() {
	s.mu.Lock()
	s.log = nil
	clear(s.closeCounts)
	s.mu.Unlock()
}

// Count returns how many logged requests have the given method (empty: any)
// and a path starting with pathPrefix (a plain string prefix).
func (s *Server) Count(method, pathPrefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.log {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, pathPrefix) {
			n++
		}
	}
	return n
}

// CloseCount returns how many updates of channel uo changed its status to
// closed or inactive since the last Reset: the number of real close
// effects. Repeated closes answered 200 under RepeatCloseOK do not count.
func (s *Server) CloseCount(uo string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeCounts[uo]
}
