package flextest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/taskrouter"
)

// Retention periods documented by TaskRouter.
const (
	// taskRetention is how long a canceled or completed task is kept: "the
	// Task will be deleted five minutes after moving into this state"
	// (Lifecycle of a Task).
	taskRetention = 5 * time.Minute
	// EventRetention is how long the Events resource keeps an event.
	EventRetention = 30 * 24 * time.Hour
	// defaultEventMinutes is the Events resource's default window when
	// neither StartDate nor Minutes is given.
	defaultEventMinutes = 15
)

// TaskRouter event types the simulator emits.
const (
	EventTaskCreated       = "task.created"
	EventTaskWrapup        = "task.wrapup"
	EventTaskCompleted     = "task.completed"
	EventTaskCanceled      = "task.canceled"
	EventTaskDeleted       = "task.deleted"
	EventTaskSystemDeleted = "task.system-deleted"
	EventWorkflowTimeout   = "workflow.timeout"
)

// Event is a TaskRouter event the simulator emitted: an entry of the
// workspace's Events resource, and the content of one event callback.
type Event struct {
	SID          string // EV…
	Type         string // task.created, task.completed…
	Date         time.Time
	WorkspaceSID string
	Description  string
	// The task as it was when the event happened.
	TaskSID              string
	TaskAttributes       string
	TaskAssignmentStatus string
	TaskChannel          string // task channel unique name
	TaskPriority         int
	TaskDateCreated      time.Time
	// Reason is the cancel or completion reason, when there is one.
	Reason string
	// seq orders events emitted at the same instant.
	seq uint64
}

// Callback is one event callback the simulator sent.
type Callback struct {
	Event Event
	URL   string
	// Status is the HTTP status the receiver answered; 0 when the POST
	// failed, with Err saying why.
	Status int
	Err    string
}

// Now returns the simulator's current time.
func (s *Server) Now() time.Time {
	s.clockMu.Lock()
	defer s.clockMu.Unlock()
	return s.base().Add(s.offset)
}

// SetNow sets the simulator's clock to t; it stays there until the next
// SetNow or Advance. Tasks whose retention ran out by t are deleted, with
// task.system-deleted events dated when their five minutes ended, and the
// callbacks of those events are sent before SetNow returns.
func (s *Server) SetNow(t time.Time) {
	s.clockMu.Lock()
	s.base, s.offset = func() time.Time { return t }, 0
	s.clockMu.Unlock()
	s.tick()
}

// Advance moves the simulator's clock forward by d, with the effects of
// SetNow.
func (s *Server) Advance(d time.Duration) {
	s.clockMu.Lock()
	s.offset += d
	s.clockMu.Unlock()
	s.tick()
}

// tick applies retention at the current time and sends pending callbacks.
func (s *Server) tick() { _ = s.update(func() error { return nil }) }

// update runs fn under the lock with retention applied, then sends the
// callbacks of the events it emitted, and returns fn's error.
func (s *Server) update(fn func() error) error {
	s.mu.Lock()
	s.expire()
	err := fn()
	s.mu.Unlock()
	s.flush()
	return err
}

// SetEventCallbackURL sets (or, with "", clears) the URL that receives the
// event callbacks, like updating a Workspace's EventCallbackUrl.
func (s *Server) SetEventCallbackURL(u string) {
	s.mu.Lock()
	s.callbackURL = u
	s.mu.Unlock()
}

// Events returns the events of workspace ws still kept (30 days), oldest
// first.
func (s *Server) Events(ws string) []Event {
	s.mu.Lock()
	s.expire()
	out := make([]Event, 0, len(s.events[ws]))
	for _, e := range s.events[ws] {
		out = append(out, *e)
	}
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Event) int { return -compareEvents(eventKey(&a), eventKey(&b)) })
	return out
}

