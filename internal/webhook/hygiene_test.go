package webhook

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/dependencies"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/logging"
	"github.com/flexhook/flexhook/internal/metrics"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// Known values the hygiene test searches the output for. Each is distinct
// enough that finding it anywhere means it leaked.
const (
	hyAccount      = "AC0000000000000000000000000000a11e"
	hyToken        = "hygieneAuthTokenPrimary000000001"
	hyToken2       = "hygieneAuthTokenSecondary0000002"
	hyKeySID       = "SK0000000000000000000000000000a11e"
	hyKeySecret    = "hygieneApiKeySecret0000000000003"
	hyCRMKey       = "hygiene-crm-signing-key-0000004!"
	hyCRMKey2      = "hygiene-crm-signing-key-0000005!"
	hyBearer       = "hygieneBearerToken00000000000006"
	hyAttacker     = "attackerSuppliedBearer0000000007"
	hyAWSSecret    = "hygieneAWSSecretAccessKey0000008"
	hyCustomer     = "Zelda Hygienic-Customer"
	hyAddress      = "+15550199876"
	hySecretID     = "flexhook/hygiene"
	hyWorkspaceSID = "WS0000000000000000000000000000a11e"
)

var (
	hyCRMSecret  = "whsec_" + base64.StdEncoding.EncodeToString([]byte(hyCRMKey))
	hyCRMSecret2 = "whsec_" + base64.StdEncoding.EncodeToString([]byte(hyCRMKey2))
)

// hygiene is the webhook as main builds it — dependencies.NewTwilio with the
// real AWS SDK against the Secrets Manager fake, the real Twilio client
// against the Twilio fake, the JSON logger and the EMF emitter — with
// every byte of output captured.
type hygiene struct {
	t       *testing.T
	sm      *secretstest.Server
	twilio  *flextest.Server
	out     *syncBuffer // logs and metrics, as Lambda's stdout
	handler *Handler
	sent    []string // signatures and other request secrets sent so far
}

func newHygiene(t *testing.T, smFault *secretstest.Fault) *hygiene {
	t.Helper()
	h := &hygiene{t: t, out: &syncBuffer{}}
	h.sm = secretstest.New()
	doc, _ := json.Marshal(map[string]any{
		"account_sid": hyAccount, "auth_token": hyToken, "auth_token_secondary": hyToken2,
		"api_key_sid": hyKeySID, "api_key_secret": hyKeySecret,
		"crm_webhook_secret": []string{hyCRMSecret, hyCRMSecret2}, "crm_api_token": hyBearer,
	})
	h.sm.Put(hySecretID, string(doc))
	if smFault != nil {
		h.sm.Inject(*smFault)
	}
	sm := httptest.NewServer(h.sm)
	t.Cleanup(sm.Close)
	h.twilio = flextest.New(flextest.Options{AccountSID: hyAccount, Credentials: map[string]string{hyKeySID: hyKeySecret}})
	h.twilio.AddWorkspace(hyWorkspaceSID)
	tw := httptest.NewServer(h.twilio)
	t.Cleanup(tw.Close)

	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAHYGIENE0000000009")
	t.Setenv("AWS_SECRET_ACCESS_KEY", hyAWSSecret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	env := map[string]string{config.EnvSecretID: hySecretID, "TASKROUTER_WORKSPACE_SID": hyWorkspaceSID, "LOG_LEVEL": "debug"}
	cfg, err := config.LoadWebhook(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := logging.New(h.out, slog.LevelDebug)
	// The cold start's warm-up retries a failing Secrets Manager for up to
	// three seconds; a short context ends it sooner, as only its log matters.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	deps, err := dependencies.NewTwilio(ctx, dependencies.TwilioOptions{
		SecretID: hySecretID, APIBaseURL: tw.URL, Logger: log,
		// Retries back off for milliseconds, not seconds.
		Flex: flex.Options{BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.handler = newHandler(cfg, deps.Secrets, deps.API, log, Options{Metrics: metrics.New(h.out, "webhook", nil)}, nil)
	return h
}

// channel adds a channel whose task attributes name the known customer.
func (h *hygiene) channel(status string) (flextest.Channel, flextest.Task) {
	ch := h.twilio.AddChannel(flextest.Channel{})
	a := flextest.NewAttributes(ch)
	a.CustomerName, a.CustomerAddress = hyCustomer, hyAddress
	task := h.twilio.AddTask(flextest.Task{WorkspaceSID: hyWorkspaceSID, AssignmentStatus: status, Attributes: a.JSON()})
	return ch, task
}

func (h *hygiene) form(eventType string, task flextest.Task) url.Values {
	return url.Values{
		"EventType": {eventType}, "AccountSid": {hyAccount}, "WorkspaceSid": {hyWorkspaceSID},
		"ResourceType": {"Task"}, "TaskSid": {task.SID}, "TaskAttributes": {task.Attributes},
		"TaskAssignmentStatus": {task.AssignmentStatus},
	}
}

// taskRouter posts form, signed with token over the URL, and remembers the
// signature and the body.
func (h *hygiene) taskRouter(form url.Values, token string) gateway.Response {
	sig := taskrouter.Sign(token, taskRouterURL, form)
	h.sent = append(h.sent, sig, form.Encode())
	return h.post(taskRouterURL, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, taskrouter.SignatureHeader: {sig}}, form.Encode())
}

// crm posts body with a Standard Webhooks signature made with secret.
func (h *hygiene) crm(body, secret string) gateway.Response {
	hd, err := crm.Sign(secret, "msg_hygiene", time.Now(), []byte(body))
	if err != nil {
		h.t.Fatal(err)
	}
	hd.Set("Content-Type", "application/json")
	h.sent = append(h.sent, hd.Get(crm.HeaderSignature), body)
	return h.post(crmURL, hd, body)
}

// bearer posts body with an Authorization header.
func (h *hygiene) bearer(body, token string) gateway.Response {
	h.sent = append(h.sent, "Bearer "+token, body)
	return h.post(crmURL, http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}}, body)
}

