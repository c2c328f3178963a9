package webhook

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

func TestTaskRouterCloses(t *testing.T) {
	f := newFixture(t, nil)
	ch, task := f.channel("canceled")
	r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken))
	if r.Status != http.StatusNoContent || r.Header["Content-Type"] != "application/json" || len(r.Body) != 0 {
		t.Fatalf("response = %d %v %q, want 204 with a JSON content type", r.Status, r.Header, r.Body)
	}
	if got := f.status(ch); got != "closed" {
		t.Errorf("channel status = %s, want closed", got)
	}
	posts := f.fake.Requests()
	last := posts[len(posts)-1]
	if last.Form.Get("Status") != "closed" || last.Form.Get("Routing") != `{"status":"closed"}` {
		t.Errorf("close form = %v, want Status=closed Routing={\"status\":\"closed\"}", last.Form)
	}
	log := f.lastLog()
	for k, want := range map[string]any{
		"route": "/taskrouter", "outcome": "closed", "status": float64(204), "event_type": "task.canceled",
		"task_sid": task.SID, "channel_sid": ch.SID, "interaction_sid": ch.InteractionSID, "attempts": float64(2), // fetch, update
		"requestId": nil,
	} {
		if want != nil && log[k] != want {
			t.Errorf("summary log %q = %v, want %v", k, log[k], want)
		}
	}
	if _, ok := log["duration_ms"]; !ok {
		t.Errorf("summary log has no duration_ms: %v", log)
	}
}

// The heart of the live-task guard: after a transfer, the first agent's
// task completes while the second agent's task is still assigned on the
// same channel. Closing would end the live conversation.
func TestTaskRouterTransferKeepsLiveConversation(t *testing.T) {
	// task.completed is opt-in; the guard applies to every close event.
	f := newFixture(t, map[string]string{"TASKROUTER_CLOSE_EVENTS": "task.canceled,task.completed"})
	ch, first := f.channel("completed")
	second := f.fake.AddChannelTask(ws, ch, "assigned")
	r := f.invoke(f.signedTaskRouter(f.taskEvent("task.completed", first), authToken))
	if r.Status != http.StatusNoContent {
		t.Fatalf("status = %d, want 204", r.Status)
	}
	if got := f.status(ch); got != "active" || f.flexPosts() != 0 {
		t.Fatalf("channel status = %s after %d closes, want active and none", got, f.flexPosts())
	}
	if log := f.lastLog(); log["outcome"] != "skipped_live_task" || log["live_task_sid"] != second.SID {
		t.Errorf("summary log = %v, want skipped_live_task naming %s", log, second.SID)
	}
	// When the second agent completes, nothing is left: now it closes.
	if err := f.fake.SetTaskStatus(ws, second.SID, "completed"); err != nil {
		t.Fatal(err)
	}
	second, _ = f.fake.Task(ws, second.SID)
	f.invoke(f.signedTaskRouter(f.taskEvent("task.completed", second), authToken))
	if got := f.status(ch); got != "closed" {
		t.Errorf("after the last task completed, channel status = %s, want closed", got)
	}
}

func TestTaskRouterIgnores(t *testing.T) {
	f := newFixture(t, nil)
	_, task := f.channel("assigned")
	voice := f.fake.AddTask(flextest.Task{WorkspaceSID: ws, AssignmentStatus: "canceled", Attributes: `{"call_sid":"CA0123","from":"+15551230000"}`})
	worker := f.taskEvent("worker.activity.update", task)
	worker.Del("TaskSid")
	tests := []struct {
		name   string
		form   url.Values
		reason string
	}{
		{"not a close event", f.taskEvent("task.created", task), taskrouter.ReasonNotConfigured},
		{"reservation event", f.taskEvent("reservation.accepted", task), taskrouter.ReasonNotConfigured},
		{"voice task", f.taskEvent("task.canceled", voice), taskrouter.ReasonNotFlex},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.invoke(f.signedTaskRouter(tt.form, authToken))
			if r.Status != http.StatusNoContent {
				t.Errorf("status = %d, want 204", r.Status)
			}
			if log := f.lastLog(); log["outcome"] != "ignored" || log["reason"] != tt.reason {
				t.Errorf("summary log = %v, want ignored/%s", log, tt.reason)
			}
		})
	}
	if n := len(f.fake.Requests()); n != 0 {
		t.Errorf("ignored events made %d Twilio requests, want 0", n)
	}
}

