package webhook

import (
	"net/http"
	"testing"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// TestTaskRouterLooksBeforeClosing: a TaskRouter close updates only an
// active channel. An inactive channel (Flex's Leave) is left alone even with
// CLOSE_STATUS=closed; every such outcome is answered 204.
func TestTaskRouterLooksBeforeClosing(t *testing.T) {
	for _, tt := range []struct {
		channel, want string
	}{
		{"inactive", "already_closed"},
		{"closed", "already_closed"},
		{"failed", "not_closable"},
		{"setup", "skipped_channel_state"},
		{"active", "closed"},
	} {
		t.Run(tt.channel, func(t *testing.T) {
			f := newFixture(t, map[string]string{"CLOSE_STATUS": "closed"})
			ch, task := f.channel("canceled")
			f.fake.AddChannel(flextest.Channel{InteractionSID: ch.InteractionSID, SID: ch.SID, Status: tt.channel})
			r := f.invoke(f.signedTaskRouter(f.taskEvent("task.canceled", task), authToken))
			if r.Status != http.StatusNoContent || len(r.Body) != 0 {
				t.Fatalf("response = %d %s, want 204", r.Status, r.Body)
			}
			log := f.lastLog()
			if log["outcome"] != tt.want {
				t.Errorf("outcome = %v, want %s", log["outcome"], tt.want)
			}
			wantPosts, wantStatus := 0, tt.channel
			if tt.want == "closed" {
				wantPosts, wantStatus = 1, "closed"
			}
			if f.flexPosts() != wantPosts || f.status(ch) != wantStatus {
				t.Errorf("%d updates, channel %s; want %d, %s", f.flexPosts(), f.status(ch), wantPosts, wantStatus)
			}
			if gets := f.fake.Count(http.MethodGet, "/v1/Interactions"); gets != 1 {
				t.Errorf("channel fetched %d times, want once before deciding", gets)
			}
		})
	}
}

// TestTaskRouterStatusDisagrees: an event whose task status contradicts it
// is ignored, never closed; a deletion of an ended task is the retention
// clean-up of an event already handled.
func TestTaskRouterStatusDisagrees(t *testing.T) {
	for _, tt := range []struct {
		event, status, reason string
	}{
		{"task.canceled", "assigned", "status_mismatch"},
		{"task.canceled", "", "status_missing"},
		{"task.system-deleted", "completed", "task_already_ended"},
		{"task.deleted", "canceled", "task_already_ended"},
	} {
		t.Run(tt.event+"/"+tt.status, func(t *testing.T) {
			f := newFixture(t, nil)
			ch, task := f.channel("assigned")
			form := f.taskEvent(tt.event, task)
			form.Set("TaskAssignmentStatus", tt.status)
			if tt.status == "" {
				form.Del("TaskAssignmentStatus")
			}
			r := f.invoke(f.signedTaskRouter(form, authToken))
			if r.Status != http.StatusNoContent {
				t.Fatalf("response = %d %s, want 204", r.Status, r.Body)
			}
			if log := f.lastLog(); log["outcome"] != "ignored" || log["reason"] != tt.reason {
				t.Errorf("summary = %v, want ignored %s", log, tt.reason)
			}
			if f.fake.Count("", "/") != 0 || f.status(ch) != "active" {
				t.Errorf("%d Twilio calls, channel %s; want none, active", f.fake.Count("", "/"), f.status(ch))
			}
		})
	}
	// A live task deleted (by the API or by its TTL) closes.
	f := newFixture(t, nil)
	ch, task := f.channel("assigned")
	if r := f.invoke(f.signedTaskRouter(f.taskEvent("task.deleted", task), authToken)); r.Status != 204 || f.status(ch) != "closed" {
		t.Errorf("task.deleted of an assigned task: %d, channel %s; want 204, closed", r.Status, f.status(ch))
	}
}

// TestCRMLooksBeforeClosing: a CRM close also closes an inactive channel,
// and answers 200 with the outcome when there is nothing to do.
func TestCRMLooksBeforeClosing(t *testing.T) {
	for _, tt := range []struct {
		channel, ask, want, final string
	}{
		{"inactive", "closed", "closed", "closed"},
		{"inactive", "inactive", "already_closed", "inactive"},
		{"closed", "inactive", "already_closed", "closed"},
		{"failed", "closed", "not_closable", "failed"},
		{"setup", "closed", "skipped_channel_state", "setup"},
		{"active", "inactive", "closed", "inactive"},
	} {
		t.Run(tt.channel+"/"+tt.ask, func(t *testing.T) {
			f := newFixture(t, nil)
			ch, _ := f.channel("assigned")
			f.fake.AddChannel(flextest.Channel{InteractionSID: ch.InteractionSID, SID: ch.SID, Status: tt.channel})
			r := f.invoke(f.signedCRM(closeBody(ch, tt.ask)))
			if r.Status != http.StatusOK {
				t.Fatalf("response = %d %s, want 200", r.Status, r.Body)
			}
			got := decodeCRM(t, r.Body)
			if got.Outcome != tt.want || f.status(ch) != tt.final {
				t.Errorf("CRM %s on a %s channel = %+v, channel %s; want %s, %s", tt.ask, tt.channel, got, f.status(ch), tt.want, tt.final)
			}
			if tt.want != "closed" && (f.flexPosts() != 0 || got.Status != tt.channel) {
				t.Errorf("%d updates, status %q; want none and the channel's status", f.flexPosts(), got.Status)
			}
		})
	}
}
