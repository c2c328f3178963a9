package taskrouter

import "slices"

// Row is one line of the close decision table: for these event types and
// task assignment statuses, close the task's channel or ignore the event.
// The table is data so that the README, `flexhook explain` and Decide all
// read the same rules.
type Row struct {
	// Events are the event types the row applies to.
	Events []string
	// Statuses are the TaskAssignmentStatus values it applies to. A nil
	// list matches any status not matched by an earlier row; a list
	// holding only "" matches an event without the field.
	Statuses []string
	// Close is the action: close the channel (after the closer's checks)
	// or ignore the event.
	Close bool
	// Reason is the Decision's reason, logged with the outcome.
	Reason string
}

// Action names the row's action: close or ignore.
func (r Row) Action() string {
	if r.Close {
		return "close"
	}
	return "ignore"
}

// Matches reports whether the row applies to an event of type eventType
// whose task has status.
func (r Row) Matches(eventType, status string) bool {
	return slices.Contains(r.Events, eventType) && (r.Statuses == nil || slices.Contains(r.Statuses, status))
}

// Task assignment statuses (TaskRouter "Lifecycle of a Task").
const (
	TaskPending   = "pending"
	TaskReserved  = "reserved"
	TaskAssigned  = "assigned"
	TaskWrapping  = "wrapping"
	TaskCanceled  = "canceled"
	TaskCompleted = "completed"
)

// Close event types: the events the decision table knows.
const (
	EventTaskCanceled      = "task.canceled"
	EventTaskCompleted     = "task.completed"
	EventTaskDeleted       = "task.deleted"
	EventTaskSystemDeleted = "task.system-deleted"
	EventWorkflowTimeout   = "workflow.timeout"
)

// CloseEventTypes returns the event types the decision table knows, in
// table order; TASKROUTER_CLOSE_EVENTS may list only these.
func CloseEventTypes() []string {
	return []string{EventTaskCanceled, EventWorkflowTimeout, EventTaskCompleted, EventTaskDeleted, EventTaskSystemDeleted}
}

// LiveStatuses are the statuses of a task that has not ended.
func LiveStatuses() []string { return []string{TaskPending, TaskReserved, TaskAssigned, TaskWrapping} }

// DecisionRows returns the close decision table, in the order Decide reads
// it (the first matching row decides). Every known close event ends in a
// row that matches any status, so the table is total.
//
//   - task.canceled and workflow.timeout close when the task is canceled:
//     Twilio's terminal events against orphaned conversations.
//   - task.completed closes when the task is completed (opt-in: Flex's own
//     end of a chat closes the channel first, and Park and Leave complete
//     the task of a conversation that must stay open).
//   - task.deleted and task.system-deleted close only when the task was
//     still live; the deletion of an ended task is the retention clean-up
//     of an event already handled.
//   - A status that is missing, or contradicts the event, never closes.
func DecisionRows() []Row {
	out := make([]Row, len(decisionTable))
	for i, r := range decisionTable {
		r.Events, r.Statuses = slices.Clone(r.Events), slices.Clone(r.Statuses)
		out[i] = r
	}
	return out
}

// decisionTable is the table DecisionRows copies. It is never modified.
var decisionTable = [...]Row{
	{Events: []string{EventTaskCanceled, EventWorkflowTimeout}, Statuses: []string{TaskCanceled}, Close: true, Reason: ReasonCloseEvent},
	{Events: []string{EventTaskCompleted}, Statuses: []string{TaskCompleted}, Close: true, Reason: ReasonCloseEvent},
	{Events: []string{EventTaskDeleted, EventTaskSystemDeleted}, Statuses: LiveStatuses(), Close: true, Reason: ReasonCloseEvent},
	{Events: []string{EventTaskDeleted, EventTaskSystemDeleted}, Statuses: []string{TaskCanceled, TaskCompleted}, Reason: ReasonTaskAlreadyEnded},
	{Events: CloseEventTypes(), Statuses: []string{""}, Reason: ReasonStatusMissing},
	{Events: CloseEventTypes(), Reason: ReasonStatusMismatch},
}

// ReasonNoRule: the event type is configured but the decision table does
// not know it; never a close.
const ReasonNoRule = "no_decision_rule"

// RowFor returns the first row of DecisionRows matching an event of type
// eventType whose task has status; for a type the table does not know, an
// ignore row with ReasonNoRule.
func RowFor(eventType, status string) Row {
	for _, r := range decisionTable {
		if r.Matches(eventType, status) {
			return r
		}
	}
	return Row{Events: []string{eventType}, Reason: ReasonNoRule}
}