// AddEvent stores e in the Events resource of its workspace, as if
// TaskRouter had emitted it, without sending a callback: it seeds history.
// An empty SID is generated and a zero Date is the current time. The task
// fields are taken as given.
func (s *Server) AddEvent(e Event) Event {
	e.SID = cmp.Or(e.SID, NewSID("EV"))
	if e.Date.IsZero() {
		e.Date = s.Now()
	}
	s.AddWorkspace(e.WorkspaceSID)
	c := e
	s.mu.Lock()
	s.eventSeq++
	c.seq = s.eventSeq
	s.events[e.WorkspaceSID] = append(s.events[e.WorkspaceSID], &c)
	s.mu.Unlock()
	return e
}

// Callbacks returns the event callbacks sent so far, in order.
func (s *Server) Callbacks() []Callback {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	return slices.Clone(s.deliveries)
}

// emit records an event about task t at time at, and queues its callback
// when a callback URL is set. s.mu must be held.
func (s *Server) emit(typ string, t *task, at time.Time, desc string) {
	e := &Event{
		SID:                  NewSID("EV"),
		Type:                 typ,
		Date:                 at,
		WorkspaceSID:         t.WorkspaceSID,
		Description:          desc,
		TaskSID:              t.SID,
		TaskAttributes:       t.Attributes,
		TaskAssignmentStatus: t.AssignmentStatus,
		TaskChannel:          t.TaskChannelUniqueName,
		TaskPriority:         t.Priority,
		TaskDateCreated:      t.DateCreated,
		Reason:               t.Reason,
	}
	s.eventSeq++
	e.seq = s.eventSeq
	s.events[t.WorkspaceSID] = append(s.events[t.WorkspaceSID], e)
	if s.callbackURL != "" {
		s.outbox = append(s.outbox, e)
	}
}

// expire deletes the ended tasks whose retention has run out, in the order
// of their deadlines, emitting task.system-deleted dated at the deadline,
// and drops events older than the Events resource keeps. An ended task
// ended when it was last updated. s.mu must be held.
func (s *Server) expire() {
	now := s.Now()
	var due []*task
	for _, ws := range slices.Sorted(maps.Keys(s.workspaces)) {
		for _, t := range s.workspaces[ws] {
			if !liveTask(t.AssignmentStatus) && !now.Before(t.DateUpdated.Add(taskRetention)) {
				due = append(due, t)
			}
		}
	}
	slices.SortStableFunc(due, func(a, b *task) int { return a.DateUpdated.Compare(b.DateUpdated) })
	for _, t := range due {
		s.removeTask(t)
		s.emit(EventTaskSystemDeleted, t, t.DateUpdated.Add(taskRetention), "Task "+t.SID+" deleted after its retention")
	}
	cut := now.Add(-EventRetention)
	for ws, evs := range s.events {
		s.events[ws] = slices.DeleteFunc(evs, func(e *Event) bool { return e.Date.Before(cut) })
	}
}

// flush sends the queued callbacks, one at a time and in order.
func (s *Server) flush() {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	for {
		s.mu.Lock()
		if len(s.outbox) == 0 {
			s.mu.Unlock()
			return
		}
		e, u := *s.outbox[0], s.callbackURL
		s.outbox = s.outbox[1:]
		token := s.creds[s.o.AccountSID]
		s.mu.Unlock()
		if u == "" {
			continue
		}
		s.deliveries = append(s.deliveries, s.send(u, token, e))
	}
}

