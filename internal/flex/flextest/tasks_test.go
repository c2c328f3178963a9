package flextest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

func TestFetchTask(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{Type: "sms"})
	queue, flow := flextest.NewSID("WQ"), flextest.NewSID("WW")
	task := f.fake.AddTask(flextest.Task{
		WorkspaceSID:          testWS,
		AssignmentStatus:      "assigned",
		Attributes:            flextest.NewAttributes(ch).JSON(),
		Priority:              5,
		TaskChannelUniqueName: "sms",
		TaskQueueSID:          queue,
		WorkflowSID:           flow,
	})
	f.clock.Advance(75 * time.Second)

	got, err := f.tr.FetchTask(testWS, task.SID)
	if err != nil {
		t.Fatalf("FetchTask error: %v", err)
	}
	wantURL := "https://taskrouter.twilio.com/v1/Workspaces/" + testWS + "/Tasks/" + task.SID
	checks := []struct {
		field     string
		got, want any
	}{
		{"sid", deref(got.Sid), task.SID},
		{"account_sid", deref(got.AccountSid), testAccount},
		{"workspace_sid", deref(got.WorkspaceSid), testWS},
		{"assignment_status", deref(got.AssignmentStatus), "assigned"},
		{"attributes", deref(got.Attributes), task.Attributes},
		{"priority", got.Priority, 5},
		{"age", got.Age, 75},
		{"timeout", got.Timeout, 86400},
		{"task_channel_unique_name", deref(got.TaskChannelUniqueName), "sms"},
		{"task_queue_sid", deref(got.TaskQueueSid), queue},
		{"workflow_sid", deref(got.WorkflowSid), flow},
		{"reason", got.Reason, (*string)(nil)},
		{"date_created", deref(got.DateCreated), testEpoch},
		{"date_updated", deref(got.DateUpdated), testEpoch},
		{"url", deref(got.Url), wantURL},
		{"links.reservations", deref(got.Links)["reservations"], wantURL + "/Reservations"},
		{"links.task_queue", deref(got.Links)["task_queue"], "https://taskrouter.twilio.com/v1/Workspaces/" + testWS + "/TaskQueues/" + queue},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("FetchTask().%s = %v, want %v", c.field, c.got, c.want)
		}
	}
}

func TestFetchTaskNotFound(t *testing.T) {
	f := newFixture(t)
	task := f.fake.AddTask(flextest.Task{WorkspaceSID: testWS})
	tests := []struct{ name, ws, wt string }{
		{"unknown task", testWS, flextest.NewSID("WT")},
		{"unknown workspace", flextest.NewSID("WS"), task.SID},
		{"malformed task SID", testWS, "WT1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.tr.FetchTask(tt.ws, tt.wt)
			if te := restError(t, err); te.Status != 404 || te.Code != 20404 {
				t.Errorf("FetchTask(%q, %q) = %d/%d, want 404/20404", tt.ws, tt.wt, te.Status, te.Code)
			}
		})
	}
}

// seedTasks adds n tasks for as many channels, one second apart, cycling
// through statuses, and returns them oldest first.
func seedTasks(f *fixture, n int, statuses ...string) []flextest.Task {
	var out []flextest.Task
	for i := range n {
		ch := f.fake.AddChannel(flextest.Channel{})
		out = append(out, f.fake.AddTask(flextest.Task{
			WorkspaceSID:     testWS,
			AssignmentStatus: statuses[i%len(statuses)],
			Attributes:       flextest.NewAttributes(ch).JSON(),
			Priority:         i % 3,
		}))
		f.clock.Advance(time.Second)
	}
	return out
}

func sids(tasks []taskrouterv1.TaskrouterV1Task) []string {
	var out []string
	for _, t := range tasks {
		out = append(out, deref(t.Sid))
	}
	return out
}

func wantSIDs(tasks []flextest.Task, keep func(flextest.Task) bool) []string {
	var out []string
	for _, t := range tasks {
		if keep(t) {
			out = append(out, t.SID)
		}
	}
	return out
}

