package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/retry"
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
	if err := requireMediaType(req, "application/json", "application/json"); err != nil {
		return gateway.Response{}, err
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
// tokens, refreshing a secret they may have been rotated out of.
func (h *Handler) verifyCRM(ctx context.Context, req *gateway.Request) error {
	_, err := h.verifyFresh(ctx, func(sec *secrets.Twilio) error {
		v, err := h.crmVerifiers.get(sec, "", func() (*crm.Verifier, error) {
			v, err := crm.NewVerifier(crm.Config{Secrets: reveal(sec.CRMWebhookSecrets), Tokens: reveal(sec.CRMAPITokens)})
			if err != nil {
				return nil, &secrets.FormatError{Field: "crm_webhook_secret/crm_api_token", Reason: err.Error()}
			}
			return v, nil
		})
		if err != nil {
			return err
		}
		return v.Verify(req.Header, req.Body, h.now())
	}, crm.ErrBadSignature, crm.ErrBadToken)
	return err
}

// requireMediaType refuses a request whose Content-Type is not want,
// asking for hint instead.
func requireMediaType(req *gateway.Request, want, hint string) error {
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != want {
		return fmt.Errorf("%w: send %s", errMediaType, hint)
	}
	return nil
}

func isCRMAuth(err error) bool {
	return isAny(err, crm.ErrNotSigned, crm.ErrBadSignature, crm.ErrTimestamp, crm.ErrBadToken, crm.ErrMalformedHeader)
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

// crmSourcePrefix starts the route of a named CRM source: POST /crm/{name}.
const crmSourcePrefix = RouteCRM + "/"

// sourceRoute reports whether path is POST /crm/{name} for a configured
// source, or for the built-in source "default" (the same as POST /crm).
func (h *Handler) sourceRoute(path string) (name string, ok bool) {
	name, ok = strings.CutPrefix(path, crmSourcePrefix)
	return name, ok && (name == crm.DefaultSource || h.crmSourceByName(name) != nil)
}

// crmSourceByName returns the configured source called name, or nil.
func (h *Handler) crmSourceByName(name string) *crm.Source {
	i := slices.IndexFunc(h.cfg.CRMSources, func(s crm.Source) bool { return s.Name == name })
	if i < 0 {
		return nil
	}
	return &h.cfg.CRMSources[i]
}

// crmSourceResult is the JSON answer of a source delivery that closed
// nothing because its condition did not match.
type crmSourceResult struct {
	Outcome string `json:"outcome"`
	Source  string `json:"source"`
}

// crmSource handles POST /crm/{name}: authenticate the delivery the way
// the source's scheme signs it, map its payload to a close request, and
// run that request through exactly the path of POST /crm (closeCRM).
func (h *Handler) crmSource(ctx context.Context, req *gateway.Request, rec *record, name string) (gateway.Response, error) {
	if name == crm.DefaultSource {
		return h.crm(ctx, req, rec)
	}
	src := h.crmSourceByName(name)
	if src.Scheme == crm.SchemeSalesforceOutbound {
		return h.salesforce(ctx, req, rec, src)
	}
	if err := requireMediaType(req, "application/json", "application/json"); err != nil {
		return gateway.Response{}, err
	}
	if err := h.verifySource(ctx, req, src); err != nil {
		return gateway.Response{}, err
	}
	res, err := src.ResolveJSON(req.Body)
	if err != nil {
		return gateway.Response{}, err
	}
	if res.Ignored {
		rec.outcome = outcomeIgnored
		return jsonResponse(http.StatusOK, crmSourceResult{Outcome: outcomeIgnored, Source: src.Name}), nil
	}
	id := res.DeliveryID
	switch src.Scheme {
	case crm.SchemeStandardWebhooks:
		id = req.Header.Get(crm.HeaderID)
	case crm.SchemeZendesk:
		if v := req.Header.Get(crm.HeaderZendeskInvocation); v != "" {
			id = v
		}
	}
	var key string
	if h.keyed() {
		key = sourceKey(src.Name, id, req.Header.Get("Idempotency-Key"))
	}
	return h.closeCRM(ctx, res.Request, key, rec)
}

// sourceKey is the idempotency key of a source delivery: its sender's
// delivery id, else the Idempotency-Key header, else a key of its own
// (closejob.CRMKey). Both the id and the header are scoped to the source,
// so two sources (or a source and POST /crm) sending the same value never
// share a key; the id and header forms stay distinct (crm:id: and
// crm:key:). HTTP header values cannot hold NUL, so the scoped values
// cannot collide with the keys of POST /crm either.
func sourceKey(source, id, idempotencyKey string) string {
	switch {
	case id != "":
		return closejob.CRMKey(source+"\x00"+id, "")
	case idempotencyKey != "":
		return closejob.CRMKey("", source+"\x00"+idempotencyKey)
	}
	return closejob.CRMKey("", "")
}

// salesforce handles an Outbound Message. Each notification is mapped and
// closed (or queued) on its own, under its own notification Id, and ends
// in one of two ways:
//
//   - final: closed, ignored, not found, queued, already handled, or a
//     permanent failure (a record that cannot be mapped, an unknown or
//     non-Flex task, a close Twilio refused for good). Its outcome is
//     logged with its Id; Salesforce gains nothing by sending it again.
//   - retryable: Twilio or AWS unavailable, the same notification in
//     progress elsewhere, a deployment fault (credentials, secret).
//
// The SOAP acknowledgement is sent only when every notification is
// final; otherwise the first retryable failure is answered with its usual
// non-2xx status, naming its notification Id, so that Salesforce delivers
// the message again and the redelivery finds the done ones in the
// idempotency store.
func (h *Handler) salesforce(ctx context.Context, req *gateway.Request, rec *record, src *crm.Source) (gateway.Response, error) {
	if err := requireMediaType(req, "text/xml", "text/xml (SOAP 1.1)"); err != nil {
		return gateway.Response{}, err
	}
	if err := h.verifySource(ctx, req, src); err != nil {
		return gateway.Response{}, err
	}
	msg, err := crm.ParseOutbound(req.Body)
	if errors.Is(err, crm.ErrMalformedXML) {
		rec.err, rec.outcome = err, outcomeInvalid
		return errorResponse(http.StatusBadRequest, "body is not a Salesforce Outbound Message"), nil
	}
	if err != nil {
		return gateway.Response{}, err
	}
	if err := crm.VerifyOrgID(src.OrgID, msg.OrganizationID); err != nil {
		return gateway.Response{}, err
	}
	var (
		pending *notificationError // the first retryable failure
		outcome string             // the notifications' common outcome, or "mixed"
	)
	for i, n := range msg.Notifications {
		nrec := &record{}
		err := h.salesforceNotification(ctx, src, n, nrec)
		rec.attempts += nrec.attempts
		rec.calls += nrec.calls
		rec.twilioTime += nrec.twilioTime
		rec.replayed = rec.replayed || nrec.replayed
		final := err == nil || !retryableNotification(err)
		if err != nil {
			_, nrec.outcome = respondError(RouteCRM, err)
		}
		if !final && pending == nil {
			pending = &notificationError{id: n.ID, err: err}
		}
		h.logNotification(ctx, src, n.ID, nrec, err, final)
		if i == 0 {
			outcome = nrec.outcome
		} else if nrec.outcome != outcome {
			outcome = "mixed"
		}
		if len(msg.Notifications) == 1 {
			rec.taskSID, rec.interaction, rec.channel = nrec.taskSID, nrec.interaction, nrec.channel
			rec.liveTask, rec.dryRunRequest = nrec.liveTask, nrec.dryRunRequest
		}
	}
	if pending != nil {
		resp, outcome := respondError(RouteCRM, pending.err)
		rec.err, rec.outcome = pending, outcome
		return withNotificationID(resp, pending.id), nil
	}
	rec.outcome = outcome
	hdr := baseHeader()
	hdr["Content-Type"] = "text/xml; charset=utf-8"
	return gateway.Response{Status: http.StatusOK, Header: hdr, Body: []byte(crm.AckResponse)}, nil
}

// salesforceNotification maps and closes (or queues) one notification,
// leaving its outcome in nrec.
func (h *Handler) salesforceNotification(ctx context.Context, src *crm.Source, n crm.Notification, nrec *record) error {
	r, err := src.ResolveNotification(n)
	if err != nil {
		return err
	}
	if r.Ignored {
		nrec.outcome = outcomeIgnored
		return nil
	}
	var key string
	if h.keyed() {
		key = sourceKey(src.Name, src.OrgID[:15]+"\x00"+r.DeliveryID, "")
	}
	_, err = h.closeCRM(ctx, r.Request, key, nrec)
	if errors.Is(err, closejob.ErrPayloadMismatch) {
		// Salesforce sends a record's latest data on every redelivery:
		// a notification Id recorded as done with other data is this
		// notification, already handled. One still in progress elsewhere
		// is not yet: retry.
		done, lerr := h.process.Done(ctx, key)
		switch {
		case lerr != nil:
			return lerr
		case !done:
			return closejob.ErrInProgress
		}
		nrec.outcome, nrec.replayed = outcomeDuplicate, true
		return nil
	}
	return err
}

// retryableNotification reports whether a notification's failure may pass
// on a redelivery of the message: a transient Twilio or AWS failure (a
// failed enqueue included), the same notification in progress elsewhere,
// or a deployment fault (a broken secret, credentials Twilio rejects) that
// the processor does not record as the notification's outcome. Anything
// not known to be final is retried rather than acknowledged and lost.
func retryableNotification(err error) bool {
	var formatErr *secrets.FormatError
	switch {
	case retry.Retryable(err), errors.Is(err, closejob.ErrInProgress),
		errors.As(err, &formatErr), closejob.ConfigError(err):
		return true
	case isCRMInvalid(err), errors.As(err, new(*unknownTaskError)), errors.Is(err, flex.ErrNotFound),
		errors.Is(err, flex.ErrInvalidSID), errors.As(err, new(*recordedFailure)),
		errors.As(err, new(*closejob.PermanentError)), errors.As(err, new(*flex.Error)):
		return false
	}
	return true
}

// notificationError is a notification's failure, answered as the failure
// is but naming the notification.
type notificationError struct {
	id  string
	err error
}

func (e *notificationError) Error() string { return "notification " + e.id + ": " + e.err.Error() }
func (e *notificationError) Unwrap() error { return e.err }

// withNotificationID prefixes the JSON error message of resp with the
// notification Id it is about.
func withNotificationID(resp gateway.Response, id string) gateway.Response {
	var body struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(resp.Body, &body) != nil || body.Error == "" {
		return resp
	}
	r := errorResponse(resp.Status, "notification "+id+": "+body.Error)
	for k, v := range resp.Header {
		r.Header[k] = v
	}
	return r
}

// logNotification writes one line per notification of an Outbound
// Message: its Id, what it named and its outcome, never the record's
// data.
func (h *Handler) logNotification(ctx context.Context, src *crm.Source, id string, nrec *record, err error, final bool) {
	attrs := appendNonEmpty([]slog.Attr{
		slog.String("source", src.Name),
		slog.String("notification_id", id),
		slog.String("outcome", nrec.outcome),
		slog.Bool("acknowledged", final),
	}, "task_sid", nrec.taskSID, "interaction_sid", nrec.interaction, "channel_sid", nrec.channel, "live_task_sid", nrec.liveTask)
	if nrec.replayed {
		attrs = append(attrs, slog.Bool("replayed", true))
	}
	level := slog.LevelInfo
	if err != nil {
		attrs = append(attrs, slog.String("error", logText(err)))
		level = slog.LevelWarn
	}
	h.log.LogAttrs(ctx, level, "salesforce notification", attrs...)
}

// verifySource authenticates a delivery with the source's current
// secrets, refreshing them as for POST /crm.
func (h *Handler) verifySource(ctx context.Context, req *gateway.Request, src *crm.Source) error {
	d := crm.Delivery{Method: req.Method, PublicURL: req.PublicURL, RawQuery: req.RawQuery, Header: req.Header, Body: req.Body}
	_, err := h.verifyFresh(ctx, func(sec *secrets.Twilio) error {
		a, err := h.sourceAuth(sec, src)
		if err != nil {
			return err
		}
		return a.Verify(d, h.now())
	}, crm.ErrBadSignature, crm.ErrBadToken)
	return err
}

// CheckCRMSources fails when the Twilio secret, once loaded, lacks a
// usable crm_sources entry for a configured source whose scheme needs one,
// or has an entry naming no configured source.
// Call it at cold start, after the secret's first fetch: an unloadable
// secret is not its business (requests retry the fetch and answer 500 if
// the entry is still missing), a misconfigured one fails the start with a
// message naming the source and the field.
func (h *Handler) CheckCRMSources(ctx context.Context) error {
	if len(h.cfg.CRMSources) == 0 {
		return nil
	}
	sec, err := h.secrets.Get(ctx)
	if err != nil {
		return nil
	}
	var errs []error
	for i := range h.cfg.CRMSources {
		src := &h.cfg.CRMSources[i]
		if _, err := h.sourceAuth(sec, src); err != nil {
			errs = append(errs, fmt.Errorf("CRM source %s (scheme %s): %w", src.Name, src.Scheme, err))
		}
	}
	// A key naming no source is a typo that leaves the intended source
	// without its secret (or, for salesforce-outbound, silently without
	// its token).
	stray := make([]string, 0, len(sec.CRMSources))
	for name := range sec.CRMSources {
		if h.crmSourceByName(name) == nil {
			stray = append(stray, name)
		}
	}
	slices.Sort(stray)
	for _, name := range stray {
		errs = append(errs, &secrets.FormatError{Field: "crm_sources." + name, Reason: "names no source of CRM_SOURCES (a typo?)"})
	}
	return errors.Join(errs...)
}

// sourceAuth returns src's crm.SourceAuth for sec, built once per secret
// version.
func (h *Handler) sourceAuth(sec *secrets.Twilio, src *crm.Source) (*crm.SourceAuth, error) {
	return h.sourceAuths.get(sec, src.Name, func() (*crm.SourceAuth, error) {
		a, err := crm.NewSourceAuth(src, reveal(sec.CRMSources[src.Name]))
		if err != nil {
			reason := err.Error()
			if len(sec.CRMSources[src.Name]) == 0 {
				reason = fmt.Sprintf("is required by the %s scheme of CRM source %s", src.Scheme, src.Name)
			}
			return nil, &secrets.FormatError{Field: "crm_sources." + src.Name, Reason: reason}
		}
		return a, nil
	})
}

// authCache keeps what was built from the current secret (the POST /crm
// verifier, each source's authentication) by name, so keys are decoded
// and checked once per secret version, not per request.
type authCache[T any] struct {
	mu        sync.Mutex
	forSecret *secrets.Twilio
	built     map[string]authEntry[T]
}

type authEntry[T any] struct {
	v   T
	err error
}

func (c *authCache[T]) get(sec *secrets.Twilio, name string, build func() (T, error)) (T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forSecret != sec {
		c.forSecret, c.built = sec, map[string]authEntry[T]{}
	}
	e, ok := c.built[name]
	if !ok {
		e.v, e.err = build()
		c.built[name] = e
	}
	return e.v, e.err
}
