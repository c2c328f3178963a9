package webhook

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/gateway"
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
// delivery id, scoped to the source, else the Idempotency-Key header, else
// a key of its own (closejob.CRMKey).
func sourceKey(source, id, idempotencyKey string) string {
	if id != "" {
		return closejob.CRMKey(source+"\x00"+id, "")
	}
	return closejob.CRMKey("", idempotencyKey)
}

// salesforce handles an Outbound Message: every notification is closed
// (or queued) under its own notification Id; the SOAP acknowledgement is
// sent only when all of them are, otherwise the first failure is answered
// with its usual non-2xx status so that Salesforce delivers the message
// again, and the redelivery finds the done ones in the idempotency store.
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
	// Map every notification before closing any, so a message with one
	// bad record closes nothing and is refused as a whole.
	resolved := make([]crm.Resolution, len(msg.Notifications))
	for i, n := range msg.Notifications {
		if resolved[i], err = src.ResolveNotification(n); err != nil {
			return gateway.Response{}, fmt.Errorf("notification %d: %w", i+1, err)
		}
	}
	outcomes := make([]string, 0, len(resolved))
	for _, r := range resolved {
		if r.Ignored {
			outcomes = append(outcomes, outcomeIgnored)
			continue
		}
		var key string
		if h.keyed() {
			key = sourceKey(src.Name, src.OrgID[:15]+"\x00"+r.DeliveryID, "")
		}
		if _, err := h.closeCRM(ctx, r.Request, key, rec); err != nil {
			return gateway.Response{}, err
		}
		outcomes = append(outcomes, rec.outcome)
	}
	rec.outcome = summarize(outcomes)
	return gateway.Response{
		Status: http.StatusOK,
		Header: map[string]string{"Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
		Body:   []byte(crm.AckResponse),
	}, nil
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
// usable crm_sources entry for a configured source whose scheme needs one.
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