func TestListTaskPaging(t *testing.T) {
	tests := []struct {
		name      string
		pageSize  int // 0: not set
		limit     int // 0: not set
		want      int
		wantPages int
	}{
		{name: "default page size", want: 120, wantPages: 3},
		{name: "small pages", pageSize: 7, want: 120, wantPages: 18},
		{name: "small pages with limit", pageSize: 7, limit: 100, want: 100, wantPages: 15},
		{name: "limit only", limit: 60, want: 60, wantPages: 1},
		{name: "one page of all", pageSize: 1000, want: 120, wantPages: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			all := seedTasks(f, 120, "pending")
			p := &taskrouterv1.ListTaskParams{}
			if tt.pageSize != 0 {
				p.SetPageSize(tt.pageSize)
			}
			if tt.limit != 0 {
				p.SetLimit(tt.limit)
			}
			got, err := f.tr.ListTask(testWS, p)
			if err != nil {
				t.Fatalf("ListTask error: %v", err)
			}
			want := wantSIDs(all, func(flextest.Task) bool { return true })[:tt.want]
			if g := sids(got); !slices.Equal(g, want) {
				t.Errorf("ListTask(page size %d, limit %d) = %d tasks %v…, want %d tasks in creation order", tt.pageSize, tt.limit, len(g), g[:min(3, len(g))], len(want))
			}
			if n := f.fake.Count("GET", "/v1/Workspaces/"+testWS+"/Tasks"); n != tt.wantPages {
				t.Errorf("ListTask(page size %d, limit %d) fetched %d pages, want %d", tt.pageSize, tt.limit, n, tt.wantPages)
			}
			// Every page after the first came from meta.next_page_url, which
			// points at Twilio's host and reached the fake through the transport.
			for _, u := range f.seen.requestedURLs()[1:] {
				if !strings.Contains(u, "PageToken=PT") {
					t.Errorf("next page request %q has no PageToken", u)
				}
			}
		})
	}
}

func TestListTaskFilters(t *testing.T) {
	f := newFixture(t)
	all := seedTasks(f, 60, "pending", "reserved", "assigned", "wrapping", "completed", "canceled")
	target := f.fake.AddChannel(flextest.Channel{})
	mine := []flextest.Task{f.fake.AddChannelTask(testWS, target, "assigned")}
	f.clock.Advance(time.Second) // same-second tasks are ordered by SID
	mine = append(mine, f.fake.AddChannelTask(testWS, target, "completed"))
	other := flextest.NewSID("WS")
	f.fake.AddChannelTask(other, target, "assigned") // another workspace

	live := func(t flextest.Task) bool {
		return t.AssignmentStatus == "pending" || t.AssignmentStatus == "reserved" || t.AssignmentStatus == "assigned"
	}
	everything := append(append([]flextest.Task(nil), all...), mine...)
	tests := []struct {
		name   string
		params *taskrouterv1.ListTaskParams
		want   []string
	}{
		{
			name:   "repeated statuses",
			params: (&taskrouterv1.ListTaskParams{}).SetAssignmentStatus([]string{"pending", "reserved", "assigned"}).SetPageSize(4),
			want:   wantSIDs(everything, live),
		},
		{
			name:   "comma list of statuses",
			params: (&taskrouterv1.ListTaskParams{}).SetAssignmentStatus([]string{"pending,reserved", "assigned"}).SetPageSize(5),
			want:   wantSIDs(everything, live),
		},
		{
			name:   "channel expression",
			params: (&taskrouterv1.ListTaskParams{}).SetEvaluateTaskAttributes(`flexInteractionChannelSid == "` + target.SID + `"`).SetPageSize(1),
			want:   []string{mine[0].SID, mine[1].SID},
		},
		{
			name: "nested expression and status",
			params: (&taskrouterv1.ListTaskParams{}).
				SetEvaluateTaskAttributes(`conversations.conversation_id == '` + target.InteractionSID + `'`).
				SetAssignmentStatus([]string{"assigned", "wrapping"}),
			want: []string{mine[0].SID},
		},
		{
			name:   "priority",
			params: (&taskrouterv1.ListTaskParams{}).SetPriority(2).SetPageSize(3),
			want:   wantSIDs(everything, func(t flextest.Task) bool { return t.Priority == 2 }),
		},
		{
			name:   "nothing matches",
			params: (&taskrouterv1.ListTaskParams{}).SetEvaluateTaskAttributes(`channelType == "voice"`),
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.tr.ListTask(testWS, tt.params)
			if err != nil {
				t.Fatalf("ListTask error: %v", err)
			}
			if g := sids(got); !slices.Equal(g, tt.want) {
				t.Errorf("ListTask(%s) = %v, want %v", tt.name, g, tt.want)
			}
		})
	}
}

func TestListTaskOrdering(t *testing.T) {
	f := newFixture(t)
	all := seedTasks(f, 9, "pending")
	want := wantSIDs(all, func(flextest.Task) bool { return true })
	byPriority := slices.Clone(all)
	slices.SortStableFunc(byPriority, func(a, b flextest.Task) int { return b.Priority - a.Priority })

	tests := []struct {
		ordering string
		want     []string
	}{
		{"DateCreated:asc", want},
		{"DateCreated:desc", reversed(want)},
		{"Priority:desc,DateCreated:asc", wantSIDs(byPriority, func(flextest.Task) bool { return true })},
	}
	for _, tt := range tests {
		t.Run(tt.ordering, func(t *testing.T) {
			got, err := f.tr.ListTask(testWS, (&taskrouterv1.ListTaskParams{}).SetOrdering(tt.ordering).SetPageSize(2))
			if err != nil {
				t.Fatalf("ListTask(Ordering=%s) error: %v", tt.ordering, err)
			}
			if g := sids(got); !slices.Equal(g, tt.want) {
				t.Errorf("ListTask(Ordering=%s) = %v, want %v", tt.ordering, g, tt.want)
			}
		})
	}
}

