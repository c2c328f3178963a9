package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/local/stack"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

const signDescription = `
Builds a correctly signed webhook request for --url and prints it as a curl
command (--format curl, the default) or as the API Gateway HTTP API event the
function would receive for it (--format event, for flexhook invoke or
sam local invoke -e).

TaskRouter (--token): a form POST signed with X-Twilio-Signature, an
HMAC-SHA1 of the URL and the sorted form fields keyed with the auth token. Give
the fields with --form KEY=value (repeatable) or as an encoded form with --body.

CRM: a JSON POST (--body) signed with the Standard Webhooks headers
webhook-id, webhook-timestamp and webhook-signature (--secret whsec_...), or
authenticated with Authorization: Bearer (--bearer).

CRM source (--source NAME): the --body file delivered to POST /crm/NAME the way
the source's scheme sends it — zendesk (X-Zendesk-Webhook-Signature over the
ISO 8601 timestamp and the body), hubspot-v3 (X-HubSpot-Signature-v3 over
method, URL, body and millisecond timestamp), salesforce-outbound (a SOAP body;
the token, if any, added to the URL as ?token=), basic (user:password),
bearer or standard-webhooks — with --secret, the source's entry of
crm_sources. Sources are read from --sources, else $CRM_SOURCES, else the
local presets (zendesk, hubspot, salesforce) that make run declares; without
--secret a preset is signed with its local test secret.

Signatures cover the exact URL: sign for the URL the request will be sent to,
such as http://127.0.0.1:3000/taskrouter for the local gateway.

Examples:
  flexhook sign --url http://127.0.0.1:3000/taskrouter --token TOKEN \
    --form EventType=task.canceled --form AccountSid=AC... --form TaskSid=WT... \
    --form 'TaskAttributes={"flexInteractionSid":"KD...","flexInteractionChannelSid":"UO..."}'
  flexhook sign --url http://127.0.0.1:3000/crm --secret whsec_... \
    --body '{"interaction_sid":"KD...","channel_sid":"UO..."}' --format event -o crm.json
  flexhook sign --source zendesk --url http://127.0.0.1:3000/crm/zendesk --body @ticket.json`

// signCommand implements `flexhook sign`.
func signCommand(_ context.Context, std *stdio, args []string) int {
	fs := newFlagSet("sign", "flexhook sign --url URL (--token TOKEN | --secret WHSEC | --bearer TOKEN | --source NAME [--secret SECRET]) [--form KEY=value]... [--body TEXT|@FILE|@-] [--format curl|event] [-o FILE]", signDescription)
	rawURL := fs.String("url", "", "the exact `URL` the request is sent to (required)")
	token := fs.String("token", "", "Twilio auth `token`: sign a TaskRouter form with X-Twilio-Signature")
	secret := fs.String("secret", "", "Standard Webhooks `secret` (whsec_...): sign a CRM JSON body")
	bearer := fs.String("bearer", "", "CRM API `token`: send Authorization: Bearer instead of a signature")
	form := fs.list("form", "a TaskRouter form field, `KEY=value` (repeatable)")
	body := fs.String("body", "", "the body: `TEXT`, @FILE, or @- for stdin (an encoded form for --token, JSON for a CRM request)")
	format := fs.String("format", "curl", "output `format`: curl or event")
	id := fs.String("id", "", "webhook-id of a Standard Webhooks signature (default: random msg_...)")
	ts := fs.Int64("timestamp", 0, "webhook-timestamp and event time, in unix `seconds` (default: now)")
	out := fs.String("o", "", "write to `FILE` instead of stdout")
	source := fs.String("source", "", "CRM source `NAME`: sign --body the way the source's scheme does, with --secret")
	sources := fs.String("sources", "", "CRM_SOURCES `JSON` or @FILE to find --source in (default: $CRM_SOURCES, else the local presets)")
	if code, ok := fs.parseNone(std, args); !ok {
		return code
	}
	now := time.Now()
	if *ts != 0 {
		now = time.Unix(*ts, 0)
	}
	in := signInput{url: *rawURL, token: *token, secret: *secret, bearer: *bearer, form: *form, format: *format, id: *id, now: now, source: *source}
	if *source != "" {
		defs, err := readInput(std, cmp.Or(*sources, std.getenv("CRM_SOURCES")))
		if err != nil {
			return fs.fail(std, fmt.Errorf("--sources: %w", err), exitUsage)
		}
		in.sources = string(defs)
	}
	if *body != "" {
		b, err := readInput(std, *body)
		if err != nil {
			return fs.fail(std, fmt.Errorf("--body: %w", err), exitUsage)
		}
		in.body, in.hasBody = b, true
	}
	text, err := sign(in)
	if err != nil {
		return fs.fail(std, err, exitUsage)
	}
	if *out == "" {
		fmt.Fprint(std.stdout, text)
		return exitOK
	}
	if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
		return fs.fail(std, err, exitUsage)
	}
	return exitOK
}

