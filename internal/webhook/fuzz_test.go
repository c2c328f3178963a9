package webhook

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// documentedStatuses are every status the webhook may answer (see
// respond.go and docs/security.md). 500 is left out on purpose: it means a
// bug or a broken secret, and no request may cause either.
var documentedStatuses = []int{
	http.StatusOK, http.StatusNoContent,
	http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound,
	http.StatusMethodNotAllowed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
	http.StatusUnprocessableEntity, http.StatusBadGateway, http.StatusServiceUnavailable,
}

// FuzzInvoke sends arbitrary Lambda payloads through the whole handler,
// with the real twilio-go client talking to the Twilio fake. Whatever the
// payload: Invoke returns a response and no error (a panic would fail the
// target), the status is one of documentedStatuses, the answer is JSON,
// and Twilio is called only for a request that authenticates with the
// configured credentials. Seeds, signed on the edge's fixed clock, live in
// testdata/fuzz/FuzzInvoke.
func FuzzInvoke(f *testing.F) {
	e := newEdge(f, nil)
	f.Add(e.signed(e.form("task.canceled", e.task), authToken))
	f.Add(e.signed(e.form("task.canceled", e.task), authToken2))
	f.Add(e.signedCRM(`{"interaction_sid":"` + edgeKD + `","channel_sid":"` + edgeUO + `"}`))
	f.Add(e.signedCRM(`{"task_sid":"` + edgeWT + `","status":"inactive"}`))
	f.Add(e.event(http.MethodPost, crmURL, http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + crmToken}},
		[]byte(`{"interaction_sid":"`+edgeKD+`","channel_sid":"`+edgeUO+`"}`)))
	f.Add(e.signed(e.form("task.created", e.task), authToken))
	for _, row := range crmSourceHostileRows(e) {
		if len(row.payload) < 64<<10 {
			f.Add(row.payload)
		}
	}
	f.Add([]byte(`{"version":"2.0","rawPath":"/taskrouter","requestContext":{"http":{"method":"POST"}},"body":"%%%","isBase64Encoded":true}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		before := len(e.fake.Requests())
		out, err := e.handler.Invoke(context.Background(), payload)
		if err != nil {
			t.Fatalf("Invoke(%q) returned error %v", payload, err)
		}
		r, err := gatewaytest.ParseResponse(out)
		if err != nil {
			t.Fatalf("Invoke(%q) = %s, not a gateway response: %v", payload, out, err)
		}
		if !slices.Contains(documentedStatuses, r.Status) {
			t.Fatalf("Invoke(%q) = %d %s, not a documented status", payload, r.Status, r.Body)
		}
		if ct := r.Header["Content-Type"]; (ct != "application/json" && !salesforceAck(r)) || r.Header["X-Content-Type-Options"] != "nosniff" {
			t.Fatalf("Invoke(%q) headers = %v", payload, r.Header)
		}
		if len(r.Body) > 0 && !json.Valid(r.Body) && !salesforceAck(r) {
			t.Fatalf("Invoke(%q) body %q is not JSON", payload, r.Body)
		}
		if calls := len(e.fake.Requests()) - before; calls > 0 && !authentic(payload, e) {
			t.Fatalf("Invoke(%q) = %d made %d Twilio calls for a request that does not authenticate", payload, r.Status, calls)
		}
	})
}

// authentic reports whether payload is a request the edge's credentials
// sign: the test's own judgement, made with the verification functions
// directly rather than through the handler.
func authentic(payload []byte, e *edge) bool {
	req, err := gateway.Decode(payload, gateway.Options{MaxBody: MaxBody})
	if err != nil || req.Method != http.MethodPost {
		return false
	}
	switch req.Path {
	case RouteTaskRouter:
		sigs := req.Header.Values(taskrouter.SignatureHeader)
		if len(sigs) != 1 {
			return false
		}
		mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
		var form url.Values
		if mt == "application/json" {
			form, err = taskrouter.ParseJSON(req.Body)
		} else {
			form, err = taskrouter.ParseForm(req.Body)
		}
		return err == nil && taskrouter.Verify(req.PublicURL, form, req.Body, sigs[0], authToken, authToken2) == nil
	case RouteCRM:
		v, err := crm.NewVerifier(crm.Config{Secrets: []string{crmSecret}, Tokens: []string{crmToken}})
		if err != nil {
			panic(err)
		}
		return v.Verify(req.Header, req.Body, e.clock.Now()) == nil
	case RouteCRM + "/" + crm.DefaultSource:
		v, err := crm.NewVerifier(crm.Config{Secrets: []string{crmSecret}, Tokens: []string{crmToken}})
		if err != nil {
			panic(err)
		}
		return v.Verify(req.Header, req.Body, e.clock.Now()) == nil
	}
	return sourceAuthentic(req, e)
}
