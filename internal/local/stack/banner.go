package stack

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/webhook"
)

// playSID returns a deterministic SID of the playground channels, in the
// form of the samples' SIDs but in a range of their own.
func playSID(prefix string, n int) string { return fmt.Sprintf("%s%028x%04x", prefix, 0, 0xf1a0+n) }

// PlaygroundChannel is an Interaction Channel the simulator holds, active,
// for the requests printed in the banner; n is 1 for the TaskRouter example
// and 2 for the CRM example (the demo's flows play on more).
func PlaygroundChannel(n int) flextest.Channel {
	return flextest.Channel{InteractionSID: playSID("KD", n), SID: playSID("UO", n), Type: "chat", Status: flextest.ChannelActive}
}

// playgroundTask is the one task on PlaygroundChannel(n).
func playgroundTask(n int) flextest.Task {
	ch := PlaygroundChannel(n)
	attrs, _ := json.Marshal(map[string]string{"flexInteractionSid": ch.InteractionSID, "flexInteractionChannelSid": ch.SID})
	return flextest.Task{SID: playSID("WT", n), WorkspaceSID: samples.WorkspaceSID, AssignmentStatus: flextest.TaskWrapping,
		Attributes: string(attrs), TaskChannelUniqueName: "chat"}
}

func seedPlayground(s *flextest.Server) {
	for n := 1; n <= 2; n++ {
		s.AddChannel(PlaygroundChannel(n))
		s.AddTask(playgroundTask(n))
	}
}

// TaskRouterExample is a signed task.canceled event for the playground
// task, addressed to the gateway at baseURL: its curl closes
// PlaygroundChannel(1). (task.completed is not a default close event.)
func TaskRouterExample(baseURL string) (Request, error) {
	t := playgroundTask(1)
	form := samples.TaskRouterForm("task.canceled", samples.Task{SID: t.SID, AssignmentStatus: flextest.TaskCanceled, Attributes: t.Attributes})
	return TaskRouterRequest(baseURL+webhook.RouteTaskRouter, samples.AuthToken, form)
}

// CRMExample is a CRM "conversation done" callback for PlaygroundChannel(2),
// addressed to the gateway at baseURL, with the local bearer token (which,
// unlike a Standard Webhooks signature, does not expire).
func CRMExample(baseURL string) (Request, error) {
	ch := PlaygroundChannel(2)
	body, _ := json.Marshal(map[string]string{"interaction_sid": ch.InteractionSID, "channel_sid": ch.SID})
	return CRMRequest(baseURL+webhook.RouteCRM, body, CRMAuth{Token: samples.CRMAPIToken})
}

