// Package preview says, offline, what the webhook would do with an event:
// which route, whether the signature verifies (given the credentials),
// which rule decides, and the exact Flex request it would send — the
// `flexhook explain EVENT.json` command. It makes no network call: the
// live-task look-up the webhook would make first is described, not made.
package preview

import (
	"cmp"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// Credentials are the optional secrets to check authentication with. Empty
// fields skip that check.
type Credentials struct {
	AuthTokens []string
	CRMSecrets []string
	CRMTokens  []string
	AccountSID string
}

// Report is the explanation of one event.
type Report struct {
	Shape     string `json:"shape"` // rest, http, function-url
	Method    string `json:"method"`
	Route     string `json:"route"`      // /taskrouter, /crm, or the unknown path
	PublicURL string `json:"public_url"` // the URL a signature is checked against
	Auth      string `json:"auth"`       // verified, failed: …, not checked (no credentials)
	Event     string `json:"event,omitempty"`
	TaskSID   string `json:"task_sid,omitempty"`
	Decision  string `json:"decision"` // close, ignore, reject
	Rule      string `json:"rule"`     // why
	// Row is the decision-table row that decided a TaskRouter event (see
	// DecisionTable and the README's "What each event does").
	Row     string   `json:"row,omitempty"`
	Steps   []string `json:"steps,omitempty"`
	Request string   `json:"request,omitempty"` // the Flex update that would be sent
}

// String renders the report for a terminal.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "route:      %s %s (%s event)\n", r.Method, r.Route, r.Shape)
	fmt.Fprintf(&b, "signed URL: %s\n", r.PublicURL)
	fmt.Fprintf(&b, "auth:       %s\n", r.Auth)
	if r.Event != "" {
		fmt.Fprintf(&b, "event:      %s (task %s)\n", r.Event, r.TaskSID)
	}
	fmt.Fprintf(&b, "decision:   %s — %s\n", r.Decision, r.Rule)
	if r.Row != "" {
		fmt.Fprintf(&b, "table row:  %s\n", r.Row)
	}
	for i, s := range r.Steps {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
	}
	return b.String()
}

// Explain describes what the webhook configured by cfg would do with the
// API Gateway event payload at time now.
func Explain(payload []byte, cfg config.Webhook, creds Credentials, now time.Time) Report {
	req, err := gateway.Decode(payload, gateway.Options{BaseURL: cfg.PublicBaseURL, MaxBody: 256 << 10})
	if err != nil {
		return Report{Decision: "reject", Rule: "not a usable API Gateway event: " + err.Error()}
	}
	r := Report{Shape: req.Shape.String(), Method: req.Method, Route: req.Path, PublicURL: req.PublicURL, Auth: "not checked (no credentials given)"}
	if req.Method != http.MethodPost {
		r.Decision, r.Rule = "reject", "405: only POST is served"
		return r
	}
	switch req.Path {
	case "/taskrouter":
		explainTaskRouter(&r, req, cfg, creds, now)
	case "/crm":
		explainCRM(&r, req, cfg, creds, now)
	default:
		r.Decision, r.Rule = "reject", "404: no such route"
	}
	return r
}

func explainTaskRouter(r *Report, req *gateway.Request, cfg config.Webhook, creds Credentials, now time.Time) {
	form, err := taskrouter.ParseForm(req.Body)
	if err != nil {
		r.Decision, r.Rule = "reject", "400: "+err.Error()
		return
	}
	if len(creds.AuthTokens) > 0 {
		sig := req.Header.Get(taskrouter.SignatureHeader)
		if err := taskrouter.Verify(req.PublicURL, form, req.Body, sig, creds.AuthTokens...); err != nil {
			r.Auth = "failed: " + err.Error()
			r.Decision, r.Rule = "reject", "403: signature"
			return
		}
		r.Auth = "verified (X-Twilio-Signature)"
	}
	ev, err := taskrouter.Parse(form)
	if err != nil {
		r.Decision, r.Rule = "reject", "400: "+err.Error()
		return
	}
	r.Event, r.TaskSID = ev.Type, ev.TaskSID
	if creds.AccountSID != "" && ev.CheckAccount(creds.AccountSID) != nil {
		r.Decision, r.Rule = "reject", "403: event is for account "+ev.AccountSID
		return
	}
	if err := ev.CheckAge(now, cfg.MaxEventAge); err != nil {
		r.Decision, r.Rule = "reject", "403: "+err.Error()
		return
	}
	d, err := taskrouter.Rules{CloseEvents: cfg.CloseEvents}.Decide(ev)
	if err != nil {
		r.Decision, r.Rule = "reject", "400: "+err.Error()
		return
	}
	r.Row = decisionRowText(d)
	if !d.Close {
		r.Decision, r.Rule = "ignore", "204: "+d.Reason
		return
	}
	job := channelclose.Job{InteractionSID: d.Channel.InteractionSID, ChannelSID: d.Channel.ChannelSID,
		Status: cfg.CloseStatus, Routing: cfg.Routing(cfg.CloseStatus)}
	r.Decision, r.Rule = "close", fmt.Sprintf("%s is in TASKROUTER_CLOSE_EVENTS, task status %s agrees, and the task is on channel %s", ev.Type, ev.AssignmentStatus, job.ChannelSID)
	r.Request = job.Request()
	r.Steps = append(r.Steps,
		fetchStep(channelclose.SourceTaskRouter, job),
		fmt.Sprintf("GET TaskRouter tasks of workspace %s with flexInteractionChannelSid == %q in pending, reserved, assigned or wrapping, except %s: any → skip (skipped_live_task)", ev.WorkspaceSID, job.ChannelSID, ev.TaskSID),
		closeStep(cfg, r.Request))
}

