package flextest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// getEvents answers a raw GET of the Events list with query q.
func getEvents(t *testing.T, f *fixture, q url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/v1/Workspaces/"+testWS+"/Events?"+q.Encode(), nil)
	req.SetBasicAuth(testAccount, testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// A simulated day of conversations: the Events resource filters by type,
// task and window, and twilio-go pages through it with PageToken.
func TestEventsResource(t *testing.T) {
	f := newFixture(t)
	fl := f.fake.Flows(testWS)
	start := f.fake.Now()
	var first flextest.Task
	for i := 0; i < 96; i++ { // one every 15 minutes for a day
		_, task := fl.Start(flextest.Channel{})
		if i == 0 {
			first = task
		}
		if i%3 == 0 {
			must(t, fl.Park(task.SID))
		} else {
			must(t, fl.AgentEndsChat(task.SID))
		}
		f.fake.Advance(15 * time.Minute)
	}
	end := f.fake.Now()

	// twilio-go's ListEvent follows meta.next_page_url to the end.
	p := (&taskrouterv1.ListEventParams{}).SetEventType("task.completed").SetStartDate(start).SetEndDate(end).SetPageSize(20)
	all, err := f.tr.ListEvent(testWS, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 96 {
		t.Errorf("ListEvent(task.completed, the day) = %d events, want 96", len(all))
	}
	for i, e := range all {
		data, _ := (*e.EventData).(map[string]any)
		if *e.EventType != "task.completed" || data["task_assignment_status"] != "completed" || data["task_attributes"] == "" ||
			*e.ResourceType != "Task" || *e.ResourceSid != data["task_sid"] || *e.WorkspaceSid != testWS {
			t.Fatalf("event %d = %+v, data %v", i, e, data)
		}
		if i > 0 && e.EventDate.After(*all[i-1].EventDate) {
			t.Fatalf("event %d is newer than event %d: want newest first", i, i-1)
		}
	}
	pages := 0
	for _, u := range f.seen.requestedURLs() {
		if q, _ := url.Parse(u); q.Path == "/v1/Workspaces/"+testWS+"/Events" {
			pages++
		}
	}
	if pages != 5 {
		t.Errorf("ListEvent read %d pages of 20, want 5", pages)
	}

	tests := []struct {
		name   string
		q      url.Values
		status int
		n      int
	}{
		// The last conversation's three events 15 minutes ago (the bound is
		// inclusive) and its task's deletion five minutes later.
		{"default window is the last 15 minutes", url.Values{}, 200, 4},
		{"Minutes", url.Values{"Minutes": {"31"}, "EventType": {"task.created"}}, 200, 2},
		{"StartDate and EndDate", url.Values{"StartDate": {start.Format(time.RFC3339)}, "EndDate": {start.Add(44 * time.Minute).Format(time.RFC3339)}, "EventType": {"task.created"}}, 200, 3},
		{"TaskSid", url.Values{"TaskSid": {first.SID}, "StartDate": {start.Format(time.RFC3339)}}, 200, 3},
		{"Page without PageToken", url.Values{"Page": {"1"}}, 400, 0},
		{"bad PageToken", url.Values{"PageToken": {"nope"}}, 400, 0},
		{"bad StartDate", url.Values{"StartDate": {"yesterday"}}, 400, 0},
		{"bad Minutes", url.Values{"Minutes": {"-1"}}, 400, 0},
		{"unsupported filter", url.Values{"WorkerSid": {"WK1"}}, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := getEvents(t, f, tt.q)
			if status != tt.status {
				t.Fatalf("status %d (%v), want %d", status, body, tt.status)
			}
			if evs, _ := body["events"].([]any); status == 200 && len(evs) != tt.n {
				t.Errorf("%d events, want %d", len(evs), tt.n)
			}
		})
	}
}

// Ended tasks are deleted five minutes after they end, with
// task.system-deleted; their events stay 30 days.
func TestTaskRetention(t *testing.T) {
	rcv := newReceiver(t)
	f := newFixture(t)
	f.fake.SetEventCallbackURL(rcv.url)
	fl := f.fake.Flows(testWS)
	ch, task := fl.Start(flextest.Channel{})
	must(t, fl.Park(task.SID))
	ended := f.fake.Now()
	seeded := f.fake.AddChannelTask(testWS, ch, "canceled")
	live := f.fake.AddChannelTask(testWS, ch, "assigned")

	f.fake.Advance(5*time.Minute - time.Second)
	if _, err := f.tr.FetchTask(testWS, task.SID); err != nil {
		t.Fatalf("FetchTask 4:59 after the task ended: %v", err)
	}
	f.fake.Advance(time.Second)
	if _, err := f.tr.FetchTask(testWS, task.SID); restError(t, err).Status != 404 {
		t.Errorf("FetchTask 5:00 after the task ended: %v, want 404", err)
	}
	tasks, err := f.tr.ListTask(testWS, &taskrouterv1.ListTaskParams{})
	if err != nil || len(tasks) != 1 || *tasks[0].Sid != live.SID {
		t.Errorf("ListTask after retention = %d tasks, %v; want only the live one", len(tasks), err)
	}
	evs := f.fake.Events(testWS)
	var deleted []string
	for _, e := range evs {
		if e.Type == "task.system-deleted" {
			deleted = append(deleted, e.TaskSID)
			if !e.Date.Equal(ended.Add(5*time.Minute)) || e.TaskAssignmentStatus == "" {
				t.Errorf("task.system-deleted of %s at %v status %q, want at %v", e.TaskSID, e.Date, e.TaskAssignmentStatus, ended.Add(5*time.Minute))
			}
		}
	}
	slices.Sort(deleted)
	want := []string{task.SID, seeded.SID}
	slices.Sort(want)
	if !slices.Equal(deleted, want) {
		t.Errorf("system-deleted %v, want %v", deleted, want)
	}
	if cb := rcv.types(); cb[len(cb)-1] != "task.system-deleted/canceled" && cb[len(cb)-1] != "task.system-deleted/completed" {
		t.Errorf("callbacks %v: want the deletions last", cb)
	}

	// Events are kept 30 days.
	f.fake.Advance(30*24*time.Hour - 10*time.Minute)
	if n := len(f.fake.Events(testWS)); n == 0 {
		t.Errorf("events gone before 30 days")
	}
	f.fake.Advance(10*time.Minute + time.Second) // the deletions were at 12:05
	if n := len(f.fake.Events(testWS)); n != 0 {
		t.Errorf("%d events kept beyond 30 days: %+v", n, f.fake.Events(testWS))
	}
}

// SetNow pins the clock; AddEvent seeds history without a callback.
func TestClockAndAddEvent(t *testing.T) {
	rcv := newReceiver(t)
	f := newFixture(t)
	f.fake.SetEventCallbackURL(rcv.url)
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.fake.SetNow(at)
	f.clock.Advance(time.Hour) // Options.Now no longer counts
	if !f.fake.Now().Equal(at) {
		t.Errorf("Now = %v, want %v", f.fake.Now(), at)
	}
	e := f.fake.AddEvent(flextest.Event{WorkspaceSID: testWS, Type: "task.canceled", TaskSID: flextest.NewSID("WT"), TaskAssignmentStatus: "canceled"})
	if !e.Date.Equal(at) || len(rcv.types()) != 0 {
		t.Errorf("AddEvent = %+v, callbacks %v", e, rcv.types())
	}
	if status, body := getEvents(t, f, url.Values{"TaskSid": {e.TaskSID}}); status != 200 || len(body["events"].([]any)) != 1 {
		t.Errorf("seeded event not listed: %d %v", status, body)
	}
}