// signInput is the parsed command line of `flexhook sign`.
type signInput struct {
	url                   string
	token, secret, bearer string
	form                  []string
	body                  []byte
	hasBody               bool
	format, id            string
	now                   time.Time
	source, sources       string // --source and the CRM_SOURCES text to find it in
}

// sign builds the request in and renders it. Errors wrap errUsage.
func sign(in signInput) (string, error) {
	if in.url == "" {
		return "", usageError("--url is required")
	}
	if in.format != "curl" && in.format != "event" {
		return "", usageError("--format %q: want curl or event", in.format)
	}
	if in.source != "" {
		return signSource(in)
	}
	n := 0
	for _, s := range []string{in.token, in.secret, in.bearer} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return "", usageError("give exactly one of --token (TaskRouter), --secret or --bearer (CRM)")
	}
	if in.token == "" {
		if len(in.form) > 0 {
			return "", usageError("--form is for TaskRouter requests (--token); give a CRM request's JSON with --body")
		}
		if !in.hasBody {
			return "", usageError("a CRM request needs its JSON --body")
		}
		if in.secret != "" {
			return signDelivery(in, crm.SchemeStandardWebhooks, in.secret)
		}
		return signDelivery(in, crm.SchemeBearer, in.bearer)
	}
	form, err := signForm(in)
	if err != nil {
		return "", err
	}
	req, err := stack.TaskRouterRequest(in.url, in.token, form)
	if err != nil {
		return "", usageError("%v", err)
	}
	return render(in, req)
}

// render prints req as a curl command or an API Gateway event.
func render(in signInput, req stack.Request) (string, error) {
	if in.format == "curl" {
		return req.Curl() + "\n", nil
	}
	ev, err := req.Event(gatewaytest.EventOptions{Time: in.now, RequestID: "flexhook-sign-" + strconv.FormatInt(in.now.UnixMilli(), 36)})
	if err != nil {
		return "", usageError("%v", err)
	}
	return string(indentJSON(ev)), nil
}

// signForm reads a TaskRouter form from --form pairs or an encoded --body.
func signForm(in signInput) (url.Values, error) {
	switch {
	case len(in.form) > 0 && in.hasBody:
		return nil, usageError("give the form with --form or --body, not both")
	case in.hasBody:
		form, err := taskrouter.ParseForm(bytes.TrimSpace(in.body))
		if err != nil {
			return nil, usageError("--body is not a form: %v", err)
		}
		return form, nil
	case len(in.form) == 0:
		return nil, usageError("a TaskRouter request needs form fields: --form KEY=value or --body")
	}
	form := url.Values{}
	for _, kv := range in.form {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError("--form %q: want KEY=value", kv)
		}
		if form.Has(k) {
			return nil, usageError("--form %s given twice: TaskRouter signs one value per field", k)
		}
		form.Set(k, v)
	}
	return form, nil
}

// indentJSON re-indents a JSON document with two spaces and a final
// newline, as the files in events/ are written; other input is returned as
// is.
func indentJSON(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return b
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

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
	i := slices.IndexFunc(srcs, func(s crm.Source) bool { return s.Name == in.source })
	if i < 0 {
		return "", usageError("--source %q is not among the CRM sources", in.source)
	}
	src := srcs[i]
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
