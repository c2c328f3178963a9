package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/flexhook/flexhook/cmd/flexhook/preview"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/local/samples"
)

const explainDescription = `
Says, offline, what the webhook would do with an API Gateway event file: the
route, whether the signature verifies, the rule that decides (close, ignore or
reject) and the exact Flex request it would send —
UpdateInteractionChannel Status=… Routing=… — without calling Twilio or AWS.
The live-task look-up the webhook makes before a close is described, not made.

The configuration comes from the environment, as for the function
(CLOSE_STATUS, CLOSE_TASKS, TASKROUTER_CLOSE_EVENTS, TASKROUTER_MAX_EVENT_AGE,
PUBLIC_BASE_URL, TASKROUTER_WORKSPACE_SID, DRY_RUN, CLOSE_QUEUE_URL…);
TWILIO_SECRET_ID is not needed. Authentication is checked only with the
credentials given: --token for X-Twilio-Signature, --crm-secret and
--crm-token for CRM callbacks, --account for the event's AccountSid, or
--local for the local test credentials of flexhook run and events/.

EVENT is a file name, or - for stdin.

Exit codes: 0 when the webhook would close or ignore, 1 when it would reject
the event, 2 for usage errors and unreadable files.`

// explainPlaceholderSecret stands in for TWILIO_SECRET_ID, which the
// configuration requires but an offline explanation never reads.
const explainPlaceholderSecret = "flexhook-explain-offline"

// explainCommand implements `flexhook explain`.
func explainCommand(_ context.Context, std *stdio, args []string) int {
	fs := newFlagSet("explain", "flexhook explain [--local] [--token T] [--crm-secret S] [--crm-token T] [--account AC…] [--at TIME] [--json] EVENT.json", explainDescription)
	tokens := fs.list("token", "Twilio auth `token` to verify X-Twilio-Signature with (repeatable, for rotation)")
	crmSecrets := fs.list("crm-secret", "Standard Webhooks `secret` (whsec_…) to verify CRM signatures with (repeatable)")
	crmTokens := fs.list("crm-token", "CRM bearer `token` to accept (repeatable)")
	account := fs.String("account", "", "Twilio account `SID` the event must belong to")
	local := fs.Bool("local", false, "use the local test credentials of flexhook run and events/ (internal/local/samples)")
	at := fs.String("at", "", "judge the event's age at this `time` (RFC 3339) instead of now")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	payload, code, ok := fs.parseEvent(std, args)
	if !ok {
		return code
	}
	now := time.Now()
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return fs.fail(std, usageError("--at %q: want an RFC 3339 time such as 2026-05-06T07:00:00Z", *at), exitUsage)
		}
		now = t
	}
	cfg, err := config.LoadWebhook(func(k string) string {
		if v := std.getenv(k); v != "" || k != config.EnvSecretID {
			return v
		}
		return explainPlaceholderSecret
	})
	if err != nil {
		return fs.fail(std, usageError("configuration from the environment: %v", err), exitUsage)
	}
	creds := preview.Credentials{AuthTokens: *tokens, CRMSecrets: *crmSecrets, CRMTokens: *crmTokens, AccountSID: *account}
	if *local {
		creds.AuthTokens = append(creds.AuthTokens, samples.AuthToken)
		creds.CRMSecrets = append(creds.CRMSecrets, samples.CRMWebhookSecret)
		creds.CRMTokens = append(creds.CRMTokens, samples.CRMAPIToken)
		if creds.AccountSID == "" {
			creds.AccountSID = samples.AccountSID
		}
	}
	if len(creds.CRMSecrets)+len(creds.CRMTokens) > 0 {
		if _, err := crm.NewVerifier(crm.Config{Secrets: creds.CRMSecrets, Tokens: creds.CRMTokens}); err != nil {
			return fs.fail(std, usageError("--crm-secret/--crm-token: %v", err), exitUsage)
		}
	}
	rep := preview.Explain(payload, cfg, creds, now)
	if *asJSON {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fs.fail(std, err, exitUsage)
		}
		fmt.Fprintf(std.stdout, "%s\n", b)
	} else {
		fmt.Fprint(std.stdout, rep.String())
		if rep.Request != "" {
			fmt.Fprintf(std.stdout, "request:    %s\n", rep.Request)
		}
	}
	if rep.Decision == "reject" {
		return exitFailure
	}
	return exitOK
}
