// Package channelclose runs one close job: a look at the channel, the live-task
// guard, then the Interaction Channel update. It is the single close path shared by the
// webhook (sync mode), the queue worker and the orphan sweeper, so every
// route closes channels under the same rules.
//
// The guard exists because one Interaction Channel can carry several tasks
// (transfers, invites): closing the channel when one task ends would kill
// the conversation another agent is still having. See
// https://www.twilio.com/docs/flex/developer/conversations/interactions-api/channels-subresource.
//
// The look exists because Flex leaves channels open on purpose: Leave sets a
// channel inactive to wait for the customer, and Twilio advises checking the
// channel's status before sending close logic (warning 80906). An automatic
// close (TaskRouter, sweeper) updates only an active channel; a CRM close
// also closes an inactive one. ChannelRules is the table.
package channelclose

import (
	"context"
	"errors"
	"fmt"

	"github.com/flexhook/flexhook/internal/flex"
)

// Sources of a job.
const (
	SourceTaskRouter = "taskrouter"
	SourceCRM        = "crm"
	SourceSweeper    = "sweeper"
)

// Job is one channel to close, and why. It is JSON-serializable so that it
// can travel through a queue.
type Job struct {
	// Source is the route that produced the job: taskrouter, crm or sweeper.
	Source string `json:"source"`
	// EventType is the TaskRouter event type, when there is one.
	EventType string `json:"event_type,omitempty"`
	// WorkspaceSID and TaskSID identify the task whose end triggered the
	// close; that task is ignored by the live-task guard.
	WorkspaceSID string `json:"workspace_sid,omitempty"`
	TaskSID      string `json:"task_sid,omitempty"`
	// InteractionSID and ChannelSID name the channel.
	InteractionSID string `json:"interaction_sid"`
	ChannelSID     string `json:"channel_sid"`
	// Status is closed or inactive.
	Status string `json:"status"`
	// Routing sends Routing={"status":"closed"}, completing the tasks.
	Routing bool `json:"routing"`
	// Guard checks, before closing, that no other live task uses the
	// channel. It needs WorkspaceSID.
	Guard bool `json:"guard"`
	// Blocker, on a recheck, is the live task that blocked the previous
	// run (closejob keeps it in the idempotency record; it never travels
	// in a queue message). The guard looks at it first: if it has since
	// ended completed — an agent ended it on purpose (Park, Leave, end of
	// chat) — the skip is final (Reason BlockerCompleted) and nothing is
	// closed.
	Blocker string `json:"-"`
}

// Channel returns the job's channel reference.
func (j Job) Channel() flex.ChannelRef {
	return flex.ChannelRef{InteractionSID: j.InteractionSID, ChannelSID: j.ChannelSID}
}

// Outcome names what a job did. The names are used in logs and metrics.
type Outcome string

// Outcomes of a job that did not fail.
const (
	Closed          Outcome = "closed"            // the channel was closed or set inactive
	AlreadyClosed   Outcome = "already_closed"    // it was already closed or inactive
	SkippedLiveTask Outcome = "skipped_live_task" // another live task still uses it
	NotFound        Outcome = "not_found"         // the channel does not exist (any more)
	DryRun          Outcome = "dry_run"           // DRY_RUN: decided, nothing sent to Flex
	// NotClosable: the channel failed (its interaction was never
	// created); there is nothing to close. Not an error.
	NotClosable Outcome = "not_closable"
	// SkippedChannelState: the channel is in a status the close does not
	// act on (e.g. setup); Result.ChannelStatus says which.
	SkippedChannelState Outcome = "skipped_channel_state"
)

// Reasons a Result gives.
const (
	// BlockerCompleted: on a recheck, the task that blocked the close
	// ended completed — an agent ended it on purpose (Park leaves the
	// channel active with no live task) — so the skip is final.
	BlockerCompleted = "blocking_task_completed"
)

// Result describes a job that did not fail.
type Result struct {
	Outcome       Outcome
	ChannelStatus string // status after the close, when known
	LiveTaskSID   string // the live task that blocked the close
	// Reason qualifies the outcome: BlockerCompleted makes a
	// skipped_live_task final (no recheck).
	Reason string
	// Attempts counts the Twilio HTTP attempts of the channel fetch and
	// the update (the live-task look-up is not counted).
	Attempts int
	// Calls counts the Twilio calls those attempts were for: 1 for the
	// fetch, 1 more when the update was sent. Attempts beyond Calls are
	// retries (and the fetch after a refused update).
	Calls int
	// Request, in dry-run mode, describes the Flex update that was not
	// sent, e.g. UpdateInteractionChannel KD…/UO… Status=closed
	// Routing={"status":"closed"} (see Job.Request).
	Request string
}

// api is what the closer needs from Twilio; *flex.Client provides it.
type api interface {
	LiveTasks(ctx context.Context, ws, channel, exclude string) ([]flex.Task, error)
	FetchChannelCounted(ctx context.Context, ch flex.ChannelRef) (flex.Channel, int, error)
	CloseChannel(ctx context.Context, ch flex.ChannelRef, status string, routing bool) (flex.CloseResult, error)
}

// taskLooker reads what became of a task (*flex.Client provides it). An
// api without it cannot tell how a blocking task ended: rechecks then run
// the guard as on the first run.
type taskLooker interface {
	FetchTask(ctx context.Context, ws, wt string) (flex.Task, error)
	Events(ctx context.Context, ws string, f flex.EventFilter, visit func(flex.Event) error) error
}

