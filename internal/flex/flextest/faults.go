package flextest

import (
	"cmp"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fault makes the fake answer matching requests with an error, late, or
// both, instead of serving them. A request answered by a fault has no effect
// on channels or tasks, as Twilio documents for 429 ("aren't processed").
// Faults are checked before authentication, as an overloaded edge or a
// proxy in front of Twilio would answer.
type Fault struct {
	// Method is the HTTP method to match; empty matches any.
	Method string
	// Path is matched segment by segment against the request path, as a
	// prefix: "/v1/Interactions" matches every channel request, and a "*"
	// segment matches any one segment, so "/v1/Interactions/*/Channels/UO…"
	// matches one channel in any interaction. Each segment is a path.Match
	// pattern. Empty matches any path.
	Path string
	// Status is the HTTP status to answer. It must be 3xx, 4xx or 5xx, or
	// 0 with a Delay, in which case the request is served normally after the
	// delay. A 2xx status is not allowed: a success must come from the
	// fake's real behaviour.
	Status int
	// Code is the Twilio error code of the JSON body; 0 means 20000+Status
	// (20429, 20500, 20503...), Twilio's generic codes.
	Code int
	// Message is the message of the JSON body; empty means the HTTP status
	// text.
	Message string
	// RawBody, when set, is sent as the body instead of Twilio error JSON,
	// without a Twilio-Request-Id header, as an intermediary would answer.
	// Its Content-Type is text/html when it starts with "<", else text/plain.
	RawBody string
	// Header holds headers to add to the answer, such as Retry-After. They
	// override the fake's own.
	Header http.Header
	// Times is how many matching requests the fault answers; 0 means every
	// matching request until ClearFaults.
	Times int
	// Delay is how long to wait before answering. If the request's context
	// ends first, the fake stops waiting and answers nothing.
	Delay time.Duration
}

// RateLimited returns a fault answering 429 with code 20429 and a
// Retry-After header of retryAfter in whole seconds (rounded up; no header
// when retryAfter is not positive), times times (0: until cleared).
func RateLimited(retryAfter time.Duration, times int) Fault {
	f := Fault{Status: http.StatusTooManyRequests, Code: 20429, Message: "Too Many Requests", Times: times}
	if retryAfter > 0 {
		secs := int64((retryAfter + time.Second - 1) / time.Second)
		f.Header = http.Header{"Retry-After": {strconv.FormatInt(secs, 10)}}
	}
	return f
}

// Unavailable returns a fault answering 503 with code 20503 and Twilio
// error JSON, times times (0: until cleared).
func Unavailable(times int) Fault {
	return Fault{Status: http.StatusServiceUnavailable, Code: 20503, Message: "Service Unavailable", Times: times}
}

// BadGateway returns a fault answering 502 with an HTML page, as a load
// balancer in front of Twilio does, times times (0: until cleared). twilio-go
// cannot decode it into a *client.TwilioRestError.
func BadGateway(times int) Fault {
	return Fault{
		Status:  http.StatusBadGateway,
		RawBody: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
		Times:   times,
	}
}

// Inject adds f. Faults are tried in the order they were injected; the
// first one that matches a request and has uses left answers it. Inject
// panics if f is invalid: a 1xx or 2xx status, a 0 status without Delay, a
// negative Times or Delay, or a bad Path pattern.
func (s *Server) Inject(f Fault) {
	mustf(f.Status != 0 || f.Delay > 0, "Inject: a fault needs a Status or a Delay")
	mustf(f.Status == 0 || (f.Status >= 300 && f.Status <= 599), "Inject: status %d is not an error status", f.Status)
	mustf(f.Times >= 0 && f.Delay >= 0, "Inject: negative Times or Delay")
	for _, seg := range splitPath(f.Path) {
		_, err := path.Match(seg, "")
		mustf(err == nil, "Inject: bad path pattern %q: %v", f.Path, err)
	}
	f.Header = f.Header.Clone()
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// takeFault returns the fault that answers a request, using it up once.
func (s *Server) takeFault(method, p string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	segs := splitPath(p)
	for i, f := range s.faults {
		if !f.matches(method, segs) {
			continue
		}
		// An injected fault's Times counts the answers it has left.
		if f.Times > 0 {
			if f.Times--; f.Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return *f, true
	}
	return Fault{}, false
}

func (f *Fault) matches(method string, segs []string) bool {
	pattern := splitPath(f.Path)
	if (f.Method != "" && !strings.EqualFold(f.Method, method)) || len(pattern) > len(segs) {
		return false
	}
	for i, pat := range pattern {
		if ok, _ := path.Match(pat, segs[i]); !ok {
			return false
		}
	}
	return true
}

// response returns the answer of a fault with a status.
func (f Fault) response() *response {
	resp := twilioError(f.Status, cmp.Or(f.Code, 20000+f.Status), cmp.Or(f.Message, http.StatusText(f.Status)))
	if f.RawBody != "" {
		ct := "text/plain; charset=utf-8"
		if strings.HasPrefix(strings.TrimSpace(f.RawBody), "<") {
			ct = "text/html; charset=utf-8"
		}
		resp = &response{status: f.Status, header: http.Header{"Content-Type": {ct}}, body: []byte(f.RawBody)}
	}
	maps.Copy(resp.header, f.Header)
	return resp
}
