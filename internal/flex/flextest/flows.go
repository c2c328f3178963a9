package flextest

import (
	"fmt"
	"slices"
)

// Flows drives the Flex Conversations flows of one workspace. Each method
// changes channel and task state the way Flex does, records
// the TaskRouter events Flex would emit in the Events resource, and sends
// their callbacks (to the SetEventCallbackURL URL, if set) before it returns.
// Errors are ErrNotFound for an unknown task or channel and
// ErrInvalidStatus when the flow cannot happen in the current state.
type Flows struct {
	s  *Server
	ws string
}

// Flows returns the flows of workspace ws, creating the workspace if
// needed. It panics if ws is not a WS SID.
func (s *Server) Flows(ws string) Flows {
	s.AddWorkspace(ws)
	return Flows{s: s, ws: ws}
}

// newTask creates a task on channel c in status pending, emits
// task.created, then moves it to status. s.mu must be held.
func (f Flows) newTask(c *Channel, status string) *task {
	t := f.s.addTask(Task{WorkspaceSID: f.ws, Attributes: NewAttributes(*c).JSON(), TaskChannelUniqueName: c.Type})
	f.s.emit(EventTaskCreated, t, t.DateCreated, "Task "+t.SID+" created")
	if status != TaskPending {
		f.s.setTaskStatus(t, status, "")
	}
	return t
}

// check finds task wt and its channel for flow op, and checks that the
// channel is active (when active is set) and the task is in one of
// statuses. s.mu must be held.
func (f Flows) check(op, wt string, active bool, statuses ...string) (*task, *Channel, error) {
	t, ok := f.s.tasks[taskKey(f.ws, wt)]
	if !ok {
		return nil, nil, fmt.Errorf("task %s: %w", wt, ErrNotFound)
	}
	kd, _ := t.attrs["flexInteractionSid"].(string)
	uo, _ := t.attrs["flexInteractionChannelSid"].(string)
	c, ok := f.s.channels[channelKey(kd, uo)]
	switch {
	case !ok:
		return nil, nil, fmt.Errorf("channel of task %s: %w", wt, ErrNotFound)
	case active && c.Status != ChannelActive:
		return nil, nil, wrongStatus(op, c.SID, c.Status)
	case !slices.Contains(statuses, t.AssignmentStatus):
		return nil, nil, wrongStatus(op, wt, t.AssignmentStatus)
	}
	return t, c, nil
}

// channel finds channel uo for flow op and checks that it is in one of
// statuses. s.mu must be held.
func (f Flows) channel(op, kd, uo string, statuses ...string) (*Channel, error) {
	c, ok := f.s.channels[channelKey(kd, uo)]
	switch {
	case !ok:
		return nil, fmt.Errorf("channel %s: %w", uo, ErrNotFound)
	case !slices.Contains(statuses, c.Status):
		return nil, wrongStatus(op, uo, c.Status)
	}
	return c, nil
}

// liveTaskOf returns a live task of channel uo, or nil. s.mu must be held.
func (f Flows) liveTaskOf(uo string) *task {
	for _, t := range f.s.byChannel[uo] {
		if liveTask(t.AssignmentStatus) {
			return t
		}
	}
	return nil
}

func wrongStatus(what, sidv, status string) error {
	return fmt.Errorf("%s: %s is %s: %w", what, sidv, status, ErrInvalidStatus)
}

// Start begins a conversation: it stores ch (defaults as AddChannel,
// status active) and a task on it that is created (task.created) and
// assigned to an agent, who joins the channel.
func (f Flows) Start(ch Channel) (Channel, Task) {
	ch.Status = ""
	ch = f.s.AddChannel(ch)
	var t *task
	_ = f.s.update(func() error {
		c := f.s.channels[channelKey(ch.InteractionSID, ch.SID)]
		t = f.newTask(c, TaskAssigned)
		return nil
	})
	return ch, t.Task
}

// AgentEndsChat is the agent ending the conversation in the Flex UI: Flex
// closes the channel, its tasks go to wrapping (task.wrapup; a pending
// task is canceled), then the agents finish wrap-up and the tasks complete
// (task.completed). This is not an API close: CloseCount is unchanged.
func (f Flows) AgentEndsChat(wt string) error {
	return f.s.update(func() error {
		_, c, err := f.check("agent ends chat", wt, true, liveStatuses...)
		if err != nil {
			return err
		}
		c.Status = ChannelClosed
		f.s.closeTasks(c.SID, ChannelClosed, false)
		for _, ct := range slices.Clone(f.s.byChannel[c.SID]) {
			if ct.AssignmentStatus == TaskWrapping {
				f.s.setTaskStatus(ct, TaskCompleted, "Wrap-up completed")
			}
		}
		return nil
	})
}

// Leave is the agent leaving the conversation with Flex's Leave setting:
// the task completes (task.completed), the agent's participant is closed
// and the channel goes inactive, waiting for the customer. The customer's
// next message (CustomerMessage) reactivates it with a new task.
func (f Flows) Leave(wt string) error {
	return f.complete("leave", wt, "Agent left the conversation", ChannelInactive)
}

// complete completes task wt, assigned or wrapping on an active channel,
// with reason, and leaves the channel in status.
func (f Flows) complete(op, wt, reason, status string) error {
	return f.s.update(func() error {
		t, c, err := f.check(op, wt, true, TaskAssigned, TaskWrapping)
		if err != nil {
			return err
		}
		f.s.setTaskStatus(t, TaskCompleted, reason)
		c.Status = status
		return nil
	})
}