func explainCRM(r *Report, req *gateway.Request, cfg config.Webhook, creds Credentials, now time.Time) {
	if len(creds.CRMSecrets)+len(creds.CRMTokens) > 0 {
		v, err := crm.NewVerifier(crm.Config{Secrets: creds.CRMSecrets, Tokens: creds.CRMTokens})
		if err != nil {
			r.Auth = "not checked: " + err.Error()
		} else if err := v.Verify(req.Header, req.Body, now); err != nil {
			r.Auth = "failed: " + err.Error()
			r.Decision, r.Rule = "reject", "401: authentication"
			return
		} else {
			r.Auth = "verified"
		}
	}
	in, err := crm.Parse(req.Body)
	if err != nil {
		r.Decision, r.Rule = "reject", "400/422: "+err.Error()
		return
	}
	status := cmp.Or(in.Status, cfg.CloseStatus)
	job := channelclose.Job{InteractionSID: in.InteractionSID, ChannelSID: in.ChannelSID, Status: status, Routing: cfg.Routing(status)}
	if in.TaskSID != "" {
		r.TaskSID = in.TaskSID
		if cfg.WorkspaceSID == "" {
			r.Decision, r.Rule = "reject", "422: task_sid needs TASKROUTER_WORKSPACE_SID"
			return
		}
		job.InteractionSID, job.ChannelSID = "<task's KD>", "<task's UO>"
		r.Decision, r.Rule = "close", "the CRM names task "+in.TaskSID
		r.Steps = append(r.Steps,
			"GET TaskRouter task "+in.TaskSID+" and read its flexInteractionSid / flexInteractionChannelSid (not a Flex task → 422)",
			fetchStep(channelclose.SourceCRM, job),
			"GET the other live tasks on that channel: any → skip (skipped_live_task)",
			closeStep(cfg, job.Request()))
		return
	}
	r.Decision, r.Rule = "close", "the CRM names channel "+in.ChannelSID
	r.Request = job.Request()
	r.Steps = append(r.Steps, fetchStep(channelclose.SourceCRM, job), closeStep(cfg, r.Request))
}

// decisionRowText names the DecisionTable row that decided d.
func decisionRowText(d taskrouter.Decision) string {
	switch {
	case d.Reason == taskrouter.ReasonNotConfigured:
		return "a type not in " + config.EnvCloseEvents + " → ignore (" + d.Reason + ")"
	case d.Reason == taskrouter.ReasonNotTask:
		return "an event without a TaskSid → ignore (" + d.Reason + ")"
	case d.Reason == taskrouter.ReasonNotFlex:
		return strings.TrimSuffix(RowText(d.Row), " → close ("+d.Row.Reason+")") + ", no Interaction Channel → ignore (" + d.Reason + ")"
	case d.Row.Events == nil:
		return ""
	}
	return RowText(d.Row)
}

// fetchStep describes the look before closing: which channel statuses get
// the update and what the others answer (channelclose.ChannelRules).
func fetchStep(source string, job channelclose.Job) string {
	var update, other []string
	for _, c := range channelclose.ChannelRules() {
		if c.CRM != (source == channelclose.SourceCRM) || (c.Asked != "" && c.Asked != job.Status) {
			continue
		}
		cell := strings.ReplaceAll(channelCell(c), "`", "")
		if c.Update {
			update = append(update, cell)
		} else {
			other = append(other, cell+" → "+string(c.Outcome))
		}
	}
	return fmt.Sprintf("GET Interaction Channel %s: %s → go on; %s; 404 → not_found",
		job.ChannelSID, strings.Join(update, ", "), strings.Join(other, "; "))
}

func closeStep(cfg config.Webhook, request string) string {
	step := "POST " + request
	switch {
	case cfg.DryRun:
		step += " — not sent: DRY_RUN=true"
	case cfg.CloseQueueURL != "":
		step += " — by the worker, after the job is queued"
	}
	return step
}
