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

	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/retry"
	"github.com/flexhook/flexhook/internal/secrets"
)

// crmSourcePrefix starts the route of a named CRM source: POST /crm/{name}.
const crmSourcePrefix = RouteCRM + "/"

// sourceRoute reports whether path is POST /crm/{name} for a configured
// source, or for the built-in source "default" (the same as POST /crm).
func (h *Handler) sourceRoute(path string) (name string, ok bool) {
	name, ok = strings.CutPrefix(path, crmSourcePrefix)
	if !ok {
		return "", false
	}
	if name == crm.DefaultSource {
		return name, true
	}
	return name, h.crmSourceByName(name) != nil
}

// crmSourceByName returns the configured source called name, or nil.
func (h *Handler) crmSourceByName(name string) *crm.Source {
	for i := range h.cfg.CRMSources {
		if h.cfg.CRMSources[i].Name == name {
			return &h.cfg.CRMSources[i]
		}
	}
	return nil
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
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return gateway.Response{}, fmt.Errorf("%w: send application/json", errMediaType)
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
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err != nil || mt != "text/xml" {
		return gateway.Response{}, fmt.Errorf("%w: send text/xml (SOAP 1.1)", errMediaType)
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
	outcomes := make([]string, 0, len(msg.Notifications))
	var pending *notificationError // the first retryable failure
	for _, n := range msg.Notifications {
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
		outcomes = append(outcomes, nrec.outcome)
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
	rec.outcome = summarize(outcomes)
	return gateway.Response{
		Status: http.StatusOK,
		Header: map[string]string{"Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
		Body:   []byte(crm.AckResponse),
	}, nil
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
	attrs := []slog.Attr{
		slog.String("source", src.Name),
		slog.String("notification_id", id),
		slog.String("outcome", nrec.outcome),
		slog.Bool("acknowledged", final),
	}
	for _, f := range [...]struct{ k, v string }{
		{"task_sid", nrec.taskSID},
		{"interaction_sid", nrec.interaction},
		{"channel_sid", nrec.channel},
		{"live_task_sid", nrec.liveTask},
	} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.k, f.v))
		}
	}
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

// summarize is the logged outcome of a multi-notification message: the
// common outcome, or "mixed".
func summarize(outcomes []string) string {
	for _, o := range outcomes[1:] {
		if o != outcomes[0] {
			return "mixed"
		}
	}
	return outcomes[0]
}

// verifySource authenticates a delivery with the source's current
// secrets; on a bad signature or token the secret is refreshed
// (rate-limited) and the check repeated once, as for POST /crm.
func (h *Handler) verifySource(ctx context.Context, req *gateway.Request, src *crm.Source) error {
	sec, err := h.secrets.Get(ctx)
	if err != nil {
		return err
	}
	a, err := h.sourceAuths.get(sec, src)
	if err != nil {
		return err
	}
	d := crm.Delivery{Method: req.Method, PublicURL: req.PublicURL, RawQuery: req.RawQuery, Header: req.Header, Body: req.Body}
	err = a.Verify(d, h.now())
	if errors.Is(err, crm.ErrBadSignature) || errors.Is(err, crm.ErrBadToken) {
		if fresh, changed, rerr := h.secrets.Refresh(ctx); rerr == nil && changed {
			if a, aerr := h.sourceAuths.get(fresh, src); aerr == nil {
				err = a.Verify(d, h.now())
			}
		}
	}
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
		if _, err := h.sourceAuths.get(sec, src); err != nil {
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

// sourceAuthCache keeps each source's crm.SourceAuth for the current
// secret, so keys are checked once per secret version.
type sourceAuthCache struct {
	mu        sync.Mutex
	forSecret *secrets.Twilio
	auths     map[string]*crm.SourceAuth
	errs      map[string]error
}

func (c *sourceAuthCache) get(sec *secrets.Twilio, src *crm.Source) (*crm.SourceAuth, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forSecret != sec {
		c.forSecret, c.auths, c.errs = sec, map[string]*crm.SourceAuth{}, map[string]error{}
	}
	if a, ok := c.auths[src.Name]; ok {
		return a, nil
	}
	if err, ok := c.errs[src.Name]; ok {
		return nil, err
	}
	a, err := crm.NewSourceAuth(src, reveal(sec.CRMSources[src.Name]))
	if err != nil {
		field := "crm_sources." + src.Name
		reason := err.Error()
		if len(sec.CRMSources[src.Name]) == 0 {
			reason = fmt.Sprintf("is required by the %s scheme of CRM source %s", src.Scheme, src.Name)
		}
		ferr := &secrets.FormatError{Field: field, Reason: reason}
		c.errs[src.Name] = ferr
		return nil, ferr
	}
	c.auths[src.Name] = a
	return a, nil
}