// Banner writes what is running where, the local credentials, and ready
// curl commands for each route.
func (s *System) Banner(w io.Writer) error {
	p := &printer{w: w}
	d := s.durable
	if d != nil {
		p.printf("flexhook is running in durable mode: the real webhook and worker binaries, each under an AWS Lambda Runtime Interface Emulator.\n\n")
	} else {
		p.printf("flexhook is running: the real function binary under the AWS Lambda Runtime Interface Emulator.\n\n")
	}
	p.printf("  Local API Gateway     %s   (HTTP API payload 2.0 events)\n", s.url)
	p.printf("    POST %s%s    TaskRouter event callbacks\n", s.url, webhook.RouteTaskRouter)
	p.printf("    POST %s%s           CRM conversation-done callbacks\n", s.url, webhook.RouteCRM)
	if s.mode == Simulator {
		p.printf("    POST %s%s/{zendesk,hubspot,salesforce}   CRM source presets (docs/crm-sources.md)\n", s.url, webhook.RouteCRM)
	}
	p.printf("    POST %s%s   raw events (flexhook invoke --emulator %s)\n", s.url, emulator.InvokePath, s.url)
	switch {
	case s.mode == Simulator && d != nil:
		p.printf("  Twilio API simulator  %s  (the webhook's TWILIO_API_BASE_URL), %s  (the worker's): one simulator, a port per function\n", s.twilioURL, d.twilioURL)
	case s.mode == Simulator:
		p.printf("  Twilio API simulator  %s  (TWILIO_API_BASE_URL)\n", s.twilioURL)
	default:
		p.printf("  Twilio API            https://flex-api.twilio.com, https://taskrouter.twilio.com  (account %s)\n", s.accountSID)
	}
	p.printf("  Secrets Manager       %s  (AWS_ENDPOINT_URL_SECRETS_MANAGER), secret %s\n", s.awsURL, SecretID)
	if d != nil {
		p.printf("  SQS (goaws)           %s  (AWS_ENDPOINT_URL_SQS)\n", d.sqs.Endpoint())
		p.printf("    close queue         %s  (CLOSE_QUEUE_URL; maxReceiveCount %d, then the dead-letter queue)\n", d.sqs.QueueURL(), QueueMaxReceiveCount)
		p.printf("    dead-letter queue   %s\n", d.sqs.DLQURL())
		if d.tableURL != "" {
			p.printf("  DynamoDB (dynalite)   %s  (AWS_ENDPOINT_URL_DYNAMODB), idempotency table %s (IDEMPOTENCY_TABLE)\n", d.tableURL, TableName)
		} else {
			p.printf("  Idempotency table     %s; duplicates are absorbed by SQS deduplication and Twilio's idempotent close only\n", d.tableNote)
		}
		p.printf("  Worker                %s under its own emulator, fed from the close queue by the event source mapping emulator (batch %d, WORKER_RETRY_BASE=%s)\n",
			WorkerPackage, BatchSize, WorkerRetryBase)
	}
	if s.publicURL != "" {
		p.printf("  Public URL            %s  (PUBLIC_BASE_URL: signatures are checked against it)\n", s.publicURL)
	}
	p.printf("\n")
	if s.mode == RealTwilio {
		p.printf("Local CRM credentials (the Twilio ones come from your environment):\n")
	} else {
		p.printf("Local test credentials (they exist only here; never use them anywhere real):\n")
		p.printf("  Twilio account SID    %s\n", samples.AccountSID)
		p.printf("  Twilio auth token     %s   (signs X-Twilio-Signature)\n", samples.AuthToken)
	}
	p.printf("  CRM webhook secret    %s   (Standard Webhooks)\n", samples.CRMWebhookSecret)
	p.printf("  CRM API token         %s   (Authorization: Bearer)\n", samples.CRMAPIToken)
	if s.mode == RealTwilio {
		p.printf("\n")
		base := s.publicURL
		if base == "" {
			base = s.url
			p.printf("Without --public-url, only requests sent straight to %s verify.\n", s.url)
		}
		p.printf("Set the TaskRouter Workspace EventCallbackUrl to %s%s\n\n", base, webhook.RouteTaskRouter)
		return p.err
	}
	p.printf("  CRM source secrets    zendesk %s, hubspot %s, salesforce ?token=%s\n\n",
		samples.ZendeskSigningSecret, samples.HubSpotClientSecret, samples.SalesforceToken)
	tr, err := TaskRouterExample(s.url)
	if err != nil {
		return err
	}
	c, err := CRMExample(s.url)
	if err != nil {
		return err
	}
	ch1, ch2 := PlaygroundChannel(1), PlaygroundChannel(2)
	p.printf("Try it: TaskRouter reports task %s canceled; flexhook closes channel %s:\n\n%s\n\n", playgroundTask(1).SID, ch1.SID, tr.Curl())
	p.printf("The CRM says the conversation on channel %s is done:\n\n%s\n\n", ch2.SID, c.Curl())
	p.printf("Signatures cover the exact URL: send to %s, not to another name for this host.\n", s.url)
	p.printf("Sign your own with: flexhook sign --url %s%s --token %s --form EventType=task.canceled ...\n\n", s.url, webhook.RouteTaskRouter, samples.AuthToken)
	return p.err
}

// printer writes formatted text, keeping the first error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
