package flex

import (
	"context"
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
	if err := checkSIDs(sidCheck{"workspace SID", sid.Workspace, ws}, sidCheck{"channel SID", sid.Channel, channel}); err != nil {
		return nil, err
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
	if err := checkSIDs(sidCheck{"workspace SID", sid.Workspace, ws}, sidCheck{"task SID", sid.Task, wt}); err != nil {
		return Task{}, err
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
