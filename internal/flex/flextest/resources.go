package flextest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/flexhook/flexhook/internal/sid"
)

// Interaction Channel statuses, from the Flex v1 API specification.
const (
	ChannelSetup    = "setup"
	ChannelActive   = "active"
	ChannelFailed   = "failed"
	ChannelClosed   = "closed"
	ChannelInactive = "inactive"
	ChannelPause    = "pause"
	ChannelTransfer = "transfer"
)

// TaskRouter task assignment statuses.
const (
	TaskPending   = "pending"
	TaskReserved  = "reserved"
	TaskAssigned  = "assigned"
	TaskWrapping  = "wrapping"
	TaskCompleted = "completed"
	TaskCanceled  = "canceled"
)

var (
	channelStatuses = []string{ChannelSetup, ChannelActive, ChannelFailed, ChannelClosed, ChannelInactive, ChannelPause, ChannelTransfer}
	taskStatuses    = []string{TaskPending, TaskReserved, TaskAssigned, TaskWrapping, TaskCompleted, TaskCanceled}
	// liveStatuses are those of a task still being routed or worked on,
	// which closing its channel changes.
	liveStatuses = taskStatuses[:4]
)

func validTaskStatus(s string) bool { return slices.Contains(taskStatuses, s) }
func liveTask(s string) bool        { return slices.Contains(liveStatuses, s) }

// Channel is a Flex Interaction Channel held by the fake.
type Channel struct {
	InteractionSID string // KD…, the interaction the channel belongs to
	SID            string // UO…
	Type           string // media type: chat, sms, whatsapp, web, email, voice…
	Status         string // one of the Channel* constants
	// ErrorCode and ErrorMessage describe why a failed channel failed.
	// They are answered as null when zero.
	ErrorCode    int
	ErrorMessage string
}

// Task is a TaskRouter task held by the fake.
type Task struct {
	SID                   string // WT…
	WorkspaceSID          string // WS…
	AssignmentStatus      string // one of the Task* status constants
	Attributes            string // a JSON object
	Priority              int
	Reason                string // why the task was canceled or completed
	TaskChannelUniqueName string // the task channel, such as "chat" or "voice"
	// TaskQueueSID and WorkflowSID, when set, are answered with their links.
	TaskQueueSID, WorkflowSID string
	Timeout                   int // time to live in seconds
	DateCreated, DateUpdated  time.Time
}

// task is a stored Task with its decoded attributes.
type task struct {
	Task
	attrs map[string]any
}

func channelKey(kd, uo string) string { return kd + "/" + uo }
func taskKey(ws, wt string) string    { return ws + "/" + wt }

// AddChannel stores ch, replacing any channel with the same SIDs, and
// returns what was stored. Empty SIDs are generated, an empty Type becomes
// "chat" and an empty Status becomes "active". AddChannel panics if a SID or
// the status is invalid: seeding data is written by the test itself.
func (s *Server) AddChannel(ch Channel) Channel {
	ch.InteractionSID = cmp.Or(ch.InteractionSID, NewSID(sid.Interaction))
	ch.SID = cmp.Or(ch.SID, NewSID(sid.Channel))
	ch.Type = cmp.Or(ch.Type, "chat")
	ch.Status = cmp.Or(ch.Status, ChannelActive)
	mustf(sid.Valid(sid.Interaction, ch.InteractionSID) && sid.Valid(sid.Channel, ch.SID), "AddChannel: invalid SIDs %q, %q", ch.InteractionSID, ch.SID)
	mustf(slices.Contains(channelStatuses, ch.Status), "AddChannel: invalid status %q", ch.Status)
	c := ch
	s.mu.Lock()
	s.channels[channelKey(ch.InteractionSID, ch.SID)] = &c
	s.mu.Unlock()
	return ch
}

// Channel returns the channel with the given SIDs and whether it exists.
func (s *Server) Channel(kd, uo string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.channels[channelKey(kd, uo)]; ok {
		return *c, true
	}
	return Channel{}, false
}

// ReactivateChannel moves a closed or inactive channel back to active, as
// happens when the customer writes again. It returns ErrNotFound for an
// unknown channel and ErrInvalidStatus for a failed one. An active channel
// is left as it is. Tasks are not changed.
func (s *Server) ReactivateChannel(kd, uo string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[channelKey(kd, uo)]
	if !ok {
		return fmt.Errorf("reactivate channel %s: %w", uo, ErrNotFound)
	}
	if c.Status == ChannelFailed {
		return fmt.Errorf("reactivate channel %s in status %s: %w", uo, c.Status, ErrInvalidStatus)
	}
	c.Status = ChannelActive
	return nil
}

// AddWorkspace makes the workspace ws exist, so that listing its tasks
// answers an empty page rather than 404. It panics if ws is not a WS SID.
func (s *Server) AddWorkspace(ws string) {
	mustf(sid.Valid(sid.Workspace, ws), "AddWorkspace: invalid SID %q", ws)
	s.mu.Lock()
	if _, ok := s.workspaces[ws]; !ok {
		s.workspaces[ws] = nil
	}
	s.mu.Unlock()
}

// AddTask stores t, creating its workspace if needed and replacing a task
// with the same SIDs, and returns what was stored. An empty SID is
// generated; empty AssignmentStatus becomes "pending", empty Attributes
// "{}", empty TaskChannelUniqueName "default", zero Timeout 86400 and zero
// dates the current time. AddTask panics if t.WorkspaceSID or t.SID is not
// a valid SID, the status is unknown or Attributes is not a JSON object.
func (s *Server) AddTask(t Task) Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTask(t).Task
}

