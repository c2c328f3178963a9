package webhook

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/taskrouter"
	"github.com/flexhook/flexhook/internal/tracing"
)

// The Invoke benchmarks measure one whole request through the handler:
// gateway decode, signature check, parse, decision, close, summary log line,
// EMF line and response encoding. Logs and metrics are written to
// io.Discard through the real logger and emitter, so their formatting cost
// is included.
//
// The "-no-twilio" variants stand a canned Twilio adapter (cannedTwilio) in
// for *flex.Client: they are the hot path flexhook itself owns, excluding
// the twilio-go calls. The "-flextest" variants run the real Twilio client
// against the in-process Twilio fake over loopback HTTP, without and with
// X-Ray tracing of a sampled invocation.

// cannedTwilio answers every call at once, without allocating.
type cannedTwilio struct{}

func (cannedTwilio) LiveTasks(context.Context, string, string, string) ([]flex.Task, error) {
	return nil, nil
}

func (cannedTwilio) FetchChannelCounted(_ context.Context, ch flex.ChannelRef) (flex.Channel, int, error) {
	return flex.Channel{InteractionSID: ch.InteractionSID, SID: ch.ChannelSID, Status: flex.StatusActive}, 1, nil
}

func (cannedTwilio) CloseChannel(context.Context, flex.ChannelRef, string, bool) (flex.CloseResult, error) {
	return flex.CloseResult{Status: flex.StatusClosed, Attempts: 1}, nil
}

func (cannedTwilio) FetchTask(context.Context, string, string) (flex.Task, error) {
	return flex.Task{}, flex.ErrNotFound
}

func (cannedTwilio) Events(context.Context, string, flex.EventFilter, func(flex.Event) error) error {
	return nil
}

