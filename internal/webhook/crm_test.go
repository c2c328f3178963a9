package webhook

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/secrets"
)

func closeBody(ch flextest.Channel, status string) string {
	b, _ := json.Marshal(map[string]string{"interaction_sid": ch.InteractionSID, "channel_sid": ch.SID, "status": status})
	return string(b)
}

func decodeCRM(t *testing.T, body []byte) crmResult {
	t.Helper()
	var r crmResult
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("CRM response %s: %v", body, err)
	}
	return r
}

func TestCRMCloses(t *testing.T) {
	f := newFixture(t, nil)
	ch, _ := f.channel("assigned")
	r := f.invoke(f.signedCRM(closeBody(ch, "")))
	if r.Status != 200 || r.Header["Content-Type"] != "application/json" {
		t.Fatalf("response = %d %s", r.Status, r.Body)
	}
	got := decodeCRM(t, r.Body)
	want := crmResult{Outcome: "closed", InteractionSID: ch.InteractionSID, ChannelSID: ch.SID, Status: "closed"}
	if got != want {
		t.Errorf("CRM response = %+v, want %+v", got, want)
	}
	// An explicit close is the CRM's decision: no live-task look-up.
	if f.status(ch) != "closed" || f.fake.Count("GET", "/v1/Workspaces") != 0 {
		t.Errorf("channel %s, %d task look-ups", f.status(ch), f.fake.Count("GET", "/v1/Workspaces"))
	}
	// The CRM asks again: idempotent.
	r = f.invoke(f.signedCRM(closeBody(ch, "")))
	if r.Status != 200 {
		t.Errorf("repeat close = %d %s", r.Status, r.Body)
	}
}

func TestCRMInactiveAndBearer(t *testing.T) {
	f := newFixture(t, nil)
	ch, _ := f.channel("assigned")
	h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + crmToken}}
	r := f.invoke(f.event("POST", "https://"+publicHost+"/crm", h, []byte(closeBody(ch, "inactive"))))
	if r.Status != 200 || decodeCRM(t, r.Body).Status != "inactive" || f.status(ch) != "inactive" {
		t.Fatalf("response = %d %s, channel %s", r.Status, r.Body, f.status(ch))
	}
	reqs := f.fake.Requests()
	if form := reqs[len(reqs)-1].Form; form.Get("Routing") != `{"status":"closed"}` {
		t.Errorf("inactive close without Routing: %v", form)
	}
}

func TestCRMTaskLookup(t *testing.T) {
	f := newFixture(t, map[string]string{"TASKROUTER_WORKSPACE_SID": ws})
	ch, task := f.channel("wrapping")
	transfer := f.fake.AddChannelTask(ws, ch, "assigned")
	body := `{"task_sid":"` + task.SID + `"}`
	r := f.invoke(f.signedCRM(body))
	if got := decodeCRM(t, r.Body); r.Status != 200 || got.Outcome != "skipped_live_task" || got.LiveTaskSID != transfer.SID {
		t.Fatalf("response = %d %s, want skipped_live_task naming %s", r.Status, r.Body, transfer.SID)
	}
	if f.status(ch) != "active" {
		t.Fatalf("channel closed under a live task")
	}
	if err := f.fake.SetTaskStatus(ws, transfer.SID, "completed"); err != nil {
		t.Fatal(err)
	}
	r = f.invoke(f.signedCRM(body))
	if got := decodeCRM(t, r.Body); r.Status != 200 || got.Outcome != "closed" || got.ChannelSID != ch.SID {
		t.Errorf("response = %d %s, want closed", r.Status, r.Body)
	}
	r = f.invoke(f.signedCRM(`{"task_sid":"` + flextest.NewSID("WT") + `"}`))
	if r.Status != 404 {
		t.Errorf("unknown task: %d %s, want 404", r.Status, r.Body)
	}
	voice := f.fake.AddTask(flextest.Task{WorkspaceSID: ws, Attributes: `{"call_sid":"CA1"}`})
	if r := f.invoke(f.signedCRM(`{"task_sid":"` + voice.SID + `"}`)); r.Status != 422 {
		t.Errorf("non-Flex task: %d %s, want 422", r.Status, r.Body)
	}
}