func TestTaskRouterRejects(t *testing.T) {
	f := newFixture(t, nil)
	ch, task := f.channel("canceled")
	good := f.taskEvent("task.canceled", task)
	u := "https://" + publicHost + "/taskrouter"
	formHeader := func(sig ...string) http.Header {
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		if len(sig) > 0 {
			h[taskrouter.SignatureHeader] = sig
		}
		return h
	}
	signed := func(form url.Values) []byte { return f.signedTaskRouter(form, authToken) }
	with := func(k, v string) url.Values {
		g := url.Values{}
		for kk, vv := range good {
			g[kk] = vv
		}
		g.Set(k, v)
		return g
	}
	goodSig := taskrouter.Sign(authToken, u, good)
	bigBody := strings.Repeat("a", MaxBody+1)
	tests := []struct {
		name    string
		payload []byte
		status  int
		outcome string
	}{
		{"missing signature", f.event("POST", u, formHeader(), []byte(good.Encode())), 403, "rejected_auth"},
		{"bad signature", f.event("POST", u, formHeader("AAAAAAAAAAAAAAAAAAAAAAAAAAA="), []byte(good.Encode())), 403, "rejected_auth"},
		{"signed by another token", f.signedTaskRouter(good, "someoneelse"), 403, "rejected_auth"},
		{"repeated signature header", f.event("POST", u, formHeader(goodSig, goodSig), []byte(good.Encode())), 403, "rejected_auth"},
		{"tampered body", f.event("POST", u, formHeader(goodSig), []byte(with("TaskSid", flextest.NewSID("WT")).Encode())), 403, "rejected_auth"},
		{"signed for another URL", f.event("POST", "https://"+publicHost+"/taskrouter?x=1", formHeader(goodSig), []byte(good.Encode())), 403, "rejected_auth"},
		{"other account", signed(with("AccountSid", "AC"+strings.Repeat("f", 32))), 403, "rejected_auth"},
		{"replayed old event", signed(with("TimestampMs", strconvUnixMilli(f.clock.Now().Add(-16*time.Minute)))), 403, "rejected_auth"},
		{"missing EventType", signed(with("EventType", "")), 400, "invalid"},
		{"bad TaskSid", signed(with("TaskSid", "WT/../Tasks")), 400, "invalid"},
		{"bad channel attribute", signed(with("TaskAttributes", `{"flexInteractionSid":"`+ch.InteractionSID+`","flexInteractionChannelSid":"UO..%2F"}`)), 400, "invalid"},
		{"repeated form key", f.event("POST", u, formHeader(goodSig), []byte(good.Encode()+"&EventType=task.canceled")), 400, "invalid"},
		{"JSON body", f.event("POST", u, http.Header{"Content-Type": {"application/json"}, taskrouter.SignatureHeader: {goodSig}}, []byte(`{"EventType":"task.canceled"}`)), 415, "invalid"},
		{"no content type", f.event("POST", u, http.Header{taskrouter.SignatureHeader: {goodSig}}, []byte(good.Encode())), 415, "invalid"},
		{"body too large", f.event("POST", u, formHeader(goodSig), []byte(bigBody)), 413, "invalid"},
		{"GET", f.event("GET", u, formHeader(goodSig), nil), 405, "invalid"},
		{"unknown route", f.event("POST", "https://"+publicHost+"/admin", formHeader(goodSig), []byte(good.Encode())), 404, "invalid"},
		{"not an event", []byte(`{"hello":"world"}`), 400, "invalid"},
		{"not JSON", []byte(`EventType=task.canceled`), 400, "invalid"},
		{"bad base64", []byte(`{"version":"2.0","rawPath":"/taskrouter","requestContext":{"domainName":"` + publicHost + `","http":{"method":"POST","path":"/taskrouter"}},"headers":{"content-type":"application/x-www-form-urlencoded"},"body":"%%%","isBase64Encoded":true}`), 400, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.invoke(tt.payload)
			if r.Status != tt.status {
				t.Errorf("status = %d (%s), want %d", r.Status, r.Body, tt.status)
			}
			if !strings.HasPrefix(string(r.Body), `{"error":"`) {
				t.Errorf("body = %s, want a JSON error", r.Body)
			}
			if log := f.lastLog(); log["outcome"] != tt.outcome || log["error"] == nil {
				t.Errorf("summary log = %v, want outcome %s with an error", log, tt.outcome)
			}
		})
	}
	if n := len(f.fake.Requests()); n != 0 || f.status(ch) != "active" {
		t.Errorf("rejected requests made %d Twilio calls (channel %s), want none", n, f.status(ch))
	}
	// The next valid request still works.
	if r := f.invoke(f.signedTaskRouter(good, authToken)); r.Status != 204 || f.status(ch) != "closed" {
		t.Errorf("valid request after rejects = %d, channel %s", r.Status, f.status(ch))
	}
	if r := f.invoke(f.event("GET", u, nil, nil)); r.Header["Allow"] != "POST" {
		t.Errorf("405 without Allow: POST: %v", r.Header)
	}
}

