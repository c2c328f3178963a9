package main

import (
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
	return signDelivery(in, src.Scheme, secret)
}

// signDelivery builds the POST of in.body to in.url, authenticated the way
// scheme does with secret, and renders it. Errors wrap errUsage.
func signDelivery(in signInput, scheme crm.Scheme, secret string) (string, error) {
	if _, err := absoluteURL("--url", in.url); err != nil {
		return "", err
	}
	id := in.id
	if id == "" && (scheme == crm.SchemeStandardWebhooks || scheme == crm.SchemeZendesk) {
		id = stack.NewMessageID()
	}
	h, u, err := crm.SignDelivery(scheme, secret, http.MethodPost, in.url, id, in.body, in.now)
	if err != nil {
		return "", usageError("%v", err)
	}
	if scheme == crm.SchemeSalesforceOutbound {
		h.Set("Content-Type", "text/xml; charset=utf-8")
		h.Set("SOAPAction", `"notifications"`)
	} else {
		h.Set("Content-Type", "application/json")
	}
	return render(in, stack.Request{Method: http.MethodPost, URL: u, Header: h, Body: in.body})
}