// CallbackForm returns the form parameters TaskRouter posts for e.
func (s *Server) CallbackForm(e Event) url.Values {
	f := url.Values{}
	f.Set("EventType", e.Type)
	f.Set("AccountSid", s.o.AccountSID)
	f.Set("WorkspaceSid", e.WorkspaceSID)
	f.Set("WorkspaceName", "Flex Task Assignment")
	f.Set("EventDescription", e.Description)
	f.Set("ResourceType", "Task")
	f.Set("ResourceSid", e.TaskSID)
	f.Set("Timestamp", strconv.FormatInt(e.Date.Unix(), 10))
	f.Set("TimestampMs", strconv.FormatInt(e.Date.UnixMilli(), 10))
	f.Set("TaskSid", e.TaskSID)
	f.Set("TaskAttributes", e.TaskAttributes)
	f.Set("TaskAssignmentStatus", e.TaskAssignmentStatus)
	f.Set("TaskChannelUniqueName", e.TaskChannel)
	f.Set("TaskPriority", strconv.Itoa(e.TaskPriority))
	f.Set("TaskAge", strconv.FormatInt(max(0, int64(e.Date.Sub(e.TaskDateCreated)/time.Second)), 10))
	f.Set("TaskDateCreated", strconv.FormatInt(e.TaskDateCreated.Unix(), 10))
	if k, ok := reasonKeys[e.TaskAssignmentStatus]; ok && e.Reason != "" {
		f.Set(k[0], e.Reason)
	}
	return f
}

// send posts one callback and returns what happened.
func (s *Server) send(u, token string, e Event) Callback {
	cb := Callback{Event: e, URL: u}
	form := s.CallbackForm(e)
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err == nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", taskrouter.Sign(token, u, form))
		req.Header.Set("I-Twilio-Idempotency-Token", e.SID)
		req.Header.Set("User-Agent", "TwilioProxy/1.1")
		var resp *http.Response
		// TaskRouter waits 15 seconds for a callback's answer.
		if resp, err = (&http.Client{Timeout: 15 * time.Second}).Do(req); err == nil {
			_ = resp.Body.Close()
			cb.Status = resp.StatusCode
		}
	}
	if err != nil {
		cb.Err = err.Error()
	}
	return cb
}

// eventJSON renders e as an entry of the Events resource as TaskRouter
// answers it. event_data carries the task's fields in snake case; Twilio's
// reference does not list its keys, so this shape is the simulator's
// reading of it.
func (s *Server) eventJSON(e *Event) map[string]any {
	ws := taskRouterURL + "/v1/Workspaces/" + e.WorkspaceSID
	data := map[string]any{
		"task_sid":                 e.TaskSID,
		"task_attributes":          e.TaskAttributes,
		"task_assignment_status":   e.TaskAssignmentStatus,
		"task_channel_unique_name": e.TaskChannel,
		"task_priority":            e.TaskPriority,
		"task_age":                 max(0, int64(e.Date.Sub(e.TaskDateCreated)/time.Second)),
		"task_date_created":        e.TaskDateCreated.UTC().Format(twilioTime),
		"workspace_sid":            e.WorkspaceSID,
	}
	if k, ok := reasonKeys[e.TaskAssignmentStatus]; ok && e.Reason != "" {
		data[k[1]] = e.Reason
	}
	return map[string]any{
		"account_sid":       s.o.AccountSID,
		"actor_sid":         nil,
		"actor_type":        nil,
		"actor_url":         nil,
		"description":       e.Description,
		"event_data":        data,
		"event_date":        e.Date.UTC().Format(twilioTime),
		"event_date_ms":     e.Date.UnixMilli(),
		"event_type":        e.Type,
		"resource_sid":      e.TaskSID,
		"resource_type":     "Task",
		"resource_url":      ws + "/Tasks/" + e.TaskSID,
		"sid":               e.SID,
		"source":            "twilio",
		"source_ip_address": "10.0.0.1",
		"url":               ws + "/Events/" + e.SID,
		"workspace_sid":     e.WorkspaceSID,
	}
}

// reasonKeys are the callback and event data keys of the reason of an
// ended task, by its status.
var reasonKeys = map[string][2]string{
	TaskCanceled:  {"TaskCanceledReason", "task_canceled_reason"},
	TaskCompleted: {"TaskCompletedReason", "task_completed_reason"},
}