// benchHandler builds a Handler writing logs and metrics to io.Discard at a
// fixed time, calling api.
func benchHandler(b *testing.B, api twilioAPI, now time.Time) *Handler {
	b.Helper()
	cfg, err := config.LoadWebhook(func(k string) string {
		return map[string]string{config.EnvSecretID: "flexhook/bench", config.EnvWorkspaceSID: ws}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	clock := func() time.Time { return now }
	return newHandler(cfg, &fakeSecrets{cur: secretWith(authToken)}, api, logging.New(io.Discard, cfg.LogLevel),
		Options{Now: clock, Metrics: metrics.New(io.Discard, "webhook", clock)}, nil)
}

// benchTaskEvent returns a signed HTTP API event of eventType for a
// completed Flex task on ch, as TaskRouter posts it.
func benchTaskEvent(b *testing.B, eventType string, task flextest.Task, token string, now time.Time) []byte {
	b.Helper()
	form := url.Values{
		"EventType": {eventType}, "AccountSid": {acct}, "WorkspaceSid": {ws}, "WorkspaceName": {"Flex Task Assignment"},
		"EventDescription": {"Task " + task.SID + " " + eventType}, "ResourceType": {"Task"},
		"ResourceSid": {task.SID}, "TaskSid": {task.SID}, "TaskAttributes": {task.Attributes},
		"TaskAssignmentStatus": {task.AssignmentStatus}, "TaskAge": {"184"}, "TaskPriority": {"0"},
		"TaskChannelUniqueName": {"chat"}, "TaskQueueSid": {"WQ0123456789abcdef0123456789abcdef"},
		"Timestamp": {strconvUnix(now)}, "TimestampMs": {strconvUnixMilli(now)},
	}
	u := "https://" + publicHost + "/taskrouter"
	h := http.Header{
		"Content-Type":               {"application/x-www-form-urlencoded; charset=utf-8"},
		taskrouter.SignatureHeader:   {taskrouter.Sign(token, u, form)},
		"I-Twilio-Idempotency-Token": {"RCbench-" + task.SID},
		"User-Agent":                 {"TwilioProxy/1.1"},
		"Accept":                     {"*/*"},
		"X-Forwarded-For":            {"54.172.60.1"},
		"X-Forwarded-Proto":          {"https"},
		"X-Forwarded-Port":           {"443"},
		"X-Amzn-Trace-Id":            {"Root=1-67891233-abcdef012345678912345678"},
	}
	ev, err := gatewaytest.NewHTTPEvent("POST", u, h, []byte(form.Encode()), gatewaytest.EventOptions{Time: now, RequestID: "bench-request"})
	if err != nil {
		b.Fatal(err)
	}
	return ev
}

// benchInvoke runs payload through h b.N times in an invocation context
// derived from parent, checking the status.
func benchInvoke(b *testing.B, parent context.Context, h *Handler, payload []byte, want int) {
	b.Helper()
	ctx := lambdacontext.NewContext(parent, &lambdacontext.LambdaContext{AwsRequestID: "8f5ac1d2-6a1e-4c4b-9d1b-0a6e2f9f3c11"})
	check := func() {
		out, err := h.Invoke(ctx, payload)
		if err != nil {
			b.Fatal(err)
		}
		r, err := gatewaytest.ParseResponse(out)
		if err != nil || r.Status != want {
			b.Fatalf("Invoke() = %s (%v), want status %d", out, err, want)
		}
	}
	check()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := h.Invoke(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	check()
}

func BenchmarkInvoke(b *testing.B) {
	now := time.Now()
	ch := flextest.Channel{InteractionSID: flextest.NewSID("KD"), SID: flextest.NewSID("UO"), Type: "web", Status: flextest.ChannelActive}
	task := flextest.Task{SID: flextest.NewSID("WT"), WorkspaceSID: ws, AssignmentStatus: flextest.TaskCompleted,
		Attributes: flextest.NewAttributes(ch).JSON()}
	voice := flextest.Task{SID: flextest.NewSID("WT"), WorkspaceSID: ws, AssignmentStatus: flextest.TaskCanceled,
		Attributes: `{"call_sid":"CA0123456789abcdef0123456789abcdef","from":"+15550100","direction":"inbound"}`}

	b.Run("close-no-twilio", func(b *testing.B) {
		h := benchHandler(b, cannedTwilio{}, now)
		benchInvoke(b, context.Background(), h, benchTaskEvent(b, "task.completed", task, authToken, now), http.StatusNoContent)
	})
	b.Run("ignored-not-flex", func(b *testing.B) {
		h := benchHandler(b, cannedTwilio{}, now)
		benchInvoke(b, context.Background(), h, benchTaskEvent(b, "task.canceled", voice, authToken, now), http.StatusNoContent)
	})
	b.Run("ignored-event-type", func(b *testing.B) {
		h := benchHandler(b, cannedTwilio{}, now)
		benchInvoke(b, context.Background(), h, benchTaskEvent(b, "task.updated", task, authToken, now), http.StatusNoContent)
	})
	b.Run("bad-signature", func(b *testing.B) {
		h := benchHandler(b, cannedTwilio{}, now)
		benchInvoke(b, context.Background(), h, benchTaskEvent(b, "task.completed", task, "forged-token", now), http.StatusForbidden)
	})
	b.Run("crm-close-no-twilio", func(b *testing.B) {
		h := benchHandler(b, cannedTwilio{}, now)
		body := `{"interaction_sid":"` + ch.InteractionSID + `","channel_sid":"` + ch.SID + `","status":"closed"}`
		hd := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + crmToken}}
		ev, err := gatewaytest.NewHTTPEvent("POST", "https://"+publicHost+"/crm", hd, []byte(body), gatewaytest.EventOptions{Time: now, RequestID: "bench-request"})
		if err != nil {
			b.Fatal(err)
		}
		benchInvoke(b, context.Background(), h, ev, http.StatusOK)
	})
	fake := flextest.New(flextest.Options{AccountSID: acct, Credentials: map[string]string{acct: authToken}, LogLimit: 16})
	fake.AddWorkspace(ws)
	fake.AddChannel(ch)
	fake.AddTask(task)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	flexHandler := func(b *testing.B, tr *tracing.Tracer) *Handler {
		f := &fakeSecrets{cur: secretWith(authToken)}
		api, err := flex.New(secretsAdapter{f}, flex.Options{BaseURL: srv.URL, Transport: tr.Transport(flex.NewTransport())})
		if err != nil {
			b.Fatal(err)
		}
		return benchHandler(b, api, now)
	}
	// Closing a closed channel again is answered 200 (RepeatCloseOK), so
	// every iteration makes the same two Twilio calls.
	b.Run("close-flextest", func(b *testing.B) {
		benchInvoke(b, context.Background(), flexHandler(b, nil), benchTaskEvent(b, "task.completed", task, authToken, now), http.StatusNoContent)
	})
	// The same with X-Ray tracing on and a sampled invocation: both calls
	// are sent as subsegments to a loopback UDP daemon.
	b.Run("close-flextest-xray", func(b *testing.B) {
		daemon, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer daemon.Close()
		go func() {
			buf := make([]byte, 64<<10)
			for {
				if _, _, err := daemon.ReadFrom(buf); err != nil {
					return
				}
			}
		}()
		tr := tracing.New(tracing.Options{DaemonAddr: daemon.LocalAddr().String()})
		defer tr.Close()
		ctx := tracing.ContextWithHeader(context.Background(), "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1")
		benchInvoke(b, ctx, flexHandler(b, tr), benchTaskEvent(b, "task.completed", task, authToken, now), http.StatusNoContent)
	})
}