func TestTaskRouterCloseSettings(t *testing.T) {
	tests := []struct {
		name                    string
		env                     map[string]string
		wantStatus, wantRouting string
	}{
		{"inactive", map[string]string{"CLOSE_STATUS": "inactive"}, "inactive", `{"status":"closed"}`},
		{"inactive with wrapup still routes", map[string]string{"CLOSE_STATUS": "inactive", "CLOSE_TASKS": "wrapup"}, "inactive", `{"status":"closed"}`},
		{"closed to wrapup", map[string]string{"CLOSE_TASKS": "wrapup"}, "closed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.env)
			ch, task := f.channel("canceled")
			if r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)); r.Status != 204 {
				t.Fatalf("status = %d %s", r.Status, r.Body)
			}
			reqs := f.fake.Requests()
			form := reqs[len(reqs)-1].Form
			if form.Get("Status") != tt.wantStatus || form.Get("Routing") != tt.wantRouting || f.status(ch) != tt.wantStatus {
				t.Errorf("close form = %v (channel %s), want Status=%s Routing=%q", form, f.status(ch), tt.wantStatus, tt.wantRouting)
			}
		})
	}
	f := newFixture(t, map[string]string{"TASKROUTER_CLOSE_EVENTS": "task.completed"})
	_, task := f.channel("canceled")
	f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken))
	if f.flexPosts() != 0 {
		t.Errorf("task.canceled closed although TASKROUTER_CLOSE_EVENTS=task.completed")
	}
}