// Options tune a Closer.
type Options struct {
	// DryRun decides — including the channel fetch and the live-task
	// look-up, both reads — but never updates a channel: the outcome is DryRun and Result.Request says what
	// would have been sent.
	DryRun bool
}

// Closer runs close jobs.
type Closer struct {
	api    api
	dryRun bool
}

// New returns a Closer that calls Twilio through api.
func New(api api, o Options) *Closer { return &Closer{api: api, dryRun: o.DryRun} }

// Request describes the Flex update a job sends.
func (j Job) Request() string {
	r := "UpdateInteractionChannel " + j.InteractionSID + "/" + j.ChannelSID + " Status=" + j.Status
	if j.Routing || j.Status == flex.StatusInactive {
		r += ` Routing={"status":"closed"}`
	}
	return r
}

// Close runs job: it fetches the channel and, when ChannelRuleFor says so,
// runs the live-task guard (when job.Guard) and sends the update. A channel
// that is already closed, not closable, in another state, still in use, or
// gone is a Result, not an error. Errors come from the Twilio adapter
// unchanged in class (see flex.Error.RetryableError), wrapped with the
// channel.
func (c *Closer) Close(ctx context.Context, job Job) (Result, error) {
	ch := job.Channel()
	if err := ch.Validate(); err != nil {
		return Result{}, err
	}
	if job.Guard && job.WorkspaceSID == "" {
		return Result{}, fmt.Errorf("close %s: the live-task guard needs a workspace SID", ch.ChannelSID)
	}
	cur, attempts, err := c.api.FetchChannelCounted(ctx, ch)
	switch {
	case errors.Is(err, flex.ErrNotFound):
		return Result{Outcome: NotFound, Attempts: attempts, Calls: 1}, nil
	case err != nil:
		return Result{Attempts: attempts, Calls: 1}, fmt.Errorf("look at channel %s: %w", ch.ChannelSID, err)
	}
	looked := Result{ChannelStatus: cur.Status, Attempts: attempts, Calls: 1}
	if rule := ChannelRuleFor(job.Source, cur.Status, job.Status); !rule.Update {
		looked.Outcome = rule.Outcome
		return looked, nil
	}
	if job.Guard && job.Blocker != "" && job.Blocker != job.TaskSID {
		ended, err := c.blockerEnd(ctx, job.WorkspaceSID, job.Blocker)
		if err != nil {
			return Result{Attempts: attempts, Calls: 1}, fmt.Errorf("look at blocking task %s of %s: %w", job.Blocker, ch.ChannelSID, err)
		}
		if ended == "completed" {
			looked.Outcome, looked.LiveTaskSID, looked.Reason = SkippedLiveTask, job.Blocker, BlockerCompleted
			return looked, nil
		}
	}
	if job.Guard {
		live, err := c.api.LiveTasks(ctx, job.WorkspaceSID, ch.ChannelSID, job.TaskSID)
		if err != nil {
			return Result{Attempts: attempts, Calls: 1}, fmt.Errorf("check live tasks of %s: %w", ch.ChannelSID, err)
		}
		if len(live) > 0 {
			looked.Outcome, looked.LiveTaskSID = SkippedLiveTask, live[0].SID
			return looked, nil
		}
	}
	if c.dryRun {
		looked.Outcome, looked.Request = DryRun, job.Request()
		return looked, nil
	}
	res, err := c.api.CloseChannel(ctx, ch, job.Status, job.Routing)
	out := Result{ChannelStatus: res.Status, Attempts: attempts + res.Attempts, Calls: 2}
	switch {
	case err == nil && res.AlreadyClosed:
		// Closed between the look and the update.
		out.Outcome = AlreadyClosed
	case err == nil:
		out.Outcome = Closed
	case errors.Is(err, flex.ErrNotFound):
		out.Outcome = NotFound
	default:
		return out, err
	}
	return out, nil
}

// blockerRetention is how far back blockerEnd reads the Events resource
// (in minutes): TaskRouter keeps events 30 days.
const blockerRetention = 30 * 24 * 60

// errFound stops an event walk at the first useful event.
var errFound = errors.New("found")

// blockerEnd returns how task wt ended: completed or canceled, or "" when
// it is still live or nothing says (the guard then decides as on a first
// run). TaskRouter deletes a task five minutes after it ends: a task that
// is gone is read from its terminal event in the Events resource.
func (c *Closer) blockerEnd(ctx context.Context, ws, wt string) (string, error) {
	tl, ok := c.api.(taskLooker)
	if !ok {
		return "", nil
	}
	task, err := tl.FetchTask(ctx, ws, wt)
	switch {
	case err == nil:
		if task.AssignmentStatus == "completed" || task.AssignmentStatus == "canceled" {
			return task.AssignmentStatus, nil
		}
		return "", nil
	case errors.Is(err, flex.ErrInvalidSID):
		return "", nil
	case !errors.Is(err, flex.ErrNotFound):
		return "", err
	}
	var ended string
	err = tl.Events(ctx, ws, flex.EventFilter{TaskSID: wt, Minutes: blockerRetention}, func(e flex.Event) error {
		if e.TaskSID != wt {
			return nil
		}
		// Newest first: the first terminal event is how the task ended.
		switch e.Type {
		case "task.completed":
			ended = "completed"
		case "task.canceled", "workflow.timeout":
			ended = "canceled"
		default:
			return nil
		}
		return errFound
	})
	if err != nil && !errors.Is(err, errFound) && !errors.Is(err, flex.ErrTooManyPages) {
		return "", err
	}
	return ended, nil
}
