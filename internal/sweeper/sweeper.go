// Package sweeper finds Interaction Channels left open by events that never
// reached flexhook — deploy downtime, TaskRouter's own delivery failures,
// conversations from before installation — and closes them through the same
// idempotent close path as the webhook, live-task guard included.
//
// It walks the workspace's recently canceled and completed tasks (a bounded
// look-back window, newest first, paginated), fetches each Flex task's
// channel once, and closes those still open. Tasks that ended moments ago
// are left to the webhook. Closes are paced to stay well under Twilio's
// concurrency limits, on top of the Twilio client's own 429 handling, and a
// sweep stops starting new work before its deadline.
package sweeper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/flexhook/flexhook/internal/closer"
	"github.com/flexhook/flexhook/internal/delivery"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/retry"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// api is the Twilio adapter (*flex.Client).
type api interface {
	EndedTasks(ctx context.Context, ws string, since time.Time, visit func(flex.Task) error) error
	FetchTask(ctx context.Context, ws, wt string) (flex.Task, error)
	FetchChannel(ctx context.Context, ch flex.ChannelRef) (flex.Channel, error)
}

// runner runs a close job once (*delivery.Processor).
type runner interface {
	Run(ctx context.Context, m delivery.Message) (delivery.Result, error)
}

// Options tune a Sweeper. Zero values take the defaults.
type Options struct {
	// Lookback is how far back ended tasks are examined (default 2h): a
	// task counts when it last changed (ended) within it.
	Lookback time.Duration
	// Horizon is how much longer before the look-back window a task may
	// have been created and still be examined (default 24h): TaskRouter
	// lists tasks by creation, not by when they ended.
	Horizon time.Duration
	// Statuses are the ended statuses that close a channel, from the
	// configured close events (StatusesFor); nil means canceled and
	// completed, empty means none.
	Statuses []string
	// MinAge leaves tasks updated more recently than this to the webhook
	// (default 2 minutes).
	MinAge time.Duration
	// Status and Routing are the close to make (default closed, routed).
	Status  string
	Routing bool
	// MaxCloses bounds the closes of one sweep (default 500).
	MaxCloses int
	// Pace is the least time between two closes (default 100ms).
	Pace time.Duration
	// Margin is kept free before the context's deadline (default 10s).
	Margin time.Duration
	// Now and Sleep are the clock (tests inject them).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Action is what the sweep did about one channel.
type Action struct {
	InteractionSID string `json:"interaction_sid"`
	ChannelSID     string `json:"channel_sid"`
	TaskSID        string `json:"task_sid"`
	ChannelStatus  string `json:"channel_status"` // before the sweep
	Outcome        string `json:"outcome"`        // closed, already_closed, skipped_live_task, not_found, dry_run, failed
	Request        string `json:"request,omitempty"`
	Error          string `json:"error,omitempty"`
}

// Report summarises a sweep.
type Report struct {
	Tasks     int            `json:"tasks"`      // ended tasks examined
	FlexTasks int            `json:"flex_tasks"` // of which on an Interaction Channel
	Channels  int            `json:"channels"`   // distinct channels looked at
	Open      int            `json:"open"`       // of which still open
	Outcomes  map[string]int `json:"outcomes"`
	Truncated bool           `json:"truncated"` // stopped early: deadline or MaxCloses
	Actions   []Action       `json:"actions"`   // one per open channel
}

// Sweeper closes orphaned channels of one workspace.
type Sweeper struct {
	api    api
	runner runner
	ws     string
	o      Options
}

// New returns a Sweeper of workspace ws.
func New(api api, r runner, ws string, o Options) *Sweeper {
	if o.Lookback <= 0 {
		o.Lookback = 2 * time.Hour
	}
	if o.Horizon <= 0 {
		o.Horizon = 24 * time.Hour
	}
	if o.Statuses == nil {
		o.Statuses = []string{"canceled", "completed"}
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
	if o.Pace <= 0 {
		o.Pace = 100 * time.Millisecond
	}
	if o.Margin <= 0 {
		o.Margin = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = retry.Sleep
	}
	return &Sweeper{api: api, runner: r, ws: ws, o: o}
}

// StatusesFor returns the ended task statuses whose channels the sweeper
// closes, given the webhook's close events: canceled for task.canceled (and
// workflow.timeout, whose tasks end canceled), completed for
// task.completed. Deleted tasks are not listed by TaskRouter at all.
func StatusesFor(events []string) []string {
	var out []string
	if slices.Contains(events, "task.canceled") || slices.Contains(events, "workflow.timeout") {
		out = append(out, "canceled")
	}
	if slices.Contains(events, "task.completed") {
		out = append(out, "completed")
	}
	return out
}

// errStop ends the task walk early.
var errStop = errors.New("stop")

// Sweep runs one sweep. Per-channel failures are reported in the Report,
// not returned; the error is for a sweep that could not run (listing tasks
// failed).
func (s *Sweeper) Sweep(ctx context.Context) (Report, error) {
	now := s.o.Now()
	rep := Report{Outcomes: map[string]int{}}
	seen := map[string]bool{}
	closes := 0
	// Each run has its own keys: a channel skipped for a live task now
	// must be looked at again by the next run.
	run := strconv.FormatInt(now.UnixNano(), 36)
	since := now.Add(-s.o.Lookback)
	err := s.api.EndedTasks(ctx, s.ws, since.Add(-s.o.Horizon), func(t flex.Task) error {
		if s.late(ctx) || closes >= s.o.MaxCloses {
			rep.Truncated = true
			return errStop
		}
		if !slices.Contains(s.o.Statuses, t.AssignmentStatus) ||
			(!t.DateUpdated.IsZero() && t.DateUpdated.Before(since)) {
			return nil // not a configured close, or ended before the window
		}
		rep.Tasks++
		if t.Attributes == "" {
			full, err := s.api.FetchTask(ctx, s.ws, t.SID)
			if err != nil {
				return nil // gone meanwhile, or unreadable: the next sweep sees it again
			}
			t = full
		}
		ch, ok, err := taskrouter.ChannelFromAttributes(t.Attributes)
		if err != nil || !ok {
			return nil
		}
		rep.FlexTasks++
		if seen[ch.ChannelSID] {
			return nil
		}
		seen[ch.ChannelSID] = true
		if !t.DateUpdated.IsZero() && now.Sub(t.DateUpdated) < s.o.MinAge {
			return nil // a task of this channel just ended: the webhook is on it
		}
		rep.Channels++
		a, acted := s.sweepChannel(ctx, ch, t, run)
		if !acted {
			return nil
		}
		rep.Open++
		rep.Outcomes[a.Outcome]++
		rep.Actions = append(rep.Actions, a)
		if a.Outcome == string(closer.Closed) {
			closes++
		}
		if err := s.o.Sleep(ctx, s.o.Pace); err != nil {
			rep.Truncated = true
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return rep, fmt.Errorf("sweep %s: %w", s.ws, err)
	}
	return rep, nil
}

// sweepChannel closes ch if it is still open, under the run's key. acted is false when the
// channel needs nothing (already closed, inactive or failed).
func (s *Sweeper) sweepChannel(ctx context.Context, ch taskrouter.Channel, t flex.Task, run string) (Action, bool) {
	a := Action{InteractionSID: ch.InteractionSID, ChannelSID: ch.ChannelSID, TaskSID: t.SID}
	cur, err := s.api.FetchChannel(ctx, flex.ChannelRef{InteractionSID: ch.InteractionSID, ChannelSID: ch.ChannelSID})
	switch {
	case errors.Is(err, flex.ErrNotFound):
		return a, false
	case err != nil:
		a.Outcome, a.Error = "failed", err.Error()
		return a, true
	}
	a.ChannelStatus = cur.Status
	switch cur.Status {
	case flex.StatusClosed, flex.StatusInactive, "failed":
		return a, false
	}
	job := closer.Job{
		Source: "sweeper", WorkspaceSID: s.ws, TaskSID: t.SID,
		InteractionSID: ch.InteractionSID, ChannelSID: ch.ChannelSID,
		Status: s.o.Status, Routing: s.o.Routing, Guard: true,
	}
	key := "sweep:" + run + ":" + ch.ChannelSID
	res, err := s.runner.Run(ctx, delivery.NewMessage(key, job, s.o.Now()))
	a.Request = job.Request()
	if err != nil {
		a.Outcome, a.Error = "failed", err.Error()
		return a, true
	}
	a.Outcome = string(res.Outcome)
	return a, true
}

// late reports that the deadline is too close to start more work.
func (s *Sweeper) late(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && s.o.Now().Add(s.o.Margin).After(d)
}