func TestCRMRejects(t *testing.T) {
	f := newFixture(t, nil)
	ch, _ := f.channel("assigned")
	good := closeBody(ch, "")
	u := "https://" + publicHost + "/crm"
	stale, _ := crm.Sign(crmSecret, "msg_1", f.clock.Now().Add(-6*time.Minute), []byte(good))
	stale.Set("Content-Type", "application/json")
	forged, _ := crm.Sign("whsec_"+strings.Repeat("QUFB", 8), "msg_1", f.clock.Now(), []byte(good))
	forged.Set("Content-Type", "application/json")
	jsonHeader := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name    string
		payload []byte
		status  int
		field   string
	}{
		{"unsigned", f.event("POST", u, jsonHeader, []byte(good)), 401, ""},
		{"stale timestamp", f.event("POST", u, stale, []byte(good)), 401, ""},
		{"forged signature", f.event("POST", u, forged, []byte(good)), 401, ""},
		{"wrong bearer", f.event("POST", u, http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer wrongwrongwrongwrong"}}, []byte(good)), 401, ""},
		{"form body", f.event("POST", u, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Authorization": {"Bearer " + crmToken}}, []byte("channel_sid="+ch.SID)), 415, ""},
		{"malformed JSON", f.signedCRM(`{"channel_sid":`), 400, ""},
		{"bad channel SID", f.signedCRM(`{"interaction_sid":"` + ch.InteractionSID + `","channel_sid":"UO/../../x"}`), 422, "channel_sid"},
		{"bad status", f.signedCRM(closeBody(ch, "deleted")), 422, "status"},
		{"task without workspace config", f.signedCRM(`{"task_sid":"` + flextest.NewSID("WT") + `"}`), 422, ""},
		{"empty object", f.signedCRM(`{}`), 422, "interaction_sid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.invoke(tt.payload)
			if r.Status != tt.status {
				t.Errorf("status = %d (%s), want %d", r.Status, r.Body, tt.status)
			}
			var e struct{ Error string }
			if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == "" || (tt.field != "" && !strings.Contains(e.Error, tt.field)) {
				t.Errorf("body = %s, want a JSON error naming %q", r.Body, tt.field)
			}
			if tt.status == 401 && r.Header["WWW-Authenticate"] == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
	if n := len(f.fake.Requests()); n != 0 || f.status(ch) != "active" {
		t.Errorf("rejected CRM calls made %d Twilio requests", n)
	}
}

func TestCRMNotFound(t *testing.T) {
	f := newFixture(t, nil)
	ghost := flextest.Channel{InteractionSID: flextest.NewSID("KD"), SID: flextest.NewSID("UO")}
	r := f.invoke(f.signedCRM(closeBody(ghost, "closed")))
	if r.Status != 404 || decodeCRM(t, r.Body).Outcome != "not_found" {
		t.Errorf("response = %d %s, want 404 not_found", r.Status, r.Body)
	}
}

func TestCRMSecretRotation(t *testing.T) {
	f := newFixture(t, nil)
	ch, _ := f.channel("assigned")
	newSecret := "whsec_" + strings.Repeat("QkJC", 8)
	next := secretWith(authToken)
	next.CRMWebhookSecrets = append(next.CRMWebhookSecrets, secrets.NewValue(newSecret))
	f.secrets.next = next
	body := closeBody(ch, "")
	h, _ := crm.Sign(newSecret, "msg_rot", f.clock.Now(), []byte(body))
	h.Set("Content-Type", "application/json")
	if r := f.invoke(f.event("POST", "https://"+publicHost+"/crm", h, []byte(body))); r.Status != 200 {
		t.Errorf("signed with the rotated secret: %d %s", r.Status, r.Body)
	}
}

// TaskRouter deletes a task five minutes after it ends: a CRM naming it
// later is resolved through the workspace's Events resource, whose entries
// carry the task's attributes. Only a task neither knows is a 404, naming
// it.
func TestCRMTaskLookupAfterRetention(t *testing.T) {
	f := newFixture(t, map[string]string{"TASKROUTER_WORKSPACE_SID": ws})
	fl := f.fake.Flows(ws)
	f.fake.SetNow(f.clock.Now().Add(-20 * time.Minute))
	parked, task := fl.Start(flextest.Channel{})
	if err := fl.Park(task.SID); err != nil {
		t.Fatal(err)
	}
	voice := f.fake.AddEvent(flextest.Event{WorkspaceSID: ws, Type: "task.canceled", TaskSID: flextest.NewSID("WT"),
		TaskAssignmentStatus: "canceled", TaskAttributes: `{"call_sid":"CA1"}`})
	f.fake.SetNow(f.clock.Now())
	if _, ok := f.fake.Task(ws, task.SID); ok {
		t.Fatalf("task %s not deleted by retention", task.SID)
	}
	f.fake.Reset()

	r := f.invoke(f.signedCRM(`{"task_sid":"` + task.SID + `"}`))
	if got := decodeCRM(t, r.Body); r.Status != 200 || got.Outcome != "closed" || got.ChannelSID != parked.SID {
		t.Fatalf("response = %d %s, want the parked channel closed", r.Status, r.Body)
	}
	if f.status(parked) != "closed" {
		t.Errorf("channel %s, want closed", f.status(parked))
	}
	var lookups []string
	for _, req := range f.fake.Requests() {
		if req.Method == "GET" && strings.HasPrefix(req.Path, "/v1/Workspaces/") {
			lookups = append(lookups, strings.TrimPrefix(req.Path, "/v1/Workspaces/"+ws)+"?TaskSid="+req.Query.Get("TaskSid"))
		}
	}
	if len(lookups) < 2 || lookups[0] != "/Tasks/"+task.SID+"?TaskSid=" || lookups[1] != "/Events?TaskSid="+task.SID {
		t.Errorf("look-ups = %v, want the task, then its events", lookups)
	}

	if r := f.invoke(f.signedCRM(`{"task_sid":"` + voice.TaskSID + `"}`)); r.Status != 422 {
		t.Errorf("deleted non-Flex task: %d %s, want 422", r.Status, r.Body)
	}
	ghost := flextest.NewSID("WT")
	r = f.invoke(f.signedCRM(`{"task_sid":"` + ghost + `"}`))
	var e struct{ Error string }
	if r.Status != 404 || json.Unmarshal(r.Body, &e) != nil || !strings.Contains(e.Error, ghost) {
		t.Errorf("unknown task: %d %s, want 404 naming %s", r.Status, r.Body, ghost)
	}
}

// A bad CRM signature refreshes the secret once (it may have rotated); when
// the refreshed secret is unusable, the request keeps its first answer (401
// with WWW-Authenticate), and only the next request, which meets the broken
// secret in the cache, answers 500. Found by the issue 10 review.
func TestRefreshedSecretUnusableKeepsFirstAnswer(t *testing.T) {
	f := newFixture(t, nil)
	ch, _ := f.channel("assigned")
	next := secretWith(authToken)
	next.CRMWebhookSecrets = []secrets.Value{secrets.NewValue("not base64!!")}
	f.secrets.next = next
	body := closeBody(ch, "")
	h, _ := crm.Sign("whsec_"+strings.Repeat("QkJC", 8), "msg_x", f.clock.Now(), []byte(body))
	h.Set("Content-Type", "application/json")
	ev := f.event("POST", "https://"+publicHost+"/crm", h, []byte(body))
	r := f.invoke(ev)
	if r.Status != http.StatusUnauthorized || r.Header["WWW-Authenticate"] != `Bearer realm="flexhook"` || f.secrets.refreshes != 1 {
		t.Errorf("first request: %d %s %v after %d refreshes, want 401 with WWW-Authenticate after 1", r.Status, r.Body, r.Header, f.secrets.refreshes)
	}
	if r = f.invoke(ev); r.Status != http.StatusInternalServerError {
		t.Errorf("second request: %d %s, want 500 (the cached secret is unusable)", r.Status, r.Body)
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Errorf("%d Twilio requests, want none", n)
	}
}
