package flex

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhook/flexhook/internal/sid"
)

// liveStatuses returns the task assignment statuses in which a task still
// needs its channel: closing the channel would end the conversation under it.
func liveStatuses() []string { return []string{"pending", "reserved", "assigned", "wrapping"} }

// Task is the part of a TaskRouter task flexhook reads.
type Task struct {
	SID              string
	WorkspaceSID     string
	AssignmentStatus string
	// Attributes is the task's attributes JSON document.
	Attributes string
	// DateUpdated is when the task last changed (zero when unknown).
	DateUpdated time.Time
}

// liveTaskPage is how many live tasks one look-up reads. Two would do (the
// event's own task and one other); a few more make logs more useful.
const liveTaskPage = 20

// LiveTasks lists the tasks of workspace ws that are attached to channel
// (task attribute flexInteractionChannelSid) and still live — pending,
// reserved, assigned or wrapping — leaving out the task exclude (the one
// whose event is being handled). It reads one page, which is enough to know
// whether any other live task exists.
func (c *Client) LiveTasks(ctx context.Context, ws, channel, exclude string) ([]Task, error) {
	if !sid.Valid(sid.Workspace, ws) {
		return nil, fmt.Errorf("%w: workspace SID must be WS followed by 32 hex digits", ErrInvalidSID)
	}
	if !sid.Valid(sid.Channel, channel) {
		return nil, fmt.Errorf("%w: channel SID must be UO followed by 32 hex digits", ErrInvalidSID)
	}
	// The channel SID is validated hex, so quoting it needs no escaping.
	p := (&taskrouterv1.ListTaskParams{}).
		SetEvaluateTaskAttributes(`flexInteractionChannelSid == ` + strconv.Quote(channel)).
		SetAssignmentStatus(liveStatuses()).
		SetPageSize(liveTaskPage)
	var page *taskrouterv1.ListTaskResponse
	_, err := c.do(ctx, "list live tasks of "+channel, func(s services) (err error) {
		page, err = s.taskrouter.PageTask(ws, p, "", "")
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []Task
	for _, t := range page.Tasks {
		if task := toTask(t); task.SID != exclude && isLive(task.AssignmentStatus) {
			out = append(out, task)
		}
	}
	return out, nil
}

// FetchTask reads task wt of workspace ws.
func (c *Client) FetchTask(ctx context.Context, ws, wt string) (Task, error) {
	if !sid.Valid(sid.Workspace, ws) {
		return Task{}, fmt.Errorf("%w: workspace SID must be WS followed by 32 hex digits", ErrInvalidSID)
	}
	if !sid.Valid(sid.Task, wt) {
		return Task{}, fmt.Errorf("%w: task SID must be WT followed by 32 hex digits", ErrInvalidSID)
	}
	var got *taskrouterv1.TaskrouterV1Task
	_, err := c.do(ctx, "fetch task "+wt, func(s services) (err error) {
		got, err = s.taskrouter.FetchTask(ws, wt)
		return err
	})
	if err != nil {
		return Task{}, err
	}
	return toTask(*got), nil
}

func toTask(t taskrouterv1.TaskrouterV1Task) Task {
	task := Task{
		SID:              deref(t.Sid, ""),
		WorkspaceSID:     deref(t.WorkspaceSid, ""),
		AssignmentStatus: deref(t.AssignmentStatus, ""),
		Attributes:       deref(t.Attributes, ""),
	}
	if t.DateUpdated != nil {
		task.DateUpdated = *t.DateUpdated
	}
	return task
}

func isLive(status string) bool { return slices.Contains(liveStatuses(), status) }

// maxEndedPages bounds one EndedTasks walk (50 tasks a page).
const maxEndedPages = 200

// EndedTasks walks the canceled and completed tasks of workspace ws, newest
// first, calling visit for each task created at or after since, and stops at
// the first older one, when visit returns an error (which it returns), or
// after maxEndedPages pages. Task attributes are included when TaskRouter
// lists them; callers fetch a task whose Attributes are empty.
func (c *Client) EndedTasks(ctx context.Context, ws string, since time.Time, visit func(Task) error) error {
	if !sid.Valid(sid.Workspace, ws) {
		return fmt.Errorf("%w: workspace SID must be WS followed by 32 hex digits", ErrInvalidSID)
	}
	p := (&taskrouterv1.ListTaskParams{}).
		SetAssignmentStatus([]string{"canceled", "completed"}).
		SetOrdering("DateCreated:desc").
		SetPageSize(50)
	token, page := "", ""
	for n := 0; n < maxEndedPages; n++ {
		var resp *taskrouterv1.ListTaskResponse
		_, err := c.do(ctx, "list ended tasks", func(s services) (err error) {
			resp, err = s.taskrouter.PageTask(ws, p, token, page)
			return err
		})
		if err != nil {
			return err
		}
		for _, t := range resp.Tasks {
			if t.DateCreated != nil && t.DateCreated.Before(since) {
				return nil
			}
			if err := visit(toTask(t)); err != nil {
				return err
			}
		}
		if resp.Meta.NextPageUrl == nil || *resp.Meta.NextPageUrl == "" || len(resp.Tasks) == 0 {
			return nil
		}
		next, err := url.Parse(*resp.Meta.NextPageUrl)
		if err != nil {
			return fmt.Errorf("list ended tasks: bad next page URL: %w", err)
		}
		token, page = next.Query().Get("PageToken"), next.Query().Get("Page")
	}
	return nil
}
