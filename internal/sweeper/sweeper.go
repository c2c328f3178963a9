// Package sweeper finds Interaction Channels left open by events that never
// reached flexhook — deploy downtime, TaskRouter's own delivery failures,
// conversations from before installation — and closes them through the same
// idempotent close path as the webhook, live-task guard included.
//
// It walks the workspace's Events resource, not its task list: TaskRouter
// deletes a task five minutes after it is canceled or completed, so a task
// list finds nothing older, while events are kept 30 days. For each
// configured close event within the look-back window (every page), it makes
// the webhook's own decision (taskrouter.Rules.Decide) and hands each
// channel once to the close path, whose look (one fetch) leaves alone those
// that are not active (an inactive channel is a Flex Leave waiting for the
// customer) and closes the rest. A close event is superseded — ignored —
// when a task of its channel was created or completed after it (the agent
// parked the conversation, the customer wrote again): that newer task's
// own events decide. Two more walks, task.created and task.completed, tell. Events from the last moments are left to
// the webhook. Closes are paced to stay well under Twilio's concurrency
// limits, on top of the Twilio client's own 429 handling, and a sweep stops
// starting new work before its deadline.
//
// https://www.twilio.com/docs/taskrouter/api/event
package sweeper

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/retry"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// api is the Twilio adapter (*flex.Client).
type api interface {
	Events(ctx context.Context, ws string, f flex.EventFilter, visit func(flex.Event) error) error
}

// runner runs a close job once (*closejob.Processor).
type runner interface {
	Run(ctx context.Context, m closejob.Message) (closejob.Result, error)
}

// MaxLookback is how long TaskRouter keeps events: a longer look-back
// window is cut to it.
const MaxLookback = 30 * 24 * time.Hour

