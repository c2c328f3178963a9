package flextest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// BenchmarkUpdateChannel measures the fake's own cost of a close, without
// the network: ServeHTTP on a recorder.
func BenchmarkUpdateChannel(b *testing.B) {
	s := flextest.New(flextest.Options{Credentials: map[string]string{testAccount: testToken}, LogLimit: 1000})
	ch := s.AddChannel(flextest.Channel{})
	for range 10 {
		s.AddChannelTask(testWS, ch, flextest.TaskAssigned)
	}
	path := "/v1/Interactions/" + ch.InteractionSID + "/Channels/" + ch.SID
	body := url.Values{"Status": {"closed"}, "Routing": {`{"status":"closed"}`}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testAccount, testToken)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("close = %d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkListTasks measures a filtered page over a workspace of 1000 tasks.
func BenchmarkListTasks(b *testing.B) {
	s := flextest.New(flextest.Options{Credentials: map[string]string{testAccount: testToken}, LogLimit: 1000})
	var target flextest.Channel
	for i := range 1000 {
		ch := s.AddChannel(flextest.Channel{})
		s.AddChannelTask(testWS, ch, []string{flextest.TaskPending, flextest.TaskAssigned, flextest.TaskCompleted}[i%3])
		if i == 500 {
			target = ch
		}
	}
	q := url.Values{
		"AssignmentStatus":       {"pending,reserved,assigned,wrapping"},
		"EvaluateTaskAttributes": {fmt.Sprintf(`flexInteractionChannelSid == %q`, target.SID)},
	}
	path := "/v1/Workspaces/" + testWS + "/Tasks?" + q.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.SetBasicAuth(testAccount, testToken)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("list = %d %s", w.Code, w.Body)
		}
	}
}