func TestListTaskErrors(t *testing.T) {
	f := newFixture(t)
	seedTasks(f, 3, "pending")
	tests := []struct {
		name       string
		ws         string
		params     *taskrouterv1.ListTaskParams
		wantStatus int
		wantCode   int
	}{
		{"unknown workspace", flextest.NewSID("WS"), nil, 404, 20404},
		{"page size zero", testWS, (&taskrouterv1.ListTaskParams{}).SetPageSize(0), 400, 20001},
		{"page size too big", testWS, (&taskrouterv1.ListTaskParams{}).SetPageSize(1001), 400, 20001},
		{"unknown status", testWS, (&taskrouterv1.ListTaskParams{}).SetAssignmentStatus([]string{"open"}), 400, 20001},
		{"bad expression", testWS, (&taskrouterv1.ListTaskParams{}).SetEvaluateTaskAttributes(`channelType = "sms"`), 400, 20001},
		{"unsupported operator", testWS, (&taskrouterv1.ListTaskParams{}).SetEvaluateTaskAttributes(`priority > 1`), 400, 20001},
		{"unsupported parameter", testWS, (&taskrouterv1.ListTaskParams{}).SetTaskQueueName("support"), 400, 20001},
		{"bad ordering", testWS, (&taskrouterv1.ListTaskParams{}).SetOrdering("Age:asc"), 400, 20001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.tr.PageTask(tt.ws, tt.params, "", "")
			te := restError(t, err)
			if te.Status != tt.wantStatus || te.Code != tt.wantCode {
				t.Errorf("PageTask(%s) = %d/%d, want %d/%d", tt.name, te.Status, te.Code, tt.wantStatus, tt.wantCode)
			}
		})
	}
}

func TestListTaskExpressionErrorMessage(t *testing.T) {
	f := newFixture(t)
	f.fake.AddWorkspace(testWS)
	_, err := f.tr.PageTask(testWS, (&taskrouterv1.ListTaskParams{}).SetEvaluateTaskAttributes(`a ==`), "", "")
	if te := restError(t, err); te.Message != "Invalid EvaluateTaskAttributes expression" {
		t.Errorf("PageTask(bad expression) message = %q, want %q", te.Message, "Invalid EvaluateTaskAttributes expression")
	}
}

func TestListTaskEmptyWorkspace(t *testing.T) {
	f := newFixture(t)
	f.fake.AddWorkspace(testWS)
	page, err := f.tr.PageTask(testWS, nil, "", "")
	if err != nil {
		t.Fatalf("PageTask(empty workspace) error: %v", err)
	}
	if len(page.Tasks) != 0 || page.Meta.NextPageUrl != nil || page.Meta.Key != "tasks" || page.Meta.PageSize != 50 {
		t.Errorf("PageTask(empty workspace) = %d tasks, meta %+v; want 0 tasks, no next page, key tasks, page size 50", len(page.Tasks), page.Meta)
	}
}