func TestTaskRouterTwilioOutcomes(t *testing.T) {
	t.Run("already closed", func(t *testing.T) {
		f := newFixture(t, nil)
		ch, task := f.channel("canceled")
		f.fake.AddChannel(flextest.Channel{InteractionSID: ch.InteractionSID, SID: ch.SID, Status: "closed"})
		if r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)); r.Status != 204 {
			t.Errorf("status = %d", r.Status)
		}
		if f.lastLog()["outcome"] != "closed" && f.lastLog()["outcome"] != "already_closed" {
			t.Errorf("outcome = %v", f.lastLog()["outcome"])
		}
	})
	t.Run("channel gone", func(t *testing.T) {
		f := newFixture(t, nil)
		task := f.fake.AddChannelTask(ws, flextest.Channel{InteractionSID: flextest.NewSID("KD"), SID: flextest.NewSID("UO")}, "canceled")
		if r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)); r.Status != 204 {
			t.Errorf("status = %d", r.Status)
		}
		if f.lastLog()["outcome"] != "not_found" {
			t.Errorf("outcome = %v, want not_found", f.lastLog()["outcome"])
		}
	})
	t.Run("429 then success", func(t *testing.T) {
		f := newFixture(t, nil)
		ch, task := f.channel("canceled")
		f.fake.Inject(flextest.Fault{Method: "POST", Path: "/v1/Interactions", Status: 429, Header: http.Header{"Retry-After": {"1"}}, Times: 1})
		if r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken)); r.Status != 204 || f.status(ch) != "closed" {
			t.Errorf("status = %d, channel %s", r.Status, f.status(ch))
		}
		if log := f.lastLog(); log["attempts"] != float64(3) {
			t.Errorf("attempts = %v, want 3 (fetch, 429, update)", log["attempts"])
		}
	})
	t.Run("persistent 503 before the deadline", func(t *testing.T) {
		f := newFixture(t, nil)
		ch, task := f.channel("canceled")
		f.fake.Inject(flextest.Fault{Method: "POST", Status: 503})
		ctx, cancel := context.WithDeadline(context.Background(), f.clock.Now().Add(10*time.Second))
		defer cancel()
		r := f.invokeCtx(ctx, f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken))
		if r.Status != http.StatusServiceUnavailable || r.Header["Retry-After"] == "" {
			t.Errorf("response = %d %v, want 503 with Retry-After", r.Status, r.Header)
		}
		if log := f.lastLog(); log["outcome"] != "failed_transient" || log["attempts"].(float64) < 2 {
			t.Errorf("summary log = %v, want failed_transient after retries", log)
		}
		if f.status(ch) != "active" {
			t.Errorf("channel status = %s", f.status(ch))
		}
	})
	t.Run("permanent refusal", func(t *testing.T) {
		f := newFixture(t, nil)
		_, task := f.channel("canceled")
		f.fake.Inject(flextest.Fault{Method: "POST", Status: 400, Code: 45359})
		r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken))
		if r.Status != http.StatusBadGateway || !strings.Contains(string(r.Body), "45359") {
			t.Errorf("response = %d %s, want 502 naming the Twilio code", r.Status, r.Body)
		}
		if log := f.lastLog(); log["outcome"] != "failed_permanent" {
			t.Errorf("outcome = %v", log["outcome"])
		}
	})
	t.Run("secret unavailable", func(t *testing.T) {
		f := newFixture(t, nil)
		_, task := f.channel("canceled")
		f.secrets.err = retryableErr{}
		r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken))
		if r.Status != http.StatusServiceUnavailable {
			t.Errorf("status = %d, want 503", r.Status)
		}
	})
}

type retryableErr struct{}

func (retryableErr) Error() string        { return "secrets manager throttled" }
func (retryableErr) RetryableError() bool { return true }

func TestTaskRouterTokenRotation(t *testing.T) {
	f := newFixture(t, nil)
	ch, task := f.channel("canceled")
	form := f.taskEvent("task.canceled", task)
	// Twilio now signs with a new token; the cached secret only has the old one.
	f.secrets.next = secretWith(authToken2, authToken)
	f.fake.SetCredentials(map[string]string{acct: authToken2})
	if r := f.invoke(f.signedTaskRouter(form, authToken2)); r.Status != 204 || f.status(ch) != "closed" {
		t.Fatalf("after rotation: status = %d, channel %s", r.Status, f.status(ch))
	}
	if f.secrets.refreshes != 1 {
		t.Errorf("refreshes = %d, want 1", f.secrets.refreshes)
	}
	// Both tokens are accepted during the overlap.
	ch2, task2 := f.channel("canceled")
	if r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task2), authToken)); r.Status != 204 || f.status(ch2) != "closed" {
		t.Errorf("old token during overlap: status = %d", r.Status)
	}
}

