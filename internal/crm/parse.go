package crm

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flexhook/flexhook/internal/sid"
)

// Status values a CRM may ask for. An absent status is returned as "" and
// the caller applies its default.
const (
	StatusClosed   = "closed"
	StatusInactive = "inactive"
)

// MaxDepth is the deepest nesting of arrays and objects Parse accepts,
// checked before any decoding.
const MaxDepth = 32

// Body field names.
const (
	fieldInteraction = "interaction_sid"
	fieldChannel     = "channel_sid"
	fieldTask        = "task_sid"
	fieldStatus      = "status"
)

// mapFields are the body fields, in the order they are read and checked.
var mapFields = []string{fieldInteraction, fieldChannel, fieldTask, fieldStatus}

// ErrMalformedJSON means the body is not a single well-formed JSON object:
// a syntax error, another kind of value, trailing data, invalid UTF-8 or
// nesting deeper than MaxDepth. Callers answer 400.
var ErrMalformedJSON = errors.New("crm: body is not a well-formed JSON object")

// ValidationError reports a well-formed body whose content is wrong.
// Callers answer 422 with its message, which names the field and quotes at
// most a short, sanitized excerpt of the value.
type ValidationError struct {
	// Field is the JSON field at fault, for example "channel_sid".
	Field string
	// Reason says what is wrong with it.
	Reason string
	// Got is the quoted excerpt of the value, or "". It helps the CRM
	// that sent the value; it does not belong in logs, since a value in
	// the wrong field may be anything, personal data included.
	Got string
}

// Error returns "crm: <field>: <reason>", followed by ", got <excerpt>"
// when the value is quoted.
func (e *ValidationError) Error() string {
	if e.Got != "" {
		return "crm: " + e.Field + ": " + e.Reason + ", got " + e.Got
	}
	return "crm: " + e.Field + ": " + e.Reason
}

// Unquoted returns Error without the excerpt of the value, for logs.
func (e *ValidationError) Unquoted() string {
	return "crm: " + e.Field + ": " + e.Reason
}

// Request is what the CRM asks for: close one Interaction Channel, named
// directly or through the TaskRouter task routed on it.
type Request struct {
	// InteractionSID and ChannelSID are set together (KD…, UO…), or
	// neither is.
	InteractionSID string
	ChannelSID     string
	// TaskSID (WT…) is set when the body named a task instead.
	TaskSID string
	// Status is StatusClosed, StatusInactive or "" when not given.
	Status string
}

// Parse reads a CRM callback body, either
//
//	{"interaction_sid":"KD…","channel_sid":"UO…","status":"closed"|"inactive"}
//
// or {"task_sid":"WT…"}, optionally with "status" too. Field names match
// exactly; unknown fields are ignored; null or "" counts as absent.
//
// It returns an error wrapping ErrMalformedJSON when the body is not a
// single well-formed JSON object of valid UTF-8 nested at most MaxDepth
// deep, and a *ValidationError when a field is not a string, a SID does not
// have its type's prefix and 32 hex digits, status is another word, a
// field is repeated, or the body gives both or neither of the two forms.
// Parse never panics, whatever the input.
func Parse(body []byte) (Request, error) {
	if err := checkJSONText(body); err != nil {
		return Request{}, err
	}
	if !json.Valid(body) {
		var skip struct{}
		err := json.Unmarshal(body, &skip) // only to describe the syntax error
		return Request{}, fmt.Errorf("%w: %v", ErrMalformedJSON, err)
	}
	// The members are read in order rather than decoded into a map, which
	// would keep the last of two "channel_sid" fields silently: a repeated
	// field is refused.
	members, err := objectMembers(body)
	if err != nil {
		return Request{}, fmt.Errorf("%w: not an object", ErrMalformedJSON)
	}
	var r Request
	fields := map[string]*string{fieldInteraction: &r.InteractionSID, fieldChannel: &r.ChannelSID, fieldTask: &r.TaskSID, fieldStatus: &r.Status}
	seen := map[string]bool{}
	for _, m := range members {
		dst, ok := fields[m.key]
		switch {
		case !ok:
			continue
		case seen[m.key]:
			return Request{}, &ValidationError{Field: m.key, Reason: "appears more than once"}
		}
		seen[m.key] = true
		if string(m.value) != "null" && json.Unmarshal(m.value, dst) != nil {
			return Request{}, &ValidationError{Field: m.key, Reason: "must be a string"}
		}
	}
	interaction, channel, task := r.InteractionSID != "", r.ChannelSID != "", r.TaskSID != ""
	switch {
	case (interaction || channel) && task:
		return Request{}, &ValidationError{Field: fieldTask, Reason: "cannot be combined with interaction_sid and channel_sid"}
	case channel && !interaction:
		return Request{}, &ValidationError{Field: fieldInteraction, Reason: "is required with channel_sid"}
	case interaction && !channel:
		return Request{}, &ValidationError{Field: fieldChannel, Reason: "is required with interaction_sid"}
	case !interaction && !task:
		return Request{}, &ValidationError{Field: fieldInteraction, Reason: "is required, with channel_sid, unless task_sid is given"}
	}
	if err := checkValues(r, func(field string) string { return field }); err != nil {
		return Request{}, err
	}
	return r, nil
}

// checkValues validates the SIDs and status of a request whose form is
// known (a task, or an interaction with its channel), naming each field
// as name returns it.
func checkValues(r Request, name func(field string) string) error {
	switch {
	case r.TaskSID != "":
		if !sid.Valid(sid.Task, r.TaskSID) {
			return badSID(name(fieldTask), "a TaskRouter Task", sid.Task, r.TaskSID)
		}
	case !sid.Valid(sid.Interaction, r.InteractionSID):
		return badSID(name(fieldInteraction), "a Flex Interaction", sid.Interaction, r.InteractionSID)
	case !sid.Valid(sid.Channel, r.ChannelSID):
		return badSID(name(fieldChannel), "a Flex Interaction Channel", sid.Channel, r.ChannelSID)
	}
	if r.Status != "" && r.Status != StatusClosed && r.Status != StatusInactive {
		return &ValidationError{
			Field:  name(fieldStatus),
			Reason: fmt.Sprintf("must be %q or %q", StatusClosed, StatusInactive),
			Got:    excerpt(r.Status),
		}
	}
	return nil
}

// badSID builds the ValidationError for a value that is not a SID of the
// expected type.
func badSID(field, what, prefix, got string) *ValidationError {
	return &ValidationError{
		Field:  field,
		Reason: fmt.Sprintf("must be %s SID (%q and 32 hex digits)", what, prefix),
		Got:    excerpt(got),
	}
}

// excerptLen is how many bytes of a bad value an error message may quote.
const excerptLen = 12

// excerpt quotes at most excerptLen bytes of s, with anything but visible
// ASCII replaced by '?', and notes the full length when it cuts.
func excerpt(s string) string {
	var b [excerptLen]byte
	n := min(len(s), excerptLen)
	for i := range n {
		c := s[i]
		if c < ' ' || c >= 0x7f || c == '"' || c == '\\' {
			c = '?'
		}
		b[i] = c
	}
	if len(s) > excerptLen {
		return fmt.Sprintf("\"%s...\" (%d bytes)", b[:n], len(s))
	}
	return fmt.Sprintf("\"%s\"", b[:n])
}
