package flextest

import (
	"cmp"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flexhook/flexhook/internal/retry"
	"github.com/flexhook/flexhook/internal/sid"
)

// Base URLs of the real Twilio APIs. The fake writes them into the url,
// links and paging fields of its answers, as Twilio does, so a client that
// follows them goes back through its rewriting transport.
const (
	flexURL       = "https://flex-api.twilio.com"
	taskRouterURL = "https://taskrouter.twilio.com"
)

// maxFormBytes bounds the request bodies the fake reads.
const maxFormBytes = 1 << 20

// RepeatClose selects how the fake answers a request to close a channel that
// is already closed (Status=closed or inactive on a closed channel, or
// Status=inactive on an inactive channel). Twilio does not document its answer.
type RepeatClose int

const (
	// RepeatCloseOK answers 200 with the unchanged channel and changes no
	// task. It is the default.
	RepeatCloseOK RepeatClose = iota
	// RepeatCloseError answers 400 with code 45359 and a message saying the
	// channel is already closed.
	RepeatCloseError
)

// Options configures a Server. The zero value is usable but accepts no
// credentials, so every request is answered 401.
type Options struct {
	// AccountSID is written into the account_sid of tasks. When empty, New
	// generates one.
	AccountSID string
	// Credentials maps each accepted Basic-auth username (an account SID or
	// an API key SID) to its password (auth token or key secret). New copies
	// the map.
	Credentials map[string]string
	// RepeatClose selects the answer to closing an already closed channel.
	RepeatClose RepeatClose
	// Now is the clock used for task dates, ages, task retention, events
	// and the request log. It defaults to time.Now. SetNow and Advance move
	// the simulator's clock from there.
	Now func() time.Time
	// Wait blocks for a fault's Delay, or until ctx ends, in which case it
	// returns ctx.Err(). It defaults to a timer; tests replace it to control
	// delays without real time passing.
	Wait func(ctx context.Context, d time.Duration) error
	// LogLimit is the maximum number of requests kept in the log; older
	// entries are dropped first. Zero keeps every request.
	LogLimit int
}

// Server is the fake Twilio API. It implements http.Handler. All its methods
// are safe for concurrent use. Create it with New.
type Server struct {
	o Options // with defaults filled in; creds holds the live credentials

	mu          sync.Mutex
	creds       map[string]string
	channels    map[string]*Channel // by channelKey
	tasks       map[string]*task    // by taskKey
	workspaces  map[string][]*task  // by workspace SID, in insertion order
	byChannel   map[string][]*task  // by flexInteractionChannelSid
	faults      []*Fault
	log         []Request
	closeCounts map[string]int

	// The simulator's clock: base (o.Now, or the time SetNow fixed) plus
	// offset.
	clockMu sync.Mutex
	base    func() time.Time
	offset  time.Duration

	events      map[string][]*Event // by workspace SID, in emission order
	eventSeq    uint64
	callbackURL string
	outbox      []*Event // emitted, not yet sent to callbackURL
	deliverMu   sync.Mutex
	deliveries  []Callback
}

// New returns a Server configured by opts.
func New(opts Options) *Server {
	opts.AccountSID = cmp.Or(opts.AccountSID, NewSID(sid.Account))
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Wait == nil {
		opts.Wait = retry.Sleep
	}
	return &Server{
		o:           opts,
		base:        opts.Now,
		events:      make(map[string][]*Event),
		creds:       maps.Clone(opts.Credentials),
		channels:    make(map[string]*Channel),
		tasks:       make(map[string]*task),
		workspaces:  make(map[string][]*task),
		byChannel:   make(map[string][]*task),
		closeCounts: make(map[string]int),
	}
}

// SetCredentials replaces the accepted credentials, as a rotation of the
// auth token or API key secret does: from now on only creds are accepted.
// The map is copied.
func (s *Server) SetCredentials(creds map[string]string) {
	s.mu.Lock()
	s.creds = maps.Clone(creds)
	s.mu.Unlock()
}

// response is an answer before it is written.
type response struct {
	status int
	header http.Header
	body   []byte
}