// TestListTaskPageMeta checks the raw page JSON, including the previous page
// link twilio-go does not follow.
func TestListTaskPageMeta(t *testing.T) {
	f := newFixture(t)
	all := seedTasks(f, 5, "pending", "assigned")
	get := func(rawURL string) map[string]any {
		t.Helper()
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatalf("parse %q: %v", rawURL, err)
		}
		req, _ := http.NewRequest("GET", f.srv.URL+u.RequestURI(), nil)
		req.SetBasicAuth(testAccount, testToken)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		var page map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d, decode error %v", u, resp.StatusCode, err)
		}
		return page
	}
	pageSIDs := func(page map[string]any) []string {
		var out []string
		for _, tk := range page["tasks"].([]any) {
			out = append(out, tk.(map[string]any)["sid"].(string))
		}
		return out
	}
	base := "https://taskrouter.twilio.com/v1/Workspaces/" + testWS + "/Tasks"
	first := get(base + "?PageSize=2")
	meta := first["meta"].(map[string]any)
	if meta["previous_page_url"] != nil || meta["page"] != 0.0 || meta["page_size"] != 2.0 || meta["key"] != "tasks" {
		t.Errorf("first page meta = %v", meta)
	}
	if want := base + "?Page=0&PageSize=2"; meta["first_page_url"] != want {
		t.Errorf("first_page_url = %v, want %v", meta["first_page_url"], want)
	}
	second := get(meta["next_page_url"].(string))
	if got, want := pageSIDs(second), []string{all[2].SID, all[3].SID}; !slices.Equal(got, want) {
		t.Errorf("second page = %v, want %v", got, want)
	}
	meta2 := second["meta"].(map[string]any)
	if meta2["page"] != 1.0 {
		t.Errorf("second page meta.page = %v, want 1", meta2["page"])
	}
	back := get(meta2["previous_page_url"].(string))
	if got, want := pageSIDs(back), pageSIDs(first); !slices.Equal(got, want) {
		t.Errorf("previous of second page = %v, want %v", got, want)
	}
	third := get(meta2["next_page_url"].(string))
	if got := pageSIDs(third); !slices.Equal(got, []string{all[4].SID}) || third["meta"].(map[string]any)["next_page_url"] != nil {
		t.Errorf("last page = %v, next %v; want [%s], null", got, third["meta"].(map[string]any)["next_page_url"], all[4].SID)
	}
	// Filters are carried into the paging URLs.
	filtered := get(base + "?PageSize=1&AssignmentStatus=assigned")
	next := filtered["meta"].(map[string]any)["next_page_url"].(string)
	if !strings.Contains(next, "AssignmentStatus=assigned") {
		t.Errorf("next_page_url %q lost the AssignmentStatus filter", next)
	}
	if got := pageSIDs(get(next)); !slices.Equal(got, []string{all[3].SID}) {
		t.Errorf("second filtered page = %v, want [%s]", got, all[3].SID)
	}
}

func TestListTaskPageByNumber(t *testing.T) {
	f := newFixture(t)
	all := seedTasks(f, 10, "pending")
	page, err := f.tr.PageTask(testWS, (&taskrouterv1.ListTaskParams{}).SetPageSize(3), "", "2")
	if err != nil {
		t.Fatalf("PageTask(page 2) error: %v", err)
	}
	want := []string{all[6].SID, all[7].SID, all[8].SID}
	if got := sids(page.Tasks); !slices.Equal(got, want) || page.Meta.Page != 2 {
		t.Errorf("PageTask(page 2) = %v page %d, want %v page 2", got, page.Meta.Page, want)
	}
	_, err = f.tr.PageTask(testWS, nil, "PTnot-a-token", "")
	if te := restError(t, err); te.Status != 400 || te.Code != 20001 {
		t.Errorf("PageTask(bad token) = %d/%d, want 400/20001", te.Status, te.Code)
	}
}

func TestSetTaskStatus(t *testing.T) {
	f := newFixture(t)
	task := f.fake.AddTask(flextest.Task{WorkspaceSID: testWS})
	tests := []struct {
		name, ws, wt, status string
		wantErr              error
	}{
		{"assign", testWS, task.SID, "assigned", nil},
		{"complete", testWS, task.SID, "completed", nil},
		{"unknown status", testWS, task.SID, "done", flextest.ErrInvalidStatus},
		{"unknown task", testWS, flextest.NewSID("WT"), "assigned", flextest.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.fake.SetTaskStatus(tt.ws, tt.wt, tt.status)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("SetTaskStatus(%q) = %v, want %v", tt.status, err, tt.wantErr)
			}
			if err == nil {
				got, _ := f.tr.FetchTask(tt.ws, tt.wt)
				if deref(got.AssignmentStatus) != tt.status {
					t.Errorf("FetchTask after SetTaskStatus(%q) = %q", tt.status, deref(got.AssignmentStatus))
				}
			}
		})
	}
	if got, _ := f.fake.Task(testWS, task.SID); got.Reason == "" {
		t.Errorf("completed task has no reason")
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// TestTwilioGoMangledQuery pins a twilio-go v1.31 quirk the fake reveals:
// SendRequest deletes every "." followed by digits from GET query strings
// (delimitingRegex `\.\d+`), so an EvaluateTaskAttributes literal such as
// "v1.2" reaches Twilio as "v1". SIDs contain no dots.
func TestTwilioGoMangledQuery(t *testing.T) {
	f := newFixture(t)
	f.fake.AddWorkspace(testWS)
	expr := `version == "v1.2"`
	if _, err := f.tr.PageTask(testWS, (&taskrouterv1.ListTaskParams{}).SetEvaluateTaskAttributes(expr), "", ""); err != nil {
		t.Fatalf("PageTask error: %v", err)
	}
	reqs := f.fake.Requests()
	if got, want := reqs[len(reqs)-1].Query.Get("EvaluateTaskAttributes"), `version == "v1"`; got != want {
		t.Errorf("EvaluateTaskAttributes received = %q, want %q (twilio-go strips .digits)", got, want)
	}
}