func TestTaskRouterEventShapes(t *testing.T) {
	form := func(f *fixture) (url.Values, flextest.Channel) {
		ch, task := f.channel("canceled")
		return f.taskEvent("task.canceled", task), ch
	}
	sign := func(u string, fv url.Values) http.Header {
		return http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, taskrouter.SignatureHeader: {taskrouter.Sign(authToken, u, fv)}}
	}
	t.Run("REST API with stage", func(t *testing.T) {
		f := newFixture(t, nil)
		fv, ch := form(f)
		u := "https://" + publicHost + "/prod/taskrouter?source=twilio"
		ev, err := gatewaytest.NewRESTEvent("POST", u, sign(u, fv), []byte(fv.Encode()), gatewaytest.EventOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if r := f.invoke(ev); r.Status != 204 || f.status(ch) != "closed" {
			t.Errorf("status = %d %s, channel %s", r.Status, r.Body, f.status(ch))
		}
	})
	t.Run("HTTP API named stage", func(t *testing.T) {
		f := newFixture(t, nil)
		fv, ch := form(f)
		u := "https://" + publicHost + "/live/taskrouter"
		ev, _ := gatewaytest.NewHTTPEvent("POST", u, sign(u, fv), []byte(fv.Encode()), gatewaytest.EventOptions{Stage: "live"})
		if r := f.invoke(ev); r.Status != 204 || f.status(ch) != "closed" {
			t.Errorf("status = %d %s", r.Status, r.Body)
		}
	})
	t.Run("Function URL", func(t *testing.T) {
		f := newFixture(t, nil)
		fv, ch := form(f)
		u := "https://abcdefghijklmnop.lambda-url.us-east-1.on.aws/taskrouter"
		ev, _ := gatewaytest.NewHTTPEvent("POST", u, sign(u, fv), []byte(fv.Encode()), gatewaytest.EventOptions{})
		if r := f.invoke(ev); r.Status != 204 || f.status(ch) != "closed" {
			t.Errorf("status = %d %s", r.Status, r.Body)
		}
	})
	t.Run("custom domain with PUBLIC_BASE_URL", func(t *testing.T) {
		f := newFixture(t, map[string]string{"PUBLIC_BASE_URL": "https://hooks.example.com/twilio/"})
		fv, ch := form(f)
		// API Gateway delivers the stage path; Twilio signed the custom domain URL.
		signedURL := "https://hooks.example.com/twilio/taskrouter?x=1"
		ev, _ := gatewaytest.NewHTTPEvent("POST", "https://"+publicHost+"/taskrouter?x=1", sign(signedURL, fv), []byte(fv.Encode()), gatewaytest.EventOptions{})
		if r := f.invoke(ev); r.Status != 204 || f.status(ch) != "closed" {
			t.Errorf("status = %d %s", r.Status, r.Body)
		}
	})
	t.Run("base64 body decoded before verification", func(t *testing.T) {
		f := newFixture(t, nil)
		fv, ch := form(f)
		u := "https://" + publicHost + "/taskrouter"
		ev, _ := gatewaytest.NewHTTPEvent("POST", u, sign(u, fv), []byte(fv.Encode()), gatewaytest.EventOptions{})
		if !strings.Contains(string(ev), base64.StdEncoding.EncodeToString([]byte(fv.Encode()))[:20]) {
			t.Fatalf("test event body is not base64")
		}
		if r := f.invoke(ev); r.Status != 204 || f.status(ch) != "closed" {
			t.Errorf("status = %d %s", r.Status, r.Body)
		}
	})
}

func TestPanicBecomes500(t *testing.T) {
	f := newFixture(t, nil)
	_, task := f.channel("canceled")
	f.handler.process = nil // a nil processor panics on use: a stand-in for any bug
	r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken))
	if r.Status != 500 || string(r.Body) != `{"error":"internal error"}` {
		t.Errorf("response = %d %s, want a JSON 500", r.Status, r.Body)
	}
	if log := f.lastLog(); log["outcome"] != "failed_permanent" {
		t.Errorf("summary after panic = %v", log)
	}
	if !strings.Contains(f.logs.String(), `"message":"panic"`) {
		t.Errorf("the panic was not logged")
	}
}