// Options tune a Sweeper. Zero values take the defaults.
type Options struct {
	// Lookback is how far back close events are examined (default 2h, at
	// most MaxLookback).
	Lookback time.Duration
	// CloseEvents are the webhook's close events (TASKROUTER_CLOSE_EVENTS):
	// the event types walked, and the rules each event is decided by. Nil
	// means the events a channel is orphaned by: task.canceled,
	// workflow.timeout, task.deleted and task.system-deleted.
	CloseEvents []string
	// MinAge leaves events younger than this to the webhook (default 2
	// minutes).
	MinAge time.Duration
	// Status and Routing are the close to make (default closed, routed).
	Status  string
	Routing bool
	// MaxCloses bounds the closes of one sweep (default 500).
	MaxCloses int
	// Now and Sleep are the clock (tests inject them).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Action is what the sweep did about one channel that was active.
type Action struct {
	InteractionSID string `json:"interaction_sid"`
	ChannelSID     string `json:"channel_sid"`
	TaskSID        string `json:"task_sid"`       // the task whose event led here
	EventType      string `json:"event_type"`     // that event
	ChannelStatus  string `json:"channel_status"` // before the sweep
	// Outcome is the close path's outcome (closed, already_closed,
	// skipped_live_task, not_found, dry_run…) or failed.
	Outcome string `json:"outcome"`
	Request string `json:"request,omitempty"`
	Error   string `json:"error,omitempty"`
}

// ReasonSuperseded: a close event older than the newest task.created or
// task.completed of its channel. A later task took the conversation over —
// an agent parked it, left it, or the customer wrote again — and that
// task's own events decide: the old event closes nothing.
const ReasonSuperseded = "superseded"

// Report summarises a sweep.
type Report struct {
	Events  int `json:"events"`  // close-type events examined
	Closing int `json:"closing"` // of which the webhook's rules would close
	// Ignored counts the others, by the rules' reason, and superseded
	// (ReasonSuperseded) close events.
	Ignored map[string]int `json:"ignored"`
	// TaskEvents counts the task.created and task.completed events read to
	// find superseded close events.
	TaskEvents int `json:"task_events"`
	Channels   int `json:"channels"` // distinct channels looked at
	// Left counts the channels left alone by their status: closed,
	// inactive (Leave), failed, not_found.
	Left     map[string]int `json:"left"`
	Open     int            `json:"open"` // channels still active: one Action each
	Outcomes map[string]int `json:"outcomes"`
	// Truncated: the sweep did not see everything — deadline, MaxCloses,
	// or an Events walk stopped at its page bound (Warnings says which).
	Truncated bool     `json:"truncated"`
	Actions   []Action `json:"actions"`
	// Warnings name walks that stopped at their page bound
	// (flex.ErrTooManyPages): their oldest events were not examined.
	Warnings []string `json:"warnings,omitempty"`
}

// Sweeper closes orphaned channels of one workspace.
type Sweeper struct {
	api    api
	runner runner
	ws     string
	rules  taskrouter.Rules
	o      Options
}

// defaultCloseEvents are the events that leave a channel orphaned.
func defaultCloseEvents() []string {
	return []string{"task.canceled", "workflow.timeout", "task.deleted", "task.system-deleted"}
}

// New returns a Sweeper of workspace ws.
func New(api api, r runner, ws string, o Options) *Sweeper {
	if o.Lookback <= 0 {
		o.Lookback = 2 * time.Hour
	}
	o.Lookback = min(o.Lookback, MaxLookback)
	if o.CloseEvents == nil {
		o.CloseEvents = defaultCloseEvents()
	}
	if o.MinAge <= 0 {
		o.MinAge = 2 * time.Minute
	}
	if o.Status == "" {
		o.Status, o.Routing = flex.StatusClosed, true
	}
	if o.MaxCloses <= 0 {
		o.MaxCloses = 500
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = retry.Sleep
	}
	return &Sweeper{api: api, runner: r, ws: ws, rules: taskrouter.Rules{CloseEvents: o.CloseEvents}, o: o}
}

const (
	// pace is the least time between two closes.
	pace = 100 * time.Millisecond
	// margin is kept free before the context's deadline.
	margin = 10 * time.Second
)

// errStop ends the event walk early.
var errStop = errors.New("stop")

// Sweep runs one sweep. Per-channel failures are reported in the Report,
// not returned; the error is for a sweep that could not run (listing
// events failed).
func (s *Sweeper) Sweep(ctx context.Context) (Report, error) {
	now := s.o.Now()
	rep := Report{Ignored: map[string]int{}, Left: map[string]int{}, Outcomes: map[string]int{}}
	seen := map[string]bool{}
	closes := 0
	// Each run has its own keys: a channel skipped for a live task now
	// must be looked at again by the next run, and a channel closed by an
	// earlier run is looked at afresh (already_closed), never replayed. The
	// random part keeps runs apart under a clock that does not move.
	run := strconv.FormatInt(now.UnixNano(), 36) + "-" + rand.Text()[:8]
	window := flex.EventFilter{Start: now.Add(-s.o.Lookback), End: now.Add(-s.o.MinAge)}
	newest, horizon, err := s.taskTimes(ctx, window.Start, now, &rep)
	switch {
	case errors.Is(err, errStop):
		rep.Truncated = true
		return rep, nil
	case err != nil:
		return rep, fmt.Errorf("sweep %s: %w", s.ws, err)
	}
	// A close event older than what the task walks saw cannot be known
	// not to be superseded: it is left for a sweep that sees it.
	window.Start = later(window.Start, horizon)
	visit := func(e flex.Event) error {
		if s.late(ctx) || closes >= s.o.MaxCloses {
			rep.Truncated = true
			return errStop
		}
		rep.Events++
		ev := taskrouter.Event{
			Type: e.Type, WorkspaceSID: s.ws, ResourceType: "Task", TaskSID: e.TaskSID,
			AssignmentStatus: e.AssignmentStatus, Attributes: e.Attributes, Time: e.Date,
		}
		d, err := s.rules.Decide(ev)
		switch {
		case err != nil:
			rep.Ignored["invalid_attributes"]++
			return nil
		case !d.Close:
			rep.Ignored[d.Reason]++
			return nil
		}
		if t, ok := newest[d.Channel.ChannelSID]; ok && e.Date.Before(t) {
			rep.Ignored[ReasonSuperseded]++
			return nil
		}
		rep.Closing++
		if seen[d.Channel.ChannelSID] {
			return nil
		}
		seen[d.Channel.ChannelSID] = true
		rep.Channels++
		a, left := s.sweepChannel(ctx, d.Channel, e, run)
		if left != "" {
			rep.Left[left]++
			return nil
		}
		rep.Open++
		rep.Outcomes[a.Outcome]++
		rep.Actions = append(rep.Actions, a)
		if a.Outcome == string(channelclose.Closed) {
			closes++
		}
		if err := s.o.Sleep(ctx, pace); err != nil {
			rep.Truncated = true
			return errStop
		}
		return nil
	}
	for _, typ := range s.o.CloseEvents {
		if s.late(ctx) {
			rep.Truncated = true
			break
		}
		f := window
		f.Type = typ
		err := s.api.Events(ctx, s.ws, f, visit)
		if errors.Is(err, errStop) {
			break
		}
		if errors.Is(err, flex.ErrTooManyPages) {
			rep.Truncated = true
			rep.Warnings = append(rep.Warnings, typ+" events: "+err.Error()+"; the oldest were not examined (shorten SWEEP_LOOKBACK)")
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("sweep %s: %w", s.ws, err)
		}
	}
	return rep, nil
}

// taskEvents are the events that tell a task took a channel over: a close
// event older than the newest of them is superseded.
var taskEvents = [...]string{"task.created", "task.completed"}

// taskTimes walks the task.created and task.completed events from start to
// now — up to now, not only to the close events' end, so that a Park in the
// last minutes also supersedes an older close event — and returns, per
// channel, the newest time a task of the channel was created or completed.
// A walk stopped at its page bound (flex.ErrTooManyPages, reported in rep)
// saw only its newest events: horizon is then the oldest event it saw, and
// older close events cannot be decided.
func (s *Sweeper) taskTimes(ctx context.Context, start, now time.Time, rep *Report) (newest map[string]time.Time, horizon time.Time, err error) {
	newest = map[string]time.Time{}
	for _, typ := range taskEvents {
		if s.late(ctx) {
			return nil, horizon, errStop
		}
		var oldest time.Time
		err := s.api.Events(ctx, s.ws, flex.EventFilter{Type: typ, Start: start, End: now}, func(e flex.Event) error {
			if s.late(ctx) {
				return errStop
			}
			if oldest.IsZero() || e.Date.Before(oldest) {
				oldest = e.Date
			}
			rep.TaskEvents++
			ch, ok, err := taskrouter.ChannelFromAttributes(e.Attributes)
			if err != nil || !ok {
				return nil
			}
			if t, seen := newest[ch.ChannelSID]; !seen || e.Date.After(t) {
				newest[ch.ChannelSID] = e.Date
			}
			return nil
		})
		switch {
		case errors.Is(err, flex.ErrTooManyPages):
			rep.Truncated = true
			rep.Warnings = append(rep.Warnings, typ+" events: "+err.Error()+"; close events before "+
				oldest.UTC().Format(time.RFC3339)+" were not examined (shorten SWEEP_LOOKBACK)")
			horizon = later(horizon, oldest)
		case errors.Is(err, errStop):
			return nil, horizon, err
		case err != nil:
			return nil, horizon, fmt.Errorf("read %s events: %w", typ, err)
		}
	}
	return newest, horizon, nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sweepChannel closes ch if it is still active, under the run's key. The
// close path's look is the only fetch of the channel: it updates only an
// active channel for the sweeper (channelclose.ChannelRuleFor), so an
// inactive channel (Leave) is never touched. left names why the channel was
// left alone (its status, or not_found); the Action is meaningful only when
// left is empty.
func (s *Sweeper) sweepChannel(ctx context.Context, ch taskrouter.Channel, e flex.Event, run string) (a Action, left string) {
	a = Action{InteractionSID: ch.InteractionSID, ChannelSID: ch.ChannelSID, TaskSID: e.TaskSID, EventType: e.Type}
	job := channelclose.Job{
		Source: channelclose.SourceSweeper, WorkspaceSID: s.ws, TaskSID: e.TaskSID,
		InteractionSID: ch.InteractionSID, ChannelSID: ch.ChannelSID,
		Status: s.o.Status, Routing: s.o.Routing, Guard: true,
	}
	key := "sweep:" + run + ":" + ch.ChannelSID
	res, err := s.runner.Run(ctx, closejob.NewMessage(key, job, s.o.Now()))
	if err != nil {
		a.Outcome, a.Error, a.Request = "failed", err.Error(), job.Request()
		return a, ""
	}
	// The look found the channel active and the update went out.
	updated := res.Calls >= 2 || res.Outcome == channelclose.Closed
	switch {
	case updated:
		a.ChannelStatus = flex.StatusActive
	case res.Outcome == channelclose.NotFound:
		return a, string(channelclose.NotFound)
	case res.Outcome == channelclose.AlreadyClosed || res.Outcome == channelclose.NotClosable:
		// Closed, inactive (a Flex Leave waiting for the customer) or
		// failed: nothing was sent.
		return a, res.ChannelStatus
	default:
		// Active (skipped for a live task, dry run) or another status
		// (setup, pause, transfer: Flex is in the middle of something).
		a.ChannelStatus = res.ChannelStatus
	}
	a.Outcome = string(res.Outcome)
	if res.Outcome != channelclose.SkippedChannelState {
		a.Request = job.Request()
	}
	return a, ""
}

// late reports that the deadline is too close to start more work.
func (s *Sweeper) late(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && s.o.Now().Add(margin).After(d)
}
