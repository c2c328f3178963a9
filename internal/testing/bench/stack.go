package bench

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/samples"
	"github.com/flexhook/flexhook/internal/secrets/secretstest"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// secretName is the Secrets Manager secret the function reads.
const secretName = "flexhook/bench"

// server is a fake served on loopback that counts the connections it
// accepts and the time its handler spends.
type server struct {
	*httptest.Server

	mu   sync.Mutex
	seen counters // since the last take
}

// serve starts h on a free loopback port. kind names the API a request
// is for, for the call counts.
func serve(h http.Handler, kind func(*http.Request) string) *server {
	s := &server{seen: counters{calls: map[string]int{}}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		d := time.Since(start)
		s.mu.Lock()
		s.seen.handled += d
		s.seen.calls[kind(r)]++
		s.mu.Unlock()
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.seen.conns++
			s.mu.Unlock()
		}
	}
	s.Start()
	return s
}

// counters are what a server saw since the last reset.
type counters struct {
	conns   int
	calls   map[string]int // by API
	handled time.Duration  // in the fake's handler
}

// take returns the counters and resets them.
func (s *server) take() counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.seen
	s.seen = counters{calls: map[string]int{}}
	return c
}

// stack is the function's upstreams: the Twilio fake and the Secrets
// Manager fake, seeded with channels whose tasks have completed.
type stack struct {
	twilio     *flextest.Server
	twilioSrv  *server
	secretsSrv *server
	events     [][]byte // signed task.canceled events, one per channel
	channels   []flextest.Channel
}

// channelPool is how many channels the events cycle through. Each channel
// is made active again before its next event (reopen), so every event takes
// the whole close path — fetch the channel, list live tasks, update — while
// the fake's task list stays short and its answers fast.
const channelPool = 32

func newStack() (*stack, error) {
	st := &stack{twilio: flextest.New(flextest.Options{AccountSID: samples.AccountSID,
		Credentials: map[string]string{samples.AccountSID: samples.AuthToken}, LogLimit: 1})}
	secrets := secretstest.New()
	secrets.Put(secretName, samples.SecretJSON())
	st.twilio.AddWorkspace(samples.WorkspaceSID)
	for range channelPool {
		ch := st.twilio.AddChannel(flextest.Channel{Type: "web", Status: flextest.ChannelActive})
		task := st.twilio.AddChannelTask(samples.WorkspaceSID, ch, flextest.TaskCanceled)
		ev, err := taskCanceled(task)
		if err != nil {
			return nil, err
		}
		st.events = append(st.events, ev)
		st.channels = append(st.channels, ch)
	}
	st.twilioSrv, st.secretsSrv = serve(st.twilio, twilioAPI), serve(secrets, secretsAPI)
	return st, nil
}

// taskCanceled is the signed HTTP API event TaskRouter sends when task is
// canceled (a default close event).
func taskCanceled(task flextest.Task) ([]byte, error) {
	form := samples.TaskRouterForm("task.canceled", samples.Task{
		SID: task.SID, AssignmentStatus: task.AssignmentStatus, Attributes: task.Attributes,
	})
	u := "https://" + samples.Host + "/taskrouter"
	h := http.Header{
		"Content-Type":               {"application/x-www-form-urlencoded; charset=utf-8"},
		taskrouter.SignatureHeader:   {taskrouter.Sign(samples.AuthToken, u, form)},
		"User-Agent":                 {"TwilioProxy/1.1"},
		"I-Twilio-Idempotency-Token": {"bench-" + task.SID},
	}
	return gatewaytest.NewHTTPEvent("POST", u, h, []byte(url.Values(form).Encode()), gatewaytest.EventOptions{})
}

// env is the function's environment for this stack.
func (st *stack) env() []string {
	return []string{
		"TWILIO_SECRET_ID=" + secretName,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + st.secretsSrv.URL,
		"TWILIO_API_BASE_URL=" + st.twilioSrv.URL,
		"TASKROUTER_WORKSPACE_SID=" + samples.WorkspaceSID,
		"AWS_REGION=us-east-1",
		"LOG_LEVEL=info",
	}
}

// APIs the fakes serve, as counted.
const (
	apiFlex       = "flex"
	apiTaskRouter = "taskrouter"
	apiSecrets    = "secretsmanager"
)

// twilioAPI tells Flex requests from TaskRouter ones: with
// TWILIO_API_BASE_URL both reach the one fake, by their paths.
func twilioAPI(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/v1/Workspaces") {
		return apiTaskRouter
	}
	return apiFlex
}

func secretsAPI(*http.Request) string { return apiSecrets }

// take returns what both fakes saw since the last take, and resets it.
func (st *stack) take() (twilio, secrets counters) {
	return st.twilioSrv.take(), st.secretsSrv.take()
}

func (st *stack) close() {
	st.twilioSrv.Close()
	st.secretsSrv.Close()
}
