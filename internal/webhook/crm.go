package webhook

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"sync"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/secrets"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// errTaskLookupDisabled: a CRM named a task but no workspace is configured.
var errTaskLookupDisabled = errors.New("task_sid look-ups need TASKROUTER_WORKSPACE_SID")

// errNotFlexTask: the task a CRM named carries no Interaction Channel.
var errNotFlexTask = errors.New("the task is not a Flex Conversations task")

// crmResult is the JSON body of a successful CRM call.
type crmResult struct {
	Outcome        string `json:"outcome"`
	InteractionSID string `json:"interaction_sid"`
	ChannelSID     string `json:"channel_sid"`
	Status         string `json:"status,omitempty"`
	LiveTaskSID    string `json:"live_task_sid,omitempty"`
}

// crm handles POST /crm: a CRM says a conversation is done. A channel named
// directly is closed as asked; a channel found through task_sid is closed
// only when no other live task uses it, exactly as for a TaskRouter event.
func (h *Handler) crm(ctx context.Context, req *gateway.Request, rec *record) (gateway.Response, error) {
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return gateway.Response{}, fmt.Errorf("%w: send application/json", errMediaType)
	}
	if err := h.verifyCRM(ctx, req); err != nil {
		return gateway.Response{}, err
	}
	in, err := crm.Parse(req.Body)
	if err != nil {
		return gateway.Response{}, err
	}
	var key string
	if h.keyed() {
		key = closejob.CRMKey(req.Header.Get(crm.HeaderID), req.Header.Get("Idempotency-Key"))
	}
	return h.closeCRM(ctx, in, key, rec)
}

// closeCRM runs a CRM close request, from the /crm route or a named
// source, through the decision and close path: the status default, the
// task look-up with its live-task guard, idempotency under key ("" when
// !h.keyed()) and the queue in durable mode.
func (h *Handler) closeCRM(ctx context.Context, in crm.Request, key string, rec *record) (gateway.Response, error) {
	status := in.Status
	if status == "" {
		status = h.cfg.CloseStatus
	}
	job := channelclose.Job{
		Source:         "crm",
		InteractionSID: in.InteractionSID,
		ChannelSID:     in.ChannelSID,
		Status:         status,
		Routing:        h.cfg.Routing(status),
	}
	if in.TaskSID != "" {
		var err error
		rec.taskSID = in.TaskSID
		if job, err = h.jobForTask(ctx, job, in.TaskSID); err != nil {
			return gateway.Response{}, err
		}
	}
	rec.interaction, rec.channel = job.InteractionSID, job.ChannelSID
	res, queued, err := h.dispatch(ctx, key, job, rec)
	if err != nil {
		return gateway.Response{}, err
	}
	if queued {
		return jsonResponse(http.StatusAccepted, crmResult{
			Outcome: outcomeQueued, InteractionSID: job.InteractionSID, ChannelSID: job.ChannelSID, Status: job.Status,
		}), nil
	}
	rec.outcome, rec.liveTask = string(res.Outcome), res.LiveTaskSID
	code := http.StatusOK
	if res.Outcome == channelclose.NotFound {
		code = http.StatusNotFound
	}
	return jsonResponse(code, crmResult{
		Outcome:        string(res.Outcome),
		InteractionSID: job.InteractionSID,
		ChannelSID:     job.ChannelSID,
		Status:         res.ChannelStatus,
		LiveTaskSID:    res.LiveTaskSID,
	}), nil
}

// unknownTaskError: neither the task list nor the workspace's events know
// the task a CRM named.
type unknownTaskError struct{ TaskSID string }

func (e *unknownTaskError) Error() string {
	return "task " + e.TaskSID + " is not known to TaskRouter: no such task, and no event of it in the last 30 days"
}

// eventRetention is how long TaskRouter keeps a workspace's events.
const eventRetention = 30 * 24 * time.Hour

// errFound stops an event walk at the first useful event.
var errFound = errors.New("found")