// ServeHTTP answers r like the Twilio API would. See the package
// documentation for the endpoints. The request is recorded in the log before
// the answer is written, so a client that has its answer sees it in Requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, _, _ := r.BasicAuth()
	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), User: user, Time: s.Now()}

	var formErr error
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		formErr = r.ParseForm()
		rec.Form = cloneValues(r.PostForm)
	}

	var resp *response
	if f, ok := s.takeFault(r.Method, r.URL.Path); ok {
		rec.Fault = true
		if f.Delay > 0 {
			if err := s.o.Wait(r.Context(), f.Delay); err != nil {
				// The client went away: nobody is left to answer.
				s.record(rec)
				return
			}
		}
		if f.Status != 0 {
			resp = f.response()
		}
	}
	if resp == nil {
		resp = s.handle(r, formErr)
	}
	// Events this request caused (a close, a retention deletion) are
	// delivered as TaskRouter does: after, and apart from, the answer.
	go s.flush()

	h := w.Header()
	maps.Copy(h, resp.header)
	rec.RequestID, rec.Status = h.Get("Twilio-Request-Id"), resp.status
	s.record(rec)

	h.Set("Content-Length", strconv.Itoa(len(resp.body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// handle authenticates and routes one request. The password is compared in
// constant time.
func (s *Server) handle(r *http.Request, formErr error) *response {
	user, pass, hasAuth := r.BasicAuth()
	s.mu.Lock()
	want, known := s.creds[user]
	s.mu.Unlock()
	if !hasAuth || !known || user == "" || subtle.ConstantTimeCompare([]byte(pass), []byte(want)) != 1 {
		resp := twilioError(http.StatusUnauthorized, 20003, "Authenticate")
		resp.header.Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		return resp
	}
	var allow []string
	for _, rt := range routes {
		ids, ok := matchPath(rt.path, r.URL.Path)
		switch {
		case !ok:
		case rt.method != r.Method:
			allow = append(allow, rt.method)
		case formErr != nil:
			return twilioError(http.StatusBadRequest, 20001, "Invalid request body")
		default:
			s.mu.Lock()
			defer s.mu.Unlock()
			s.expire()
			return rt.serve(s, r, ids)
		}
	}
	if allow == nil {
		return notFound(r.URL.Path)
	}
	resp := twilioError(http.StatusMethodNotAllowed, 20004, "Method not allowed")
	resp.header.Set("Allow", strings.Join(allow, ", "))
	return resp
}

// routes are the served requests, each served with s.mu held. "{XX}" in a path is a SID with prefix
// XX: a path whose SIDs do not have the documented format does not match,
// so it answers 404 as on Twilio.
var routes = []struct {
	method, path string
	serve        func(s *Server, r *http.Request, ids []string) *response
}{
	{http.MethodGet, "/v1/Interactions/{KD}/Channels/{UO}", (*Server).serveChannel},
	{http.MethodPost, "/v1/Interactions/{KD}/Channels/{UO}", (*Server).serveChannel},
	{http.MethodGet, "/v1/Workspaces/{WS}/Tasks", (*Server).listTasks},
	{http.MethodGet, "/v1/Workspaces/{WS}/Tasks/{WT}", (*Server).fetchTask},
	{http.MethodGet, "/v1/Workspaces/{WS}/Events", (*Server).listEvents},
}

// matchPath matches p against a route's path and returns its SIDs.
func matchPath(pattern, p string) ([]string, bool) {
	pat, seg := strings.Split(pattern, "/"), strings.Split(p, "/")
	if len(pat) != len(seg) {
		return nil, false
	}
	var ids []string
	for i, x := range pat {
		switch {
		case strings.HasPrefix(x, "{") && sid.Valid(x[1:3], seg[i]):
			ids = append(ids, seg[i])
		case x != seg[i]:
			return nil, false
		}
	}
	return ids, true
}

// apiError is the JSON body of a Twilio error answer.
type apiError struct {
	Code     int    `json:"code"`
	Detail   string `json:"detail,omitempty"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// twilioError returns a Twilio error answer.
func twilioError(status, code int, message string) *response {
	e := apiError{Code: code, Message: message, MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), Status: status}
	if code == 20003 {
		e.Detail = "Your AccountSid or AuthToken was incorrect."
	}
	return jsonResponse(status, e)
}

func notFound(p string) *response {
	return twilioError(http.StatusNotFound, 20404, "The requested resource "+p+" was not found")
}

// jsonResponse returns an answer carrying v as JSON, with the
// Twilio-Request-Id header of an answer that comes from Twilio.
func jsonResponse(status int, v any) *response {
	// Every value passed here is built by this package from strings,
	// numbers and maps of them; a failure is a bug in the fake.
	body, err := json.Marshal(v)
	mustf(err == nil, "encode answer: %v", err)
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}, "Twilio-Request-Id": {"RQ" + randomHex()}}
	return &response{status: status, header: h, body: body}
}

func cloneValues(v url.Values) url.Values {
	c := maps.Clone(v)
	for k, vs := range c {
		c[k] = slices.Clone(vs)
	}
	return c
}

// mustf panics with the message format makes of args unless ok: the methods
// that seed data or inject faults reject what the test wrote wrong.
func mustf(ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf("flextest: "+format, args...))
	}
}

// Errors returned by the methods that change existing resources.
var (
	// ErrNotFound means the channel or task does not exist in the fake.
	ErrNotFound = errors.New("flextest: not found")
	// ErrInvalidStatus means the requested status is not a valid status for
	// the resource, or the resource cannot move to it from its current status.
	ErrInvalidStatus = errors.New("flextest: invalid status")
)
