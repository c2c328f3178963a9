package taskrouter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/flexhook/flexhook/internal/sid"
)

// More failures; test with errors.Is.
var (
	// ErrTooOld: the event's timestamp is outside the replay window.
	ErrTooOld = errors.New("taskrouter: event is outside the replay window")
	// ErrWrongAccount: the event belongs to another Twilio account.
	ErrWrongAccount = errors.New("taskrouter: event is for another account")
)

// FieldError reports a malformed request: a form field that is missing,
// repeated or invalid, or (Field "") a body that is not a form at all. It
// never quotes the value.
type FieldError struct{ Field, Reason string }

func (e *FieldError) Error() string {
	if e.Field != "" {
		return "taskrouter: " + e.Field + " " + e.Reason
	}
	return "taskrouter: " + e.Reason
}

// Event is a TaskRouter event callback, reduced to what flexhook uses.
type Event struct {
	Type             string    // EventType, e.g. task.completed
	AccountSID       string    // AccountSid
	WorkspaceSID     string    // WorkspaceSid
	ResourceType     string    // ResourceType: Task, Reservation, Workflow…
	TaskSID          string    // TaskSid, empty on non-task events
	AssignmentStatus string    // TaskAssignmentStatus
	Attributes       string    // TaskAttributes, a JSON document
	Time             time.Time // TimestampMs or Timestamp; zero when absent
}

// ParseForm decodes a form-encoded body with url.ParseQuery. Beyond what
// ParseQuery refuses (bad escapes, semicolons, more than maxFormFields
// fields) it refuses repeated keys (a signature covers only one value of
// each, so a repeated key is either a forgery or a broken proxy), invalid
// UTF-8 and NUL bytes. Errors are *FieldError and never quote a value.
func ParseForm(body []byte) (url.Values, error) {
	if !utf8.Valid(body) {
		return nil, &FieldError{Reason: "body is not valid UTF-8"}
	}
	if bytes.Count(body, []byte("&"))+1 > maxFormFields {
		return nil, &FieldError{Reason: "body is not a valid form encoding"}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &FieldError{Reason: "body is not a valid form encoding"}
	}
	for _, k := range slices.Sorted(maps.Keys(form)) {
		v := form[k]
		switch {
		case len(v) > 1:
			return nil, &FieldError{Field: sanitize(k), Reason: "is repeated"}
		case !utf8.ValidString(k) || !utf8.ValidString(v[0]):
			return nil, &FieldError{Field: sanitize(k), Reason: "is not valid UTF-8"}
		case strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v[0], 0) >= 0:
			return nil, &FieldError{Field: sanitize(k), Reason: "contains a NUL byte"}
		}
	}
	return form, nil
}

// maxFormFields is url.ParseQuery's default limit on the number of fields,
// checked here too so the limit does not depend on a GODEBUG setting.
const maxFormFields = 10000

// sanitize shortens a client-supplied name for use in an error message.
func sanitize(s string) string {
	const max = 40
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// Parse reads an event from its form. EventType and AccountSid are
// required; SIDs that are present must be well formed. Errors are
// *FieldError.
func Parse(form url.Values) (Event, error) {
	ev := Event{
		Type:             form.Get("EventType"),
		AccountSID:       form.Get("AccountSid"),
		WorkspaceSID:     form.Get("WorkspaceSid"),
		ResourceType:     form.Get("ResourceType"),
		TaskSID:          form.Get("TaskSid"),
		AssignmentStatus: form.Get("TaskAssignmentStatus"),
		Attributes:       form.Get("TaskAttributes"),
	}
	switch {
	case ev.Type == "":
		return Event{}, &FieldError{Field: "EventType", Reason: "is required"}
	case len(ev.Type) > 64 || !isEventType(ev.Type):
		return Event{}, &FieldError{Field: "EventType", Reason: "is not a TaskRouter event type"}
	case ev.AccountSID == "":
		return Event{}, &FieldError{Field: "AccountSid", Reason: "is required"}
	case !sid.Valid(sid.Account, ev.AccountSID):
		return Event{}, &FieldError{Field: "AccountSid", Reason: "is not an AC SID"}
	case ev.WorkspaceSID != "" && !sid.Valid(sid.Workspace, ev.WorkspaceSID):
		return Event{}, &FieldError{Field: "WorkspaceSid", Reason: "is not a WS SID"}
	case ev.TaskSID != "" && !sid.Valid(sid.Task, ev.TaskSID):
		return Event{}, &FieldError{Field: "TaskSid", Reason: "is not a WT SID"}
	}
	t, err := eventTime(form)
	if err != nil {
		return Event{}, err
	}
	ev.Time = t
	return ev, nil
}

// isEventType accepts names like task.completed or task-queue.timeout.
func isEventType(s string) bool {
	dot := strings.IndexByte(s, '.')
	return dot > 0 && dot < len(s)-1 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz-._") == ""
}

// eventTime reads TimestampMs (epoch milliseconds) or else Timestamp (epoch
// seconds, or an RFC 3339 time).
func eventTime(form url.Values) (time.Time, error) {
	if v := form.Get("TimestampMs"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > 1<<50 {
			return time.Time{}, &FieldError{Field: "TimestampMs", Reason: "is not epoch milliseconds"}
		}
		return time.UnixMilli(ms), nil
	}
	v := form.Get("Timestamp")
	if v == "" {
		return time.Time{}, nil
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil && s > 0 && s < 1<<40 {
		return time.Unix(s, 0), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, &FieldError{Field: "Timestamp", Reason: "is not epoch seconds"}
}

// CheckAccount returns ErrWrongAccount unless the event belongs to account.
func (ev Event) CheckAccount(account string) error {
	if ev.AccountSID != account {
		return ErrWrongAccount
	}
	return nil
}

// maxSkew is how far in the future an event time may be, for clock skew.
const maxSkew = 5 * time.Minute

// CheckAge returns ErrTooOld when the event is older than maxAge at now, or
// further in the future than clock skew explains. Events without a time pass.
func (ev Event) CheckAge(now time.Time, maxAge time.Duration) error {
	if ev.Time.IsZero() {
		return nil
	}
	if age := now.Sub(ev.Time); age > maxAge || age < -maxSkew {
		return fmt.Errorf("%w (event time %s)", ErrTooOld, ev.Time.UTC().Format(time.RFC3339))
	}
	return nil
}

// ParseJSON decodes the JSON-body variant of a webhook (a flat object of
// string fields, signed with bodySHA256) into form values, so Parse can read
// it. Non-string values and nested objects are refused.
func ParseJSON(body []byte) (url.Values, error) {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, &FieldError{Reason: "body is not a JSON object"}
	}
	form := make(url.Values, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, &FieldError{Field: sanitize(k), Reason: "is not a string"}
		}
		form.Set(k, s)
	}
	return form, nil
}