// addTask is AddTask with s.mu held; it returns the stored task.
func (s *Server) addTask(t Task) *task {
	t.SID = cmp.Or(t.SID, NewSID(sid.Task))
	t.AssignmentStatus = cmp.Or(t.AssignmentStatus, TaskPending)
	t.Attributes = cmp.Or(t.Attributes, "{}")
	t.TaskChannelUniqueName = cmp.Or(t.TaskChannelUniqueName, "default")
	t.Timeout = cmp.Or(t.Timeout, 86400)
	mustf(sid.Valid(sid.Workspace, t.WorkspaceSID) && sid.Valid(sid.Task, t.SID), "AddTask: invalid SIDs %q, %q", t.WorkspaceSID, t.SID)
	mustf(validTaskStatus(t.AssignmentStatus), "AddTask: invalid status %q", t.AssignmentStatus)
	var attrs map[string]any
	err := json.Unmarshal([]byte(t.Attributes), &attrs)
	mustf(err == nil && attrs != nil, "AddTask: attributes are not a JSON object: %q", t.Attributes)
	if t.DateCreated.IsZero() {
		t.DateCreated = s.Now()
	}
	if t.DateUpdated.IsZero() {
		t.DateUpdated = t.DateCreated
	}
	stored := &task{Task: t, attrs: attrs}
	s.storeTask(stored)
	return stored
}

// storeTask adds t to every index, replacing the task with its SIDs.
// s.mu must be held.
func (s *Server) storeTask(t *task) {
	if old, ok := s.tasks[taskKey(t.WorkspaceSID, t.SID)]; ok {
		s.removeTask(old)
	}
	s.tasks[taskKey(t.WorkspaceSID, t.SID)] = t
	s.workspaces[t.WorkspaceSID] = append(s.workspaces[t.WorkspaceSID], t)
	if uo, _ := t.attrs["flexInteractionChannelSid"].(string); uo != "" {
		s.byChannel[uo] = append(s.byChannel[uo], t)
	}
}

// removeTask deletes t from every index. s.mu must be held.
func (s *Server) removeTask(t *task) {
	delete(s.tasks, taskKey(t.WorkspaceSID, t.SID))
	s.workspaces[t.WorkspaceSID] = slices.DeleteFunc(s.workspaces[t.WorkspaceSID], func(x *task) bool { return x == t })
	if uo, _ := t.attrs["flexInteractionChannelSid"].(string); uo != "" {
		s.byChannel[uo] = slices.DeleteFunc(s.byChannel[uo], func(x *task) bool { return x == t })
	}
}

// AddChannelTask stores a task in workspace ws for channel ch, with Flex
// Conversations attributes made by NewAttributes, the given assignment
// status and the channel's type as task channel. It panics like AddTask.
func (s *Server) AddChannelTask(ws string, ch Channel, status string) Task {
	return s.AddTask(Task{
		WorkspaceSID:          ws,
		AssignmentStatus:      status,
		Attributes:            NewAttributes(ch).JSON(),
		TaskChannelUniqueName: ch.Type,
	})
}

// Task returns the task with the given SIDs and whether it exists (an
// ended task exists until its retention runs out).
func (s *Server) Task(ws, wt string) (Task, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if t, ok := s.tasks[taskKey(ws, wt)]; ok {
		return t.Task, true
	}
	return Task{}, false
}

// Tasks returns the tasks of workspace ws, oldest first (ties by SID).
func (s *Server) Tasks(ws string) []Task {
	s.mu.Lock()
	s.expire()
	out := make([]Task, 0, len(s.workspaces[ws]))
	for _, t := range s.workspaces[ws] {
		out = append(out, t.Task)
	}
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Task) int {
		return cmp.Or(a.DateCreated.Compare(b.DateCreated), cmp.Compare(a.SID, b.SID))
	})
	return out
}

// SetTaskStatus sets the assignment status of a task, as an agent or
// TaskRouter would, emitting the event of the change (task.wrapup,
// task.completed or task.canceled; none for other statuses); a canceled
// or completed task gets a reason. It returns ErrNotFound for an unknown
// task and ErrInvalidStatus for an unknown status. The Flows methods
// change channels and tasks together, as Flex does.
func (s *Server) SetTaskStatus(ws, wt, status string) error {
	if !validTaskStatus(status) {
		return fmt.Errorf("set task %s status %q: %w", wt, status, ErrInvalidStatus)
	}
	return s.update(func() error {
		t, ok := s.tasks[taskKey(ws, wt)]
		if !ok {
			return fmt.Errorf("set task %s status: %w", wt, ErrNotFound)
		}
		reason := ""
		if status == TaskCanceled || status == TaskCompleted {
			reason = "Task " + status + " by flextest"
		}
		s.setTaskStatus(t, status, reason)
		return nil
	})
}

// statusEvents are the events TaskRouter emits when a task enters a status.
var statusEvents = map[string]string{
	TaskWrapping:  EventTaskWrapup,
	TaskCompleted: EventTaskCompleted,
	TaskCanceled:  EventTaskCanceled,
}

// setTaskStatus changes t and emits the event of its new status, if any;
// s.mu must be held.
func (s *Server) setTaskStatus(t *task, status, reason string) {
	now := s.Now()
	t.AssignmentStatus = status
	if reason != "" {
		t.Reason = reason
	}
	t.DateUpdated = now
	if ev, ok := statusEvents[status]; ok {
		s.emit(ev, t, now, "Task "+t.SID+" "+status)
	}
}
