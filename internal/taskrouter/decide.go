package taskrouter

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/flexhook/flexhook/internal/sid"
)

// Channel names the Flex Interaction Channel a task belongs to.
type Channel struct {
	InteractionSID string // KD…, task attribute flexInteractionSid
	ChannelSID     string // UO…, task attribute flexInteractionChannelSid
}

// maxAttributesDepth bounds the nesting of task attributes flexhook will
// parse; Flex's own attributes nest three levels deep.
const maxAttributesDepth = 32

// ChannelFromAttributes finds the Interaction Channel in a task's attributes
// JSON: flexInteractionSid and flexInteractionChannelSid, with
// conversations.conversation_id as a fallback for the interaction SID. ok is
// false when the task carries no channel (voice, legacy chat or custom
// tasks): such tasks are not flexhook's to close. A document that is not a
// JSON object, or channel keys that are not well-formed SIDs, are a
// *FieldError.
func ChannelFromAttributes(attrs string) (ch Channel, ok bool, err error) {
	if attrs == "" {
		return Channel{}, false, nil
	}
	if depth(attrs) > maxAttributesDepth {
		return Channel{}, false, &FieldError{Field: "TaskAttributes", Reason: "is nested too deeply"}
	}
	var kd, uo, convID string
	var kdSet, uoSet bool
	if exactKeysNeeded(attrs) {
		// Keys match exactly, as TaskRouter's expressions and the Flex UI
		// read them: a struct would also take "FLEXINTERACTIONCHANNELSID",
		// letting one document name different channels to different
		// readers. This path is slower, and taken only when the document
		// spells a key in another case or with escapes.
		var a map[string]json.RawMessage
		if err := json.Unmarshal([]byte(attrs), &a); err != nil {
			return Channel{}, false, &FieldError{Field: "TaskAttributes", Reason: "is not a JSON object"}
		}
		var conv map[string]json.RawMessage
		if raw := a["conversations"]; len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &conv); err != nil {
				return Channel{}, false, &FieldError{Field: "TaskAttributes", Reason: "is not a JSON object"}
			}
		}
		kd, kdSet = str(a["flexInteractionSid"])
		uo, uoSet = str(a["flexInteractionChannelSid"])
		convID, _ = str(conv["conversation_id"])
	} else {
		// Every key that could match a field is spelled exactly, so the
		// struct (which allocates far less) reads what an exact reader does.
		var a struct {
			Interaction   attrString `json:"flexInteractionSid"`
			Channel       attrString `json:"flexInteractionChannelSid"`
			Conversations struct {
				ID attrString `json:"conversation_id"`
			} `json:"conversations"`
		}
		if err := json.Unmarshal([]byte(attrs), &a); err != nil {
			return Channel{}, false, &FieldError{Field: "TaskAttributes", Reason: "is not a JSON object"}
		}
		kd, kdSet = a.Interaction.s, a.Interaction.set
		uo, uoSet = a.Channel.s, a.Channel.set
		convID = a.Conversations.ID.s
	}
	if !uoSet && !kdSet {
		return Channel{}, false, nil
	}
	if !kdSet {
		// Flex puts the interaction SID in both places; accept the second
		// only when it is an interaction SID.
		if id := convID; sid.Valid(sid.Interaction, id) {
			kd, kdSet = id, true
		}
	}
	switch {
	case !uoSet:
		return Channel{}, false, &FieldError{Field: "TaskAttributes.flexInteractionChannelSid", Reason: "is missing while flexInteractionSid is set"}
	case !sid.Valid(sid.Channel, uo):
		return Channel{}, false, &FieldError{Field: "TaskAttributes.flexInteractionChannelSid", Reason: "is not a UO SID"}
	case !kdSet:
		return Channel{}, false, &FieldError{Field: "TaskAttributes.flexInteractionSid", Reason: "is missing while flexInteractionChannelSid is set"}
	case !sid.Valid(sid.Interaction, kd):
		return Channel{}, false, &FieldError{Field: "TaskAttributes.flexInteractionSid", Reason: "is not a KD SID"}
	}
	return Channel{InteractionSID: kd, ChannelSID: uo}, true, nil
}

// attrString is a task attribute read as a string. set is false for an
// absent or null value; a value that is not a string is set but empty (so
// it fails validation). It decodes without copying the raw value first, as
// json.RawMessage would.
type attrString struct {
	s   string
	set bool
}

// UnmarshalJSON records the value; b is one valid JSON value.
func (a *attrString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*a = attrString{}
		return nil
	}
	a.s, a.set = "", true
	if len(b) >= 2 && b[0] == '"' && plainString(b[1:len(b)-1]) {
		a.s = string(b[1 : len(b)-1])
		return nil
	}
	if err := json.Unmarshal(b, &a.s); err != nil {
		a.s = ""
	}
	return nil
}