// dateParam reads the date parameter name of q, or def when it is absent:
// an ISO 8601 date as twilio-go sends it (RFC 3339), or a plain date.
func dateParam(q url.Values, name string, def time.Time) (time.Time, *response) {
	if !q.Has(name) {
		return def, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, q.Get(name)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badParam(name)
}

// eventKey returns the sort key of e: its date, emission order and SID.
func eventKey(e *Event) pageToken {
	return pageToken{Time: e.Date.UnixNano(), N: int64(e.seq), SID: e.SID}
}

// compareEvents orders the Events list: newest first, and among events of
// the same instant the last emitted first.
func compareEvents(a, b pageToken) int {
	return cmp.Or(-cmp.Compare(a.Time, b.Time), -cmp.Compare(a.N, b.N), cmp.Compare(a.SID, b.SID))
}

// listEvents answers GET /v1/Workspaces/{WS}/Events: the events between
// StartDate (or Minutes ago, by default 15) and EndDate (or now), of one
// EventType and one TaskSid when given, newest first, paged by PageToken.
func (s *Server) listEvents(r *http.Request, ids []string) *response {
	p, ws, q := r.URL.Path, ids[0], r.URL.Query()
	pg, bad := parsePaging(q, []string{"ReservationSid", "TaskQueueSid", "TaskChannel", "WorkerSid", "WorkflowSid"},
		[]string{"Minutes", "StartDate", "EndDate", "EventType", "TaskSid", "Sid"})
	if bad != nil {
		return bad
	}
	if pg.token == nil && q.Has("Page") {
		// "Pagination is not supported under this resource. Please avoid
		// usage of the page query parameter."
		return twilioError(http.StatusBadRequest, 20001, "Page is not supported on Events; follow meta.next_page_url")
	}
	now := s.Now()
	minutes, bad := intParam(q, "Minutes", defaultEventMinutes, 1, math.MaxInt)
	if bad != nil {
		return bad
	}
	start, bad := dateParam(q, "StartDate", now.Add(-time.Duration(minutes)*time.Minute))
	if bad != nil {
		return bad
	}
	end, bad := dateParam(q, "EndDate", now)
	if bad != nil {
		return bad
	}
	typ, taskSID, evSID := q.Get("EventType"), q.Get("TaskSid"), q.Get("Sid")

	if _, ok := s.workspaces[ws]; !ok {
		return notFound(p)
	}
	cut := now.Add(-EventRetention)
	var matched []*Event
	for _, e := range s.events[ws] {
		switch {
		case e.Date.Before(start) || e.Date.After(end) || e.Date.Before(cut):
		case typ != "" && e.Type != typ:
		case taskSID != "" && e.TaskSID != taskSID:
		case evSID != "" && e.SID != evSID:
		default:
			matched = append(matched, e)
		}
	}
	return listPage(pg, p, "events", matched, eventKey, compareEvents, s.eventJSON)
}

// Paging limits of the TaskRouter list endpoints.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// pageMeta is the "meta" object of a Twilio v1 list page.
type pageMeta struct {
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	FirstPageURL    string  `json:"first_page_url"`
	PreviousPageURL *string `json:"previous_page_url"`
	URL             string  `json:"url"`
	NextPageURL     *string `json:"next_page_url"`
	Key             string  `json:"key"`
}

// pageToken is the sort key of a list item, and as a PageToken a position
// in the sorted list: the page starts after (or, with Before, ends before)
// the item with this key. N is a task's priority or an event's sequence
// number.
type pageToken struct {
	Before bool   `json:"b,omitempty"`
	Time   int64  `json:"t"`
	N      int64  `json:"n"`
	SID    string `json:"s"`
}

const tokenPrefix = "PT"

func (t pageToken) String() string {
	b, _ := json.Marshal(t) // ints and a string; cannot fail
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// paging is the paging part of a list request.
type paging struct {
	size, num int
	token     *pageToken
	args      url.Values // the filter parameters, repeated in paging URLs
}

func badParam(name string) *response {
	return twilioError(http.StatusBadRequest, 20001, "Invalid "+name+" parameter")
}

// intParam reads the integer parameter name of q, or def when it is
// absent, and answers 400 when it is not an integer from lo to hi.
func intParam(q url.Values, name string, def, lo, hi int) (int, *response) {
	if !q.Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < lo || n > hi {
		return 0, badParam(name)
	}
	return n, nil
}

// parsePaging reads PageSize, Page and PageToken, rejecting the parameters
// in unsupported (answered 400 rather than ignored, so that a test does not
// pass on a filter that was never applied), and keeps the filters in q for
// the paging URLs.
func parsePaging(q url.Values, unsupported, filters []string) (paging, *response) {
	pg := paging{args: url.Values{}}
	for _, name := range unsupported {
		if q.Has(name) {
			return pg, twilioError(http.StatusBadRequest, 20001, "Parameter "+name+" is not supported by flextest")
		}
	}
	var bad *response
	if pg.size, bad = intParam(q, "PageSize", defaultPageSize, 1, maxPageSize); bad != nil {
		return pg, bad
	}
	if pg.num, bad = intParam(q, "Page", 0, 0, math.MaxInt); bad != nil {
		return pg, bad
	}
	if q.Has("PageToken") {
		raw, ok := strings.CutPrefix(q.Get("PageToken"), tokenPrefix)
		b, err := base64.RawURLEncoding.DecodeString(raw)
		pg.token = new(pageToken)
		if !ok || err != nil || json.Unmarshal(b, pg.token) != nil || pg.token.SID == "" {
			return pg, badParam("PageToken")
		}
	}
	for _, k := range filters {
		if vs, ok := q[k]; ok {
			pg.args[k] = vs
		}
	}
	return pg, nil
}

// link returns the URL of page num of the list at path p, from tok.
func (pg paging) link(p string, num int, tok *pageToken) string {
	v := maps.Clone(pg.args)
	v.Set("PageSize", strconv.Itoa(pg.size))
	v.Set("Page", strconv.Itoa(num))
	if tok != nil {
		v.Set("PageToken", tok.String())
	}
	return taskRouterURL + p + "?" + v.Encode()
}

// listPage sorts list by compare on the keys keyOf gives and answers the
// requested page of it as a Twilio v1 list page under key with its paging
// links.
func listPage[T any](pg paging, p, key string, list []T, keyOf func(T) pageToken, compare func(a, b pageToken) int, render func(T) map[string]any) *response {
	slices.SortFunc(list, func(a, b T) int { return compare(keyOf(a), keyOf(b)) })
	n := len(list)
	search := func() (int, bool) {
		return slices.BinarySearchFunc(list, *pg.token, func(x T, k pageToken) int { return compare(keyOf(x), k) })
	}
	var start, end int
	switch {
	case pg.token == nil:
		start = n
		if pg.num < n { // bounds num*size: no overflow
			start = min(n, pg.num*pg.size)
		}
		end = min(n, start+pg.size)
	case pg.token.Before:
		end, _ = search()
		start = max(0, end-pg.size)
	default:
		// The token's item may no longer match the filters: the page
		// starts where it would be.
		i, found := search()
		if found {
			i++
		}
		start, end = i, min(n, i+pg.size)
	}
	items := make([]any, 0, end-start)
	for _, x := range list[start:end] {
		items = append(items, render(x))
	}
	m := pageMeta{Page: pg.num, PageSize: pg.size, FirstPageURL: pg.link(p, 0, nil), URL: pg.link(p, pg.num, pg.token), Key: key}
	if end < n {
		tok := keyOf(list[end-1])
		next := pg.link(p, pg.num+1, &tok)
		m.NextPageURL = &next
	}
	if start > 0 {
		var tok *pageToken // past the end: the previous page by number
		if start < n {
			k := keyOf(list[start])
			k.Before = true
			tok = &k
		}
		prev := pg.link(p, max(0, pg.num-1), tok)
		m.PreviousPageURL = &prev
	}
	return jsonResponse(http.StatusOK, map[string]any{key: items, "meta": m})
}
