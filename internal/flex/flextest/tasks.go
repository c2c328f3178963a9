package flextest

import (
	"cmp"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// twilioTime is the ISO 8601 layout of TaskRouter dates, which twilio-go
// decodes into time.Time.
const twilioTime = "2006-01-02T15:04:05Z"

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// taskJSON renders t as the Task resource TaskRouter answers; s.mu must be
// held.
func (s *Server) taskJSON(t *task) map[string]any {
	ws := taskRouterURL + "/v1/Workspaces/" + t.WorkspaceSID
	u := ws + "/Tasks/" + t.SID
	created := t.DateCreated.UTC().Format(twilioTime)
	links := map[string]string{"workspace": ws, "reservations": u + "/Reservations"}
	var entered *string
	if t.TaskQueueSID != "" {
		links["task_queue"] = ws + "/TaskQueues/" + t.TaskQueueSID
		entered = &created
	}
	if t.WorkflowSID != "" {
		links["workflow"] = ws + "/Workflows/" + t.WorkflowSID
	}
	return map[string]any{
		"account_sid":              s.o.AccountSID,
		"addons":                   "{}",
		"age":                      max(0, int64(s.Now().Sub(t.DateCreated)/time.Second)),
		"assignment_status":        t.AssignmentStatus,
		"attributes":               t.Attributes,
		"date_created":             created,
		"date_updated":             t.DateUpdated.UTC().Format(twilioTime),
		"ignore_capacity":          nil,
		"links":                    links,
		"priority":                 t.Priority,
		"reason":                   optional(t.Reason),
		"routing_target":           nil,
		"sid":                      t.SID,
		"task_channel_sid":         nil,
		"task_channel_unique_name": t.TaskChannelUniqueName,
		"task_queue_entered_date":  entered,
		"task_queue_friendly_name": nil,
		"task_queue_sid":           optional(t.TaskQueueSID),
		"timeout":                  t.Timeout,
		"url":                      u,
		"virtual_start_time":       created,
		"workflow_friendly_name":   nil,
		"workflow_sid":             optional(t.WorkflowSID),
		"workspace_sid":            t.WorkspaceSID,
	}
}

func (s *Server) fetchTask(r *http.Request, ids []string) *response {
	t, ok := s.tasks[taskKey(ids[0], ids[1])]
	if !ok {
		return notFound(r.URL.Path)
	}
	return jsonResponse(http.StatusOK, s.taskJSON(t))
}

// listQuery is a parsed task list request.
type listQuery struct {
	paging
	statuses map[string]bool // nil: any
	priority *int
	workflow string
	queue    string
	expr     *expr // nil: any
	order    []orderKey
}

// orderKey is one Attribute:Order pair of the Ordering parameter.
type orderKey struct {
	field string // DateCreated or Priority
	desc  bool
}

// parseListQuery parses the task list parameters, or returns the error
// answer for the first invalid one.
func parseListQuery(q url.Values) (listQuery, *response) {
	var lq listQuery
	var bad *response
	lq.paging, bad = parsePaging(q, []string{"WorkflowName", "TaskQueueName", "RoutingTarget", "HasAddons"},
		[]string{"AssignmentStatus", "Priority", "WorkflowSid", "TaskQueueSid", "EvaluateTaskAttributes", "Ordering"})
	if bad != nil {
		return lq, bad
	}
	if vs, ok := q["AssignmentStatus"]; ok {
		lq.statuses = make(map[string]bool)
		for _, st := range strings.Split(strings.Join(vs, ","), ",") {
			if st = strings.TrimSpace(st); !validTaskStatus(st) {
				return lq, badParam("AssignmentStatus")
			}
			lq.statuses[st] = true
		}
	}
	if q.Has("Priority") {
		n, bad := intParam(q, "Priority", 0, math.MinInt, math.MaxInt)
		if bad != nil {
			return lq, bad
		}
		lq.priority = &n
	}
	lq.workflow, lq.queue = q.Get("WorkflowSid"), q.Get("TaskQueueSid")
	if q.Has("EvaluateTaskAttributes") {
		e, err := parseExpr(q.Get("EvaluateTaskAttributes"))
		if err != nil {
			return lq, twilioError(http.StatusBadRequest, 20001, "Invalid EvaluateTaskAttributes expression")
		}
		lq.expr = e
	}
	if q.Has("Ordering") {
		for _, part := range strings.Split(q.Get("Ordering"), ",") {
			field, dir, ok := strings.Cut(strings.TrimSpace(part), ":")
			if !ok || (field != "DateCreated" && field != "Priority") || (dir != "asc" && dir != "desc") {
				return lq, badParam("Ordering")
			}
			lq.order = append(lq.order, orderKey{field: field, desc: dir == "desc"})
		}
	}
	return lq, nil
}

func (lq *listQuery) matches(t *task) bool {
	return (lq.statuses == nil || lq.statuses[t.AssignmentStatus]) &&
		(lq.priority == nil || *lq.priority == t.Priority) &&
		(lq.workflow == "" || lq.workflow == t.WorkflowSID) &&
		(lq.queue == "" || lq.queue == t.TaskQueueSID) &&
		(lq.expr == nil || lq.expr.eval(t.attrs))
}

// taskKeyOf returns the sort key of t: its creation, priority and SID.
func taskKeyOf(t *task) pageToken {
	return pageToken{Time: t.DateCreated.UnixNano(), N: int64(t.Priority), SID: t.SID}
}

// compare orders two task keys by the Ordering parameter, then by
// creation, then by SID, so that every task has one place in the list.
func (lq *listQuery) compare(a, b pageToken) int {
	for _, k := range lq.order {
		c := cmp.Compare(a.Time, b.Time)
		if k.field == "Priority" {
			c = cmp.Compare(a.N, b.N)
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.SID, b.SID))
}

// listTasks answers GET /v1/Workspaces/{WS}/Tasks.
func (s *Server) listTasks(r *http.Request, ids []string) *response {
	p, ws := r.URL.Path, ids[0]
	lq, bad := parseListQuery(r.URL.Query())
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
	return listPage(lq.paging, p, "tasks", matched, taskKeyOf, lq.compare, s.taskJSON)
}
