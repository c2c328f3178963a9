package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/local/stack"
)

// presetSecrets are the local test secrets of the presets in
// samples.CRMSourcesJSON, used when --secret is not given.
var presetSecrets = map[string]string{
	"zendesk":    samples.ZendeskSigningSecret,
	"hubspot":    samples.HubSpotClientSecret,
	"salesforce": samples.SalesforceToken,
}

// signSource builds the delivery of in.body to a CRM source, signed the way
// its scheme signs. Errors wrap errUsage.
func signSource(in signInput) (string, error) {
	defs, presets := in.sources, false
	if defs == "" {
		defs, presets = samples.CRMSourcesJSON(), true
	}
	srcs, err := crm.ParseSources(defs)
	if err != nil {
		return "", usageError("CRM sources: %v", err)
	}
	var src *crm.Source
	for i := range srcs {
		if srcs[i].Name == in.source {
			src = &srcs[i]
		}
	}
	if src == nil {
		return "", usageError("--source %q is not among the CRM sources", in.source)
	}
	if in.token != "" || in.bearer != "" || len(in.form) > 0 {
		return "", usageError("--source takes its credential from --secret; --token, --bearer and --form do not apply")
	}
	if !in.hasBody {
		return "", usageError("a CRM source request needs its --body (JSON, or the SOAP message for salesforce-outbound)")
	}
	secret := in.secret
	if secret == "" && presets {
		secret = presetSecrets[src.Name]
	}
	if secret == "" && src.Scheme.NeedsSecret() {
		return "", usageError("--secret is required: the %s scheme of source %s signs with it", src.Scheme, src.Name)
	}
	id := in.id
	if id == "" && (src.Scheme == crm.SchemeStandardWebhooks || src.Scheme == crm.SchemeZendesk) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = "msg_" + hex.EncodeToString(b[:])
	}
	h, u, err := crm.SignDelivery(src.Scheme, secret, http.MethodPost, in.url, id, in.body, in.now)
	if err != nil {
		return "", usageError("%v", err)
	}
	if src.Scheme == crm.SchemeSalesforceOutbound {
		h.Set("Content-Type", "text/xml; charset=utf-8")
		h.Set("SOAPAction", `"notifications"`)
	} else {
		h.Set("Content-Type", "application/json")
	}
	return render(in, stack.Request{Method: http.MethodPost, URL: u, Header: h, Body: in.body})
}