// jobForTask resolves a task SID to its channel through TaskRouter and
// turns on the live-task guard, leaving that task out of it. TaskRouter
// deletes a task five minutes after it ends; the channel of a deleted task
// is read from its events (kept 30 days), which carry its attributes.
func (h *Handler) jobForTask(ctx context.Context, job channelclose.Job, taskSID string) (channelclose.Job, error) {
	if h.cfg.WorkspaceSID == "" {
		return job, errTaskLookupDisabled
	}
	task, err := h.twilio.FetchTask(ctx, h.cfg.WorkspaceSID, taskSID)
	if errors.Is(err, flex.ErrNotFound) {
		task.Attributes, err = h.attributesFromEvents(ctx, taskSID)
	}
	if err != nil {
		return job, fmt.Errorf("look up task %s: %w", taskSID, err)
	}
	ch, ok, err := taskrouter.ChannelFromAttributes(task.Attributes)
	if err != nil {
		return job, fmt.Errorf("%w: %v", errNotFlexTask, err)
	}
	if !ok {
		return job, errNotFlexTask
	}
	job.InteractionSID, job.ChannelSID = ch.InteractionSID, ch.ChannelSID
	job.WorkspaceSID, job.TaskSID, job.Guard = h.cfg.WorkspaceSID, taskSID, true
	return job, nil
}

// attributesFromEvents returns the attributes of task taskSID as its most
// recent event carrying them says, or an *unknownTaskError when no event of
// the last 30 days does.
func (h *Handler) attributesFromEvents(ctx context.Context, taskSID string) (string, error) {
	now := h.now()
	var attrs string
	err := h.twilio.Events(ctx, h.cfg.WorkspaceSID, flex.EventFilter{TaskSID: taskSID, Start: now.Add(-eventRetention), End: now},
		func(e flex.Event) error {
			if e.TaskSID != taskSID || e.Attributes == "" {
				return nil
			}
			attrs = e.Attributes
			return errFound
		})
	switch {
	case errors.Is(err, errFound):
		return attrs, nil
	case err != nil:
		return "", err
	}
	return "", &unknownTaskError{TaskSID: taskSID}
}

// verifyCRM authenticates the callback with the current CRM secrets and
// tokens. A failure may mean they were rotated since the secret was cached:
// the secret is refreshed (rate-limited) and the check repeated once.
func (h *Handler) verifyCRM(ctx context.Context, req *gateway.Request) error {
	sec, err := h.secrets.Get(ctx)
	if err != nil {
		return err
	}
	v, err := h.crmVerifiers.get(sec)
	if err != nil {
		return err
	}
	err = v.Verify(req.Header, req.Body, h.now())
	if errors.Is(err, crm.ErrBadSignature) || errors.Is(err, crm.ErrBadToken) {
		if fresh, changed, rerr := h.secrets.Refresh(ctx); rerr == nil && changed {
			if v, verr := h.crmVerifiers.get(fresh); verr == nil {
				err = v.Verify(req.Header, req.Body, h.now())
			}
		}
	}
	return err
}

// verifierCache keeps the crm.Verifier built for the current secret, so
// keys are decoded once per secret version, not per request.
type verifierCache struct {
	mu        sync.Mutex
	forSecret *secrets.Twilio
	v         *crm.Verifier
	err       error
}

func (c *verifierCache) get(sec *secrets.Twilio) (*crm.Verifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forSecret != sec {
		c.v, c.err = crm.NewVerifier(crm.Config{Secrets: reveal(sec.CRMWebhookSecrets), Tokens: reveal(sec.CRMAPITokens)})
		if c.err != nil {
			c.err = &secrets.FormatError{Field: "crm_webhook_secret/crm_api_token", Reason: c.err.Error()}
		}
		c.forSecret = sec
	}
	return c.v, c.err
}

func isCRMAuth(err error) bool {
	for _, e := range []error{crm.ErrNotSigned, crm.ErrBadSignature, crm.ErrTimestamp, crm.ErrBadToken, crm.ErrMalformedHeader} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// isCRMInvalid reports a well-formed request the CRM got wrong.
func isCRMInvalid(err error) bool {
	var ve *crm.ValidationError
	return errors.As(err, &ve) || errors.Is(err, crm.ErrMalformedJSON) ||
		errors.Is(err, errTaskLookupDisabled) || errors.Is(err, errNotFlexTask)
}

func crmInvalidResponse(err error) gateway.Response {
	var ve *crm.ValidationError
	switch {
	case errors.Is(err, crm.ErrMalformedJSON):
		return errorResponse(http.StatusBadRequest, "body is not a valid JSON object")
	case errors.As(err, &ve):
		return errorResponse(http.StatusUnprocessableEntity, ve.Error())
	case errors.Is(err, errTaskLookupDisabled):
		return errorResponse(http.StatusUnprocessableEntity, "task_sid look-ups are not enabled on this deployment")
	}
	return errorResponse(http.StatusUnprocessableEntity, "task_sid: the task is not attached to a Flex Interaction Channel")
}
