package flex

import (
	"encoding/json"
	"testing"
	"time"

	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

// The event_data keys are not documented: toEvent reads the snake case
// keys, the callback's CamelCase ones, attributes as a string or an object,
// and falls back to resource_sid for the task.
func TestToEventTolerant(t *testing.T) {
	const ws = "WS0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, body string
		want       Event
	}{
		{"snake case", `{"sid":"EV1","event_type":"task.canceled","event_date":"2026-01-02T03:04:05Z","workspace_sid":"` + ws + `",
			"event_data":{"task_sid":"WT1","task_attributes":"{\"a\":1}","task_assignment_status":"canceled"}}`,
			Event{SID: "EV1", Type: "task.canceled", Date: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), WorkspaceSID: ws,
				TaskSID: "WT1", Attributes: `{"a":1}`, AssignmentStatus: "canceled"}},
		{"camel case, object attributes, date in ms", `{"sid":"EV2","event_type":"task.deleted","event_date_ms":1700000000000,
			"event_data":{"TaskSid":"WT2","TaskAttributes":{"a":1},"TaskAssignmentStatus":"assigned"}}`,
			Event{SID: "EV2", Type: "task.deleted", Date: time.UnixMilli(1700000000000), WorkspaceSID: ws,
				TaskSID: "WT2", Attributes: `{"a":1}`, AssignmentStatus: "assigned"}},
		{"no event data", `{"sid":"EV3","event_type":"task.completed","resource_type":"Task","resource_sid":"WT3"}`,
			Event{SID: "EV3", Type: "task.completed", WorkspaceSID: ws, TaskSID: "WT3"}},
		{"not a task", `{"sid":"EV4","event_type":"worker.activity.update","resource_type":"Worker","resource_sid":"WK4","event_data":"x"}`,
			Event{SID: "EV4", Type: "worker.activity.update", WorkspaceSID: ws}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e taskrouterv1.TaskrouterV1Event
			if err := json.Unmarshal([]byte(tt.body), &e); err != nil {
				t.Fatal(err)
			}
			got := toEvent(e, ws)
			if !got.Date.Equal(tt.want.Date) {
				t.Errorf("toEvent(%s).Date = %v, want %v", tt.name, got.Date, tt.want.Date)
			}
			got.Date, tt.want.Date = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("toEvent(%s) = %+v, want %+v", tt.name, got, tt.want)
			}
		})
	}
}
