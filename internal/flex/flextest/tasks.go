package flextest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paging limits of the TaskRouter list endpoints.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// twilioTime is the ISO 8601 layout of TaskRouter dates, which twilio-go
// decodes into time.Time.
const twilioTime = "2006-01-02T15:04:05Z"

// Parameters of the task list that the fake does not implement. They are
// answered 400 rather than ignored, so that a test does not pass on a filter
// that was never applied.
var unsupportedListParams = [...]string{"WorkflowName", "TaskQueueName", "RoutingTarget", "HasAddons"}

// taskJSON is the Task resource as TaskRouter answers it.
type taskJSON struct {
	AccountSID            string            `json:"account_sid"`
	Addons                string            `json:"addons"`
	Age                   int64             `json:"age"`
	AssignmentStatus      string            `json:"assignment_status"`
	Attributes            string            `json:"attributes"`
	DateCreated           string            `json:"date_created"`
	DateUpdated           string            `json:"date_updated"`
	IgnoreCapacity        *bool             `json:"ignore_capacity"`
	Links                 map[string]string `json:"links"`
	Priority              int               `json:"priority"`
	Reason                *string           `json:"reason"`
	RoutingTarget         *string           `json:"routing_target"`
	SID                   string            `json:"sid"`
	TaskChannelSID        *string           `json:"task_channel_sid"`
	TaskChannelUniqueName string            `json:"task_channel_unique_name"`
	TaskQueueEnteredDate  *string           `json:"task_queue_entered_date"`
	TaskQueueFriendlyName *string           `json:"task_queue_friendly_name"`
	TaskQueueSID          *string           `json:"task_queue_sid"`
	Timeout               int               `json:"timeout"`
	URL                   string            `json:"url"`
	VirtualStartTime      string            `json:"virtual_start_time"`
	WorkflowFriendlyName  *string           `json:"workflow_friendly_name"`
	WorkflowSID           *string           `json:"workflow_sid"`
	WorkspaceSID          string            `json:"workspace_sid"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// taskJSON renders t; s.mu must be held.
func (s *Server) taskJSON(t *task) taskJSON {
	ws := taskRouterURL + "/v1/Workspaces/" + t.WorkspaceSID
	u := ws + "/Tasks/" + t.SID
	created := t.DateCreated.UTC().Format(twilioTime)
	j := taskJSON{
		AccountSID:            s.accountSID,
		Addons:                "{}",
		Age:                   max(0, int64(s.now().Sub(t.DateCreated)/time.Second)),
		AssignmentStatus:      t.AssignmentStatus,
		Attributes:            t.Attributes,
		DateCreated:           created,
		DateUpdated:           t.DateUpdated.UTC().Format(twilioTime),
		Links:                 map[string]string{"workspace": ws, "reservations": u + "/Reservations"},
		Priority:              t.Priority,
		Reason:                optional(t.Reason),
		SID:                   t.SID,
		TaskChannelUniqueName: t.TaskChannelUniqueName,
		TaskQueueSID:          optional(t.TaskQueueSID),
		Timeout:               t.Timeout,
		URL:                   u,
		VirtualStartTime:      created,
		WorkflowSID:           optional(t.WorkflowSID),
		WorkspaceSID:          t.WorkspaceSID,
	}
	if t.TaskQueueSID != "" {
		j.Links["task_queue"] = ws + "/TaskQueues/" + t.TaskQueueSID
		j.TaskQueueEnteredDate = &created
	}
	if t.WorkflowSID != "" {
		j.Links["workflow"] = ws + "/Workflows/" + t.WorkflowSID
	}
	return j
}

func (s *Server) fetchTask(p, ws, wt string) *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[taskKey(ws, wt)]
	if !ok {
		return notFound(p)
	}
	return jsonResponse(http.StatusOK, s.taskJSON(t))
}

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

type taskPage struct {
	Tasks []taskJSON `json:"tasks"`
	Meta  pageMeta   `json:"meta"`
}

// listQuery is a parsed task list request.
type listQuery struct {
	statuses   map[string]bool // nil: any
	priority   *int
	workflow   string
	queue      string
	expr       *expr // nil: any
	order      []orderKey
	pageSize   int
	page       int
	token      *pageToken
	filterArgs url.Values // the filter parameters, repeated in paging URLs
}

// orderKey is one Attribute:Order pair of the Ordering parameter.
type orderKey struct {
	field string // DateCreated or Priority
	desc  bool
}

// pageToken marks a position in a sorted list: the page starts after
// (or ends before) the task with these sort keys.
type pageToken struct {
	Before   bool   `json:"b,omitempty"`
	Created  int64  `json:"c"`
	Priority int    `json:"p"`
	SID      string `json:"s"`
}

const tokenPrefix = "PT"

func (t pageToken) String() string {
	b, _ := json.Marshal(t) // ints and a string; cannot fail
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

func parsePageToken(s string) (*pageToken, bool) {
	raw, ok := strings.CutPrefix(s, tokenPrefix)
	if !ok {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return nil, false
	}
	var t pageToken
	if err := json.Unmarshal(b, &t); err != nil || t.SID == "" {
		return nil, false
	}
	return &t, true
}

func badParam(name string) *response {
	return twilioError(http.StatusBadRequest, 20001, "Invalid "+name+" parameter")
}

// parseListQuery parses the task list parameters, or returns the error
// answer for the first invalid one.
func parseListQuery(q url.Values) (listQuery, *response) {
	lq := listQuery{pageSize: defaultPageSize, filterArgs: url.Values{}}
	for _, name := range unsupportedListParams {
		if q.Has(name) {
			return lq, twilioError(http.StatusBadRequest, 20001,
				"Parameter "+name+" is not supported by flextest")
		}
	}
	if q.Has("PageSize") {
		n, err := strconv.Atoi(q.Get("PageSize"))
		if err != nil || n < 1 || n > maxPageSize {
			return lq, badParam("PageSize")
		}
		lq.pageSize = n
	}
	if q.Has("Page") {
		n, err := strconv.Atoi(q.Get("Page"))
		if err != nil || n < 0 {
			return lq, badParam("Page")
		}
		lq.page = n
	}
	if q.Has("PageToken") {
		t, ok := parsePageToken(q.Get("PageToken"))
		if !ok {
			return lq, badParam("PageToken")
		}
		lq.token = t
	}
	if vs, ok := q["AssignmentStatus"]; ok {
		lq.statuses = make(map[string]bool)
		for _, v := range vs {
			for _, st := range strings.Split(v, ",") {
				st = strings.TrimSpace(st)
				if !validTaskStatus(st) {
					return lq, badParam("AssignmentStatus")
				}
				lq.statuses[st] = true
			}
			lq.filterArgs.Add("AssignmentStatus", v)
		}
	}
	if q.Has("Priority") {
		n, err := strconv.Atoi(q.Get("Priority"))
		if err != nil {
			return lq, badParam("Priority")
		}
		lq.priority = &n
		lq.filterArgs.Set("Priority", q.Get("Priority"))
	}
	if q.Has("WorkflowSid") {
		lq.workflow = q.Get("WorkflowSid")
		lq.filterArgs.Set("WorkflowSid", lq.workflow)
	}
	if q.Has("TaskQueueSid") {
		lq.queue = q.Get("TaskQueueSid")
		lq.filterArgs.Set("TaskQueueSid", lq.queue)
	}
	if q.Has("EvaluateTaskAttributes") {
		e, err := parseExpr(q.Get("EvaluateTaskAttributes"))
		if err != nil {
			return lq, twilioError(http.StatusBadRequest, 20001, "Invalid EvaluateTaskAttributes expression")
		}
		lq.expr = e
		lq.filterArgs.Set("EvaluateTaskAttributes", q.Get("EvaluateTaskAttributes"))
	}
	if q.Has("Ordering") {
		order, ok := parseOrdering(q.Get("Ordering"))
		if !ok {
			return lq, badParam("Ordering")
		}
		lq.order = order
		lq.filterArgs.Set("Ordering", q.Get("Ordering"))
	}
	return lq, nil
}

// parseOrdering parses "Attribute:Order[,Attribute:Order]" with the
// attributes DateCreated and Priority.
func parseOrdering(s string) ([]orderKey, bool) {
	var keys []orderKey
	for _, part := range strings.Split(s, ",") {
		field, dir, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || (field != "DateCreated" && field != "Priority") || (dir != "asc" && dir != "desc") {
			return nil, false
		}
		keys = append(keys, orderKey{field: field, desc: dir == "desc"})
	}
	return keys, true
}

func (lq *listQuery) matches(t *task) bool {
	switch {
	case lq.statuses != nil && !lq.statuses[t.AssignmentStatus]:
		return false
	case lq.priority != nil && *lq.priority != t.Priority:
		return false
	case lq.workflow != "" && lq.workflow != t.WorkflowSID:
		return false
	case lq.queue != "" && lq.queue != t.TaskQueueSID:
		return false
	case lq.expr != nil && !lq.expr.eval(t.attrs):
		return false
	}
	return true
}

// sortKey is what tasks are ordered by.
type sortKey struct {
	created  int64
	priority int
	sid      string
}

func keyOf(t *task) sortKey {
	return sortKey{created: t.DateCreated.UnixNano(), priority: t.Priority, sid: t.SID}
}

// compare orders two keys by the Ordering parameter, then by creation, then
// by SID, so that every task has one place in the list.
func (lq *listQuery) compare(a, b sortKey) int {
	for _, k := range lq.order {
		var c int
		if k.field == "Priority" {
			c = cmp.Compare(a.priority, b.priority)
		} else {
			c = cmp.Compare(a.created, b.created)
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Or(cmp.Compare(a.created, b.created), cmp.Compare(a.sid, b.sid))
}

// listTasks answers GET /v1/Workspaces/{WS}/Tasks.
func (s *Server) listTasks(p, ws string, q url.Values) *response {
	lq, bad := parseListQuery(q)

	s.mu.Lock()
	defer s.mu.Unlock()
	all, ok := s.workspaces[ws]
	if !ok {
		return notFound(p)
	}
	if bad != nil {
		return bad
	}
	var matched []*task
	for _, t := range all {
		if lq.matches(t) {
			matched = append(matched, t)
		}
	}
	slices.SortFunc(matched, func(a, b *task) int { return lq.compare(keyOf(a), keyOf(b)) })

	start, end := lq.window(matched)
	page := taskPage{Tasks: make([]taskJSON, 0, end-start)}
	for _, t := range matched[start:end] {
		page.Tasks = append(page.Tasks, s.taskJSON(t))
	}

	base := taskRouterURL + p
	link := func(pageNum int, tok *pageToken) string {
		v := cloneValues(lq.filterArgs)
		v.Set("PageSize", strconv.Itoa(lq.pageSize))
		v.Set("Page", strconv.Itoa(pageNum))
		if tok != nil {
			v.Set("PageToken", tok.String())
		}
		return base + "?" + v.Encode()
	}
	page.Meta = pageMeta{
		Page:         lq.page,
		PageSize:     lq.pageSize,
		FirstPageURL: link(0, nil),
		URL:          link(lq.page, lq.token),
		Key:          "tasks",
	}
	if end < len(matched) {
		k := keyOf(matched[end-1])
		next := link(lq.page+1, &pageToken{Created: k.created, Priority: k.priority, SID: k.sid})
		page.Meta.NextPageURL = &next
	}
	if start > 0 {
		var tok *pageToken // past the end: the previous page by number
		if start < len(matched) {
			k := keyOf(matched[start])
			tok = &pageToken{Before: true, Created: k.created, Priority: k.priority, SID: k.sid}
		}
		prev := link(max(0, lq.page-1), tok)
		page.Meta.PreviousPageURL = &prev
	}
	return jsonResponse(http.StatusOK, page)
}

// window returns the bounds of the requested page within sorted.
func (lq *listQuery) window(sorted []*task) (start, end int) {
	n := len(sorted)
	switch {
	case lq.token == nil:
		start = n
		if lq.page < n { // bounds page*pageSize: no overflow
			start = min(n, lq.page*lq.pageSize)
		}
		end = min(n, start+lq.pageSize)
	case lq.token.Before:
		end, _ = lq.search(sorted)
		start = max(0, end-lq.pageSize)
	default:
		i, found := lq.search(sorted)
		if found {
			i++
		}
		start = i
		end = min(n, start+lq.pageSize)
	}
	return start, end
}

// search returns the position of the page token's task in sorted, or where
// it would be if it no longer matches the filters, and whether it is there.
func (lq *listQuery) search(sorted []*task) (int, bool) {
	key := sortKey{created: lq.token.Created, priority: lq.token.Priority, sid: lq.token.SID}
	return slices.BinarySearchFunc(sorted, key, func(t *task, k sortKey) int { return lq.compare(keyOf(t), k) })
}
