package taskrouter

import "slices"

// Reasons a Decision gives.
const (
	ReasonCloseEvent    = "close_event"          // a configured close event of a Flex task
	ReasonNotConfigured = "event_not_configured" // the event type is not a close event
	ReasonNotTask       = "not_a_task_event"     // the event concerns no task
	ReasonNotFlex       = "not_flex_task"        // the task has no Interaction Channel
)

// Decision is what to do with an event.
type Decision struct {
	Close   bool
	Reason  string
	Channel Channel // set when Close
}

// Rules decide which events close channels.
type Rules struct {
	// CloseEvents are the event types that close the task's channel.
	CloseEvents []string
}

// Decide says whether ev closes a channel: its type must be one of
// r.CloseEvents and its task must carry an Interaction Channel. Whether other
// live tasks still use the channel is not known here; the caller checks
// that before closing. Errors are *FieldError, for malformed attributes.
func (r Rules) Decide(ev Event) (Decision, error) {
	if !slices.Contains(r.CloseEvents, ev.Type) {
		return Decision{Reason: ReasonNotConfigured}, nil
	}
	if ev.TaskSID == "" {
		return Decision{Reason: ReasonNotTask}, nil
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
		return Decision{Reason: ReasonNotFlex}, nil
	}
	return Decision{Close: true, Reason: ReasonCloseEvent, Channel: ch}, nil
}