// CustomerMessage is the customer writing on channel uo. An inactive
// channel (Leave) is reactivated; on an active channel without a live task
// (parked, or its invite declined) a new task is created (task.created,
// pending, routed by the workflow) and returned. On a channel with a live
// task the message goes to its agent: that task is returned, nothing
// changes. A closed or failed channel answers ErrInvalidStatus.
func (f Flows) CustomerMessage(kd, uo string) (Task, error) {
	var out Task
	err := f.s.update(func() error {
		c, err := f.channel("customer message", kd, uo, ChannelActive, ChannelInactive)
		if err != nil {
			return err
		}
		if t := f.liveTaskOf(uo); t != nil && c.Status == ChannelActive {
			out = t.Task
			return nil
		}
		c.Status = ChannelActive
		out = f.newTask(c, TaskPending).Task
		return nil
	})
	return out, err
}

// Park parks the conversation (Flex's "Park an Interaction"): the agent's
// participant is set closed, which completes the task (task.completed)
// while the channel stays active with no live task.
func (f Flows) Park(wt string) error {
	return f.complete("park", wt, "Participant closed", ChannelActive)
}

// Unpark invites a known agent back to a parked channel (POST …/Invites):
// a new task is created (task.created) and reserved for the agent, and
// returned. The agent then accepts (SetTaskStatus assigned) or declines
// (DeclineInvite). A channel that is not active, or still has a live task,
// answers ErrInvalidStatus.
func (f Flows) Unpark(kd, uo string) (Task, error) {
	var out Task
	err := f.s.update(func() error {
		c, err := f.channel("unpark", kd, uo, ChannelActive)
		if err != nil {
			return err
		}
		if t := f.liveTaskOf(uo); t != nil {
			return wrongStatus("unpark", uo, "in use by live task "+t.SID)
		}
		out = f.newTask(c, TaskReserved).Task
		return nil
	})
	return out, err
}

// Transfer transfers the conversation of task wt to another agent: a new
// task is invited on the same channel (task.created) and accepted
// (assigned), then the first task wraps up (task.wrapup) and completes
// (task.completed). The channel stays active; the new task is returned.
func (f Flows) Transfer(wt string) (Task, error) { return f.transfer(wt, TaskAssigned) }

// TransferToQueue transfers the conversation of task wt to a queue (a cold
// transfer): a new task is created on the same channel (task.created) and
// waits in the queue (pending), then the first task wraps up (task.wrapup)
// and completes (task.completed). The channel stays active; the new task,
// still pending, is returned — if nobody accepts it, WorkflowTimeout ends
// it.
func (f Flows) TransferToQueue(wt string) (Task, error) { return f.transfer(wt, TaskPending) }

func (f Flows) transfer(wt, newStatus string) (Task, error) {
	var out Task
	err := f.s.update(func() error {
		t, c, err := f.check("transfer", wt, true, TaskAssigned)
		if err != nil {
			return err
		}
		out = f.newTask(c, newStatus).Task
		f.s.setTaskStatus(t, TaskWrapping, "")
		f.s.setTaskStatus(t, TaskCompleted, "Task transferred")
		return nil
	})
	return out, err
}

// DeclineInvite is the invited agent declining task wt (pending or
// reserved): the task is canceled (task.canceled) and the channel stays
// active with no agent — the orphan Twilio's best practices warn about.
func (f Flows) DeclineInvite(wt string) error {
	return f.cancel("decline invite", wt, "Task declined", false)
}

// WorkflowTimeout is task wt (pending or reserved) reaching the end of its
// workflow without being accepted: it is canceled, with a workflow.timeout
// event followed by task.canceled (both carrying status canceled). The
// channel stays active with no agent.
func (f Flows) WorkflowTimeout(wt string) error {
	return f.cancel("workflow timeout", wt, "Workflow Timeout", true)
}

// cancel cancels task wt, pending or reserved, with reason, after a
// workflow.timeout event if timeout is set.
func (f Flows) cancel(op, wt, reason string, timeout bool) error {
	return f.s.update(func() error {
		t, _, err := f.check(op, wt, false, TaskPending, TaskReserved)
		if err != nil {
			return err
		}
		if timeout {
			t.AssignmentStatus, t.Reason = TaskCanceled, reason
			f.s.emit(EventWorkflowTimeout, t, f.s.Now(), "Task "+wt+" reached the end of its workflow")
		}
		f.s.setTaskStatus(t, TaskCanceled, reason)
		return nil
	})
}

// DeleteTask deletes task wt through the TaskRouter API (DELETE
// /Tasks/{WT}), whatever its status: the task is gone at once and
// task.deleted carries the status it had. The channel is not changed, so
// deleting a live task leaves its conversation orphaned.
func (f Flows) DeleteTask(wt string) error {
	return f.s.update(func() error {
		t, ok := f.s.tasks[taskKey(f.ws, wt)]
		if !ok {
			return fmt.Errorf("task %s: %w", wt, ErrNotFound)
		}
		f.s.removeTask(t)
		f.s.emit(EventTaskDeleted, t, f.s.Now(), "Task "+wt+" deleted")
		return nil
	})
}

// FailChannel is the asynchronous creation of channel uo failing: the
// channel becomes failed (error 45xxx-style code and message) and its live
// tasks are canceled (task.canceled). Nothing is left to close.
func (f Flows) FailChannel(kd, uo string) error {
	return f.s.update(func() error {
		c, err := f.channel("fail channel", kd, uo, ChannelSetup, ChannelActive, ChannelInactive, ChannelPause, ChannelTransfer)
		if err != nil {
			return err
		}
		c.Status, c.ErrorCode, c.ErrorMessage = ChannelFailed, 45000, "Interaction creation failed"
		for _, t := range f.s.byChannel[uo] {
			if liveTask(t.AssignmentStatus) {
				f.s.setTaskStatus(t, TaskCanceled, "Interaction channel failed")
			}
		}
		return nil
	})
}