// plainString reports whether the contents of a valid JSON string token
// are its value: no escape sequences and valid UTF-8.
func plainString(b []byte) bool {
	return bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b)
}

// depth returns the deepest nesting of objects and arrays in a JSON text,
// without recursion, ignoring brackets inside strings.
func depth(s string) int {
	d, maxD, inStr, esc := 0, 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			d++
			maxD = max(maxD, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return maxD
}

// Reasons a Decision gives.
const (
	ReasonCloseEvent    = "close_event"          // a configured close event of a Flex task, with a status that agrees
	ReasonNotConfigured = "event_not_configured" // the event type is not a close event
	ReasonNotTask       = "not_a_task_event"     // the event concerns no task
	ReasonNotFlex       = "not_flex_task"        // the task has no Interaction Channel
	// ReasonTaskAlreadyEnded: the deletion of a task that had already been
	// canceled or completed — TaskRouter's retention clean-up five minutes
	// after the end, whose own event was the one to act on.
	ReasonTaskAlreadyEnded = "task_already_ended"
	// ReasonStatusMismatch: TaskAssignmentStatus contradicts the event type
	// (e.g. task.canceled for an assigned task).
	ReasonStatusMismatch = "status_mismatch"
	// ReasonStatusMissing: the event carries no TaskAssignmentStatus, so
	// whether it ends the task cannot be told.
	ReasonStatusMissing = "status_missing"
)

// Decision is what to do with an event.
type Decision struct {
	Close   bool
	Reason  string
	Channel Channel // set when Close
	// Row is the decision-table row that decided, when one did (see
	// DecisionRows); zero for events decided before the table is consulted
	// (not configured, not a task event).
	Row Row
}

// Rules decide which events close channels.
type Rules struct {
	// CloseEvents are the event types that close the task's channel.
	CloseEvents []string
}

// Decide says whether ev closes a channel: its type must be one of
// r.CloseEvents, its TaskAssignmentStatus must agree with the event (the
// first matching row of DecisionRows), and its task must carry an
// Interaction Channel. Whether other live tasks still use the channel, and
// the channel's own status, are not known here; the closer checks both
// before closing. Errors are *FieldError, for malformed attributes or a
// close event without a workspace.
func (r Rules) Decide(ev Event) (Decision, error) {
	if !slices.Contains(r.CloseEvents, ev.Type) {
		return Decision{Reason: ReasonNotConfigured}, nil
	}
	if ev.TaskSID == "" {
		return Decision{Reason: ReasonNotTask}, nil
	}
	row := RowFor(ev.Type, ev.AssignmentStatus)
	if !row.Close {
		return Decision{Reason: row.Reason, Row: row}, nil
	}
	if ev.WorkspaceSID == "" {
		// Without the workspace, other live tasks cannot be looked up, and
		// closing blind could end a transferred conversation.
		return Decision{}, &FieldError{Field: "WorkspaceSid", Reason: "is required for a close event"}
	}
	ch, ok, err := ChannelFromAttributes(ev.Attributes)
	if err != nil {
		return Decision{}, err
	}
	if !ok {
		return Decision{Reason: ReasonNotFlex, Row: row}, nil
	}
	return Decision{Close: true, Reason: row.Reason, Channel: ch, Row: row}, nil
}

// channelKeys are the attribute keys ChannelFromAttributes reads.
func channelKeys() [4]string {
	return [4]string{"flexInteractionSid", "flexInteractionChannelSid", "conversations", "conversation_id"}
}

// exactKeysNeeded reports whether decoding attrs into a struct could read a
// key an exact reader would not: a channel key spelled in another case
// (encoding/json matches struct fields case-insensitively), a \u escape
// (which could spell one), or U+017F (ſ), which encoding/json folds to 's'.
func exactKeysNeeded(attrs string) bool {
	if strings.Contains(attrs, `\u`) || strings.Contains(attrs, "\u017f") {
		return true
	}
	for _, k := range channelKeys() {
		// Whole JSON strings: "conversationSid" must not count as a
		// variant of "conversations".
		q := `"` + k + `"`
		if countFold(attrs, q) != strings.Count(attrs, q) {
			return true
		}
	}
	return false
}

// countFold counts the case-insensitive occurrences of key, which starts
// with a character that has no case (a quote), in s.
func countFold(s, key string) int {
	n := 0
	for i := 0; i+len(key) <= len(s); i++ {
		if s[i] == key[0] && strings.EqualFold(s[i:i+len(key)], key) {
			n++
		}
	}
	return n
}

// str decodes a JSON string; set is false for an absent or null value, and
// a non-string value decodes as set but empty (so it fails validation).
func str(raw json.RawMessage) (s string, set bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true
	}
	return s, true
}