func (h *hygiene) post(u string, hd http.Header, body string) gateway.Response {
	h.t.Helper()
	ev, err := gatewaytest.NewHTTPEvent(http.MethodPost, u, hd, []byte(body), gatewaytest.EventOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	out, err := h.handler.Invoke(context.Background(), ev)
	if err != nil {
		h.t.Fatal(err)
	}
	r, err := gatewaytest.ParseResponse(out)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// forbidden lists every secret and personal value, in the forms they could
// take in JSON logs: as is, JSON-escaped, URL-encoded and inside a Basic
// authorization header.
func (h *hygiene) forbidden() map[string]string {
	basic := func(u, p string) string { return base64.StdEncoding.EncodeToString([]byte(u + ":" + p)) }
	raw := map[string]string{
		"auth token": hyToken, "secondary auth token": hyToken2, "API key secret": hyKeySecret,
		"CRM secret": hyCRMSecret, "CRM secret base64": strings.TrimPrefix(hyCRMSecret, "whsec_"), "CRM key": hyCRMKey,
		"second CRM secret": hyCRMSecret2, "CRM bearer token": hyBearer, "attacker's bearer token": hyAttacker,
		"AWS secret key": hyAWSSecret, "customer name": hyCustomer, "customer address": hyAddress,
		"customer name, excerpt": hyCustomer[:9], "customer address, excerpt": hyAddress[:8],
		"Basic credentials (API key)": basic(hyKeySID, hyKeySecret), "Basic credentials (auth token)": basic(hyAccount, hyToken),
	}
	for i, s := range h.sent {
		raw["request value "+string(rune('a'+i%26))+strings.Repeat("'", i/26)] = s
	}
	out := map[string]string{}
	for name, v := range raw {
		out[name] = v
		j, _ := json.Marshal(v)
		out[name+" (JSON)"] = strings.Trim(string(j), `"`)
		out[name+" (URL)"] = url.QueryEscape(v)
	}
	return out
}

// check fails the test for every forbidden value in the output.
func (h *hygiene) check() {
	h.t.Helper()
	out := h.out.String()
	if !strings.Contains(out, `"message":"request"`) || !strings.Contains(out, `"CloudWatchMetrics"`) {
		h.t.Fatalf("captured output has no summary line or no metrics:\n%s", out)
	}
	leaked := false
	for name, v := range h.forbidden() {
		if len(v) >= 8 && strings.Contains(out, v) {
			h.t.Errorf("the output contains the %s %q", name, v)
			leaked = true
		}
	}
	if leaked {
		h.t.Logf("output:\n%s", out)
	}
}

// TestNoSecretsInOutput runs every route through success and failure with
// known secrets, a known customer and echoing upstream errors, and checks
// that the function's output — JSON logs and EMF metrics — contains none
// of them, nor the signatures and bodies it was sent.
func TestNoSecretsInOutput(t *testing.T) {
	h := newHygiene(t, nil)
	// echo is an upstream error message that repeats what flexhook sent:
	// its credentials, in the Authorization header and raw, and a parameter.
	echo := func(extra string) string {
		return "Invalid request: Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(hyKeySID+":"+hyKeySecret)) +
			" password=" + hyKeySecret + " " + extra
	}
	steps := []struct {
		name   string
		do     func() gateway.Response
		status int
	}{
		{"TaskRouter close", func() gateway.Response {
			_, task := h.channel(flextest.TaskCanceled)
			return h.taskRouter(h.form("task.canceled", task), hyToken)
		}, 204},
		{"TaskRouter, secondary token", func() gateway.Response {
			_, task := h.channel(flextest.TaskCanceled)
			return h.taskRouter(h.form("task.completed", task), hyToken2)
		}, 204},
		{"TaskRouter ignored", func() gateway.Response {
			_, task := h.channel(flextest.TaskAssigned)
			return h.taskRouter(h.form("task.created", task), hyToken)
		}, 204},
		{"TaskRouter live task kept", func() gateway.Response {
			ch, task := h.channel(flextest.TaskCompleted)
			h.twilio.AddChannelTask(hyWorkspaceSID, ch, flextest.TaskAssigned)
			return h.taskRouter(h.form("task.completed", task), hyToken)
		}, 204},
		{"TaskRouter forged", func() gateway.Response {
			_, task := h.channel(flextest.TaskCanceled)
			return h.taskRouter(h.form("task.canceled", task), hyAttacker)
		}, 403},
		{"TaskRouter bad attributes", func() gateway.Response {
			_, task := h.channel(flextest.TaskCanceled)
			f := h.form("task.canceled", task)
			f.Set("TaskAttributes", `{"customerName":"`+hyCustomer+`","customerAddress":"`+hyAddress+`","flexInteractionSid":"KD`+hyAddress+`","flexInteractionChannelSid":"`+hyCustomer+`"}`)
			return h.taskRouter(f, hyToken)
		}, 400},
		{"TaskRouter field named like a secret", func() gateway.Response {
			_, task := h.channel(flextest.TaskCanceled)
			f := h.form("task.canceled", task)
			f.Set("TaskSid", hyCustomer)
			return h.taskRouter(f, hyToken)
		}, 400},
		{"Twilio 429", func() gateway.Response {
			h.twilio.Inject(flextest.Fault{Method: "POST", Status: 429, Message: echo("Routing={\"status\":\"closed\"}"), Times: 6})
			_, task := h.channel(flextest.TaskCanceled)
			return h.taskRouter(h.form("task.canceled", task), hyToken)
		}, 503},
		{"Twilio 503", func() gateway.Response {
			h.twilio.ClearFaults()
			h.twilio.Inject(flextest.Fault{Method: "POST", Status: 503, Message: echo("Status=closed"), Times: 6})
			_, task := h.channel(flextest.TaskCanceled)
			return h.taskRouter(h.form("task.canceled", task), hyToken)
		}, 503},
		{"proxy 502 page echoing the request", func() gateway.Response {
			h.twilio.ClearFaults()
			h.twilio.Inject(flextest.Fault{Method: "POST", Status: 502, RawBody: "<html>" + echo("") + "</html>", Times: 6})
			_, task := h.channel(flextest.TaskCanceled)
			return h.taskRouter(h.form("task.canceled", task), hyToken)
		}, 503},
		{"Twilio 400 echoing the request", func() gateway.Response {
			h.twilio.ClearFaults()
			h.twilio.Inject(flextest.Fault{Method: "POST", Status: 400, Code: 45359, Message: echo("Status=closed")})
			h.twilio.Inject(flextest.Fault{Method: "GET", Path: "/v1/Interactions", Status: 400, Code: 20001, Message: echo("fetch")})
			_, task := h.channel(flextest.TaskCanceled)
			return h.taskRouter(h.form("task.canceled", task), hyToken)
		}, 502},
		{"Twilio 401", func() gateway.Response {
			h.twilio.ClearFaults()
			h.twilio.Inject(flextest.Fault{Status: 401, Code: 20003, Message: echo("Authenticate")})
			_, task := h.channel(flextest.TaskCanceled)
			return h.taskRouter(h.form("task.canceled", task), hyToken)
		}, 502},
		{"CRM close, signed", func() gateway.Response {
			h.twilio.ClearFaults()
			ch, _ := h.channel(flextest.TaskAssigned)
			return h.crm(`{"interaction_sid":"`+ch.InteractionSID+`","channel_sid":"`+ch.SID+`"}`, hyCRMSecret2)
		}, 200},
		{"CRM task look-up, bearer", func() gateway.Response {
			_, task := h.channel(flextest.TaskWrapping)
			return h.bearer(`{"task_sid":"`+task.SID+`"}`, hyBearer)
		}, 200},
		{"CRM wrong bearer", func() gateway.Response {
			return h.bearer(`{"task_sid":"WT00000000000000000000000000000000"}`, hyAttacker)
		}, 401},
		{"CRM forged signature", func() gateway.Response {
			return h.crm(`{"task_sid":"WT00000000000000000000000000000000"}`, "whsec_"+base64.StdEncoding.EncodeToString([]byte(hyAttacker)))
		}, 401},
		{"CRM invalid SID carrying data", func() gateway.Response {
			return h.crm(`{"interaction_sid":"KD`+hyCustomer+`","channel_sid":"UO`+hyAddress+`"}`, hyCRMSecret)
		}, 422},
		{"CRM bad status carrying data", func() gateway.Response {
			ch, _ := h.channel(flextest.TaskAssigned)
			return h.crm(`{"interaction_sid":"`+ch.InteractionSID+`","channel_sid":"`+ch.SID+`","status":"`+hyCustomer+`"}`, hyCRMSecret)
		}, 422},
		{"CRM unknown channel", func() gateway.Response {
			return h.crm(`{"interaction_sid":"KD00000000000000000000000000000000","channel_sid":"UO00000000000000000000000000000000"}`, hyCRMSecret)
		}, 404},
		{"CRM Twilio 400 on a task look-up", func() gateway.Response {
			h.twilio.Inject(flextest.Fault{Method: "GET", Path: "/v1/Workspaces", Status: 400, Code: 20001, Message: echo("EvaluateTaskAttributes"), Times: 1})
			_, task := h.channel(flextest.TaskWrapping)
			return h.bearer(`{"task_sid":"`+task.SID+`"}`, hyBearer)
		}, 502},
	}
	for _, s := range steps {
		if r := s.do(); r.Status != s.status {
			t.Errorf("%s: status %d %s, want %d", s.name, r.Status, r.Body, s.status)
		}
	}
	h.check()
}

// Secrets Manager failures, at cold start and on requests, with messages
// that echo the request and the secret's name, leak nothing either.
func TestNoSecretsInOutputWhenSecretsManagerFails(t *testing.T) {
	tests := []struct {
		name   string
		fault  secretstest.Fault
		status int
	}{
		{"access denied", secretstest.Fault{Type: secretstest.CodeAccessDenied,
			Message: "User: arn:aws:sts::123456789012:assumed-role/x is not authorized to perform secretsmanager:GetSecretValue on " + hySecretID + " with " + hyAWSSecret}, 500},
		{"decryption failure", secretstest.Fault{Type: secretstest.CodeDecryption,
			Message: "KMS could not decrypt " + hySecretID + ": " + hyToken}, 500},
		{"throttled", secretstest.Fault{Type: secretstest.CodeThrottling, Message: "Rate exceeded for " + hyKeySecret}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.fault
			f.Operation = secretstest.OpGetSecretValue
			h := newHygiene(t, &f)
			if r := h.taskRouter(h.form("task.canceled", flextest.Task{SID: "WT00000000000000000000000000000001"}), hyToken); r.Status != tt.status {
				t.Errorf("status %d %s, want %d", r.Status, r.Body, tt.status)
			}
			if r := h.bearer(`{"task_sid":"WT00000000000000000000000000000001"}`, hyBearer); r.Status != tt.status {
				t.Errorf("CRM status %d %s, want %d", r.Status, r.Body, tt.status)
			}
			h.check()
		})
	}
}
