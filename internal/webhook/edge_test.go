package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// edge is a Handler wired to the Twilio fake through the real twilio-go
// client, like fixture, but buildable from any testing.TB (fuzz targets
// build one per worker) and on a fixed clock, so that signed events stored
// in a seed corpus stay inside the replay window forever.
type edge struct {
	tb      testing.TB
	fake    *flextest.Server
	secrets *fakeSecrets
	clock   *clock
	handler *Handler
	logs    *syncBuffer
	metrics *syncBuffer
	// ch is a channel that exists in the fake, with its first task.
	ch   flextest.Channel
	task flextest.Task
}

// edgeEpoch is the edge's clock: the time signed seeds were made at.
var edgeEpoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Fixed SIDs of the edge's channel, so stored seeds can name it.
const (
	edgeKD = "KD00000000000000000000000000000e01"
	edgeUO = "UO00000000000000000000000000000e01"
	edgeWT = "WT00000000000000000000000000000e01"
)

func newEdge(tb testing.TB, env map[string]string) *edge {
	tb.Helper()
	return newEdgeClock(tb, env, false)
}

// newEdgeClock is newEdge; with realTime the handler and the Twilio client
// run on the system clock, for tests of deadlines.
func newEdgeClock(tb testing.TB, env map[string]string, realTime bool) *edge {
	tb.Helper()
	vars := map[string]string{config.EnvSecretID: "flexhook/test", "TASKROUTER_WORKSPACE_SID": ws, config.EnvCRMSources: testCRMSources}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := config.LoadWebhook(func(k string) string { return vars[k] })
	if err != nil {
		tb.Fatal(err)
	}
	e := &edge{tb: tb, logs: &syncBuffer{}, metrics: &syncBuffer{},
		secrets: &fakeSecrets{cur: secretWith(authToken, authToken2)},
		clock:   &clock{t: edgeEpoch},
	}
	e.fake = flextest.New(flextest.Options{AccountSID: acct, Credentials: map[string]string{acct: authToken}, Now: e.clock.Now})
	e.fake.AddWorkspace(ws)
	e.ch = e.fake.AddChannel(flextest.Channel{InteractionSID: edgeKD, SID: edgeUO})
	attrs := flextest.NewAttributes(e.ch)
	attrs.ConversationSID, attrs.InviteSID = "CH00000000000000000000000000000e01", "KG00000000000000000000000000000e01"
	e.task = e.fake.AddTask(flextest.Task{SID: edgeWT, WorkspaceSID: ws, AssignmentStatus: flextest.TaskCanceled, Attributes: attrs.JSON()})
	srv := httptest.NewServer(e.fake)
	tb.Cleanup(srv.Close)
	fo := flex.Options{BaseURL: srv.URL, Now: e.clock.Now, Sleep: e.clock.Sleep, BaseDelay: 100 * time.Millisecond}
	now := e.clock.Now
	if realTime {
		e.clock.t = time.Now()
		fo.Now, fo.Sleep, now = nil, nil, time.Now
	}
	api, err := flex.New(secretsAdapter{e.secrets}, fo)
	if err != nil {
		tb.Fatal(err)
	}
	e.handler = newHandler(cfg, e.secrets, api, logging.New(e.logs, cfg.LogLevel), Options{
		Now: now, Metrics: metrics.New(e.metrics, "webhook", now),
	}, nil)
	return e
}

// taskRouterURL is where the edge's TaskRouter events are sent and signed.
const taskRouterURL = "https://" + publicHost + "/taskrouter"

// crmURL is where the edge's CRM callbacks are sent.
const crmURL = "https://" + publicHost + "/crm"

// form is the TaskRouter event eventType for task, stamped with the clock.
func (e *edge) form(eventType string, task flextest.Task) url.Values {
	now := e.clock.Now()
	return url.Values{
		"EventType": {eventType}, "AccountSid": {acct}, "WorkspaceSid": {ws}, "WorkspaceName": {"Flex"},
		"EventDescription": {"Task " + task.SID + " " + eventType}, "ResourceType": {"Task"},
		"ResourceSid": {task.SID}, "TaskSid": {task.SID}, "TaskAttributes": {task.Attributes},
		"TaskAssignmentStatus": {task.AssignmentStatus}, "TaskAge": {"42"},
		"Timestamp": {strconvUnix(now)}, "TimestampMs": {strconvUnixMilli(now)},
	}
}

// signed is an HTTP API event of form posted to the TaskRouter route and
// signed with token.
func (e *edge) signed(form url.Values, token string) []byte {
	return e.event(http.MethodPost, taskRouterURL, http.Header{
		"Content-Type":             {"application/x-www-form-urlencoded"},
		taskrouter.SignatureHeader: {taskrouter.Sign(token, taskRouterURL, form)},
	}, []byte(form.Encode()))
}

// crmHeader is a Standard Webhooks signature of body at the clock's time.
func (e *edge) crmHeader(body string) http.Header {
	h, err := crm.Sign(crmSecret, "msg_edge", e.clock.Now(), []byte(body))
	if err != nil {
		e.tb.Fatal(err)
	}
	h.Set("Content-Type", "application/json")
	return h
}

// signedCRM is an HTTP API event of a signed CRM callback.
func (e *edge) signedCRM(body string) []byte {
	return e.event(http.MethodPost, crmURL, e.crmHeader(body), []byte(body))
}

func (e *edge) event(method, u string, h http.Header, body []byte) []byte {
	ev, err := gatewaytest.NewHTTPEvent(method, u, h, body, gatewaytest.EventOptions{Time: e.clock.Now(), RequestID: "req-edge"})
	if err != nil {
		e.tb.Fatal(err)
	}
	return ev
}

// invoke runs the handler under ctx and decodes its answer.
func (e *edge) invoke(ctx context.Context, payload []byte) gateway.Response {
	e.tb.Helper()
	out, err := e.handler.Invoke(ctx, payload)
	if err != nil {
		e.tb.Fatalf("Invoke returned an error: %v", err)
	}
	r, err := gatewaytest.ParseResponse(out)
	if err != nil {
		e.tb.Fatalf("Invoke returned %s: %v", out, err)
	}
	return r
}

// newChannel adds an active channel whose one task is in status.
func (e *edge) newChannel(status string) (flextest.Channel, flextest.Task) {
	ch := e.fake.AddChannel(flextest.Channel{})
	return ch, e.fake.AddChannelTask(ws, ch, status)
}

// status is the channel's status in the fake.
func (e *edge) status(ch flextest.Channel) string {
	got, _ := e.fake.Channel(ch.InteractionSID, ch.SID)
	return got.Status
}
