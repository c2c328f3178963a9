package flex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhook/flexhook/internal/sid"
)

// Event is the part of a TaskRouter workspace event flexhook reads: an
// entry of the Events resource, which TaskRouter keeps for 30 days — long
// after the task itself is deleted (five minutes after it ends).
type Event struct {
	SID          string // EV…
	Type         string // event_type, e.g. task.canceled
	Date         time.Time
	WorkspaceSID string
	// The task's fields as event_data carried them; empty when absent.
	TaskSID          string
	Attributes       string // the task's attributes JSON document
	AssignmentStatus string
}

// EventFilter selects events. Zero fields do not filter, except the
// window: TaskRouter's default when neither Start nor Minutes is set is the
// last 15 minutes.
type EventFilter struct {
	Type       string    // EventType: one event type
	TaskSID    string    // TaskSid
	Start, End time.Time // StartDate, EndDate
	Minutes    int       // Minutes: the last N minutes (when Start is zero)
}

// eventPageSize is how many events one page reads.
const eventPageSize = 200

// ErrTooManyPages: an Events walk stopped at its page bound with more
// pages to read; what was visited is not everything.
var ErrTooManyPages = errors.New("too many pages of events")

// maxEventPages bounds one Events walk (200 events a page): 100,000
// events. A variable so that tests can lower it.
var maxEventPages = 500

// Events walks the events of workspace ws that match f, page by page
// following meta.next_page_url's PageToken (TaskRouter asks not to use the
// Page parameter on this resource), newest first as TaskRouter lists them,
// calling visit for each. It stops when visit returns an error, which it
// returns, or after maxEventPages pages with more to read, returning
// ErrTooManyPages: the walk is then incomplete (the oldest events were not
// visited). Other errors are ErrInvalidSID (no call made) or an *Error from
// the retrying call path.
func (c *Client) Events(ctx context.Context, ws string, f EventFilter, visit func(Event) error) error {
	checks := []sidCheck{{"workspace SID", sid.Workspace, ws}}
	if f.TaskSID != "" {
		checks = append(checks, sidCheck{"task SID", sid.Task, f.TaskSID})
	}
	if err := checkSIDs(checks...); err != nil {
		return err
	}
	p := (&taskrouterv1.ListEventParams{}).SetPageSize(eventPageSize)
	if f.Type != "" {
		p.SetEventType(f.Type)
	}
	if f.TaskSID != "" {
		p.SetTaskSid(f.TaskSID)
	}
	if !f.Start.IsZero() {
		p.SetStartDate(f.Start.UTC())
	}
	if !f.End.IsZero() {
		p.SetEndDate(f.End.UTC())
	}
	if f.Minutes > 0 {
		p.SetMinutes(f.Minutes)
	}
	token := ""
	for n := 0; n < maxEventPages; n++ {
		var resp *taskrouterv1.ListEventResponse
		_, err := c.do(ctx, "list events", func(s services) (err error) {
			resp, err = s.taskrouter.PageEvent(ws, p, token, "")
			return err
		})
		if err != nil {
			return err
		}
		for _, e := range resp.Events {
			if err := visit(toEvent(e, ws)); err != nil {
				return err
			}
		}
		if resp.Meta.NextPageUrl == nil || *resp.Meta.NextPageUrl == "" || len(resp.Events) == 0 {
			return nil
		}
		next, err := url.Parse(*resp.Meta.NextPageUrl)
		if err != nil {
			return fmt.Errorf("list events: bad next page URL: %w", err)
		}
		if token = next.Query().Get("PageToken"); token == "" {
			return fmt.Errorf("list events: next page URL has no PageToken")
		}
	}
	return fmt.Errorf("list events: %w: stopped after %d pages of %d", ErrTooManyPages, maxEventPages, eventPageSize)
}

// toEvent reads one event. The Event resource documents event_data only as
// "data about the event"; the keys read here (task_sid, task_attributes,
// task_assignment_status) are our belief of its task fields, so the
// decoding is tolerant: the callback's CamelCase spellings are accepted
// too, attributes may be a JSON string or an object, and a Task event with
// no task_sid falls back to resource_sid.
func toEvent(e taskrouterv1.TaskrouterV1Event, ws string) Event {
	ev := Event{
		SID:          deref(e.Sid, ""),
		Type:         deref(e.EventType, ""),
		WorkspaceSID: deref(e.WorkspaceSid, ws),
	}
	switch {
	case e.EventDate != nil:
		ev.Date = *e.EventDate
	case e.EventDateMs != nil:
		ev.Date = time.UnixMilli(*e.EventDateMs)
	}
	var data map[string]any
	if e.EventData != nil {
		data, _ = (*e.EventData).(map[string]any)
	}
	ev.TaskSID = dataString(data, "task_sid", "TaskSid")
	ev.AssignmentStatus = dataString(data, "task_assignment_status", "TaskAssignmentStatus")
	ev.Attributes = dataJSON(data, "task_attributes", "TaskAttributes")
	if ev.TaskSID == "" && deref(e.ResourceType, "") == "Task" {
		ev.TaskSID = deref(e.ResourceSid, "")
	}
	return ev
}

// dataString returns the first of keys that is a string in data.
func dataString(data map[string]any, keys ...string) string {
	for _, k := range keys {
		if s, ok := data[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// dataJSON returns the first of keys present in data as a JSON document: a
// string as it is (TaskRouter sends attributes as a JSON string), an
// object re-encoded.
func dataJSON(data map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := data[k].(type) {
		case string:
			if v != "" {
				return v
			}
		case map[string]any:
			if b, err := json.Marshal(v); err == nil {
				return string(b)
			}
		}
	}
	return ""
}
