package taskrouter

import "slices"

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
