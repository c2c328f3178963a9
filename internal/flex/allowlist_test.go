package flex

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// recorder is a base transport that records what reaches it.
type recorder struct{ got []string }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.got = append(r.got, req.Method+" "+req.URL.String())
	return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: req}, nil
}

// The transport's allowlist is the last line of defence: whatever a bug
// upstream builds, only the Interaction Channel (fetch, update) and the
// TaskRouter task look-ups leave the process, on Twilio's hosts, over HTTPS.
func TestTransportAllowlist(t *testing.T) {
	const (
		kd = "KD0123456789abcdef0123456789abcdef"
		uo = "UO0123456789abcdef0123456789abcdef"
		ws = "WS0123456789abcdef0123456789abcdef"
		wt = "WT0123456789abcdef0123456789abcdef"
	)
	channel := "https://flex-api.twilio.com/v1/Interactions/" + kd + "/Channels/" + uo
	tasks := "https://taskrouter.twilio.com/v1/Workspaces/" + ws + "/Tasks"
	tests := []struct {
		method, url string
		ok          bool
	}{
		{"POST", channel, true},
		{"GET", channel, true},
		{"GET", tasks + "?AssignmentStatus=assigned&PageSize=20", true},
		{"GET", tasks + "/" + wt, true},
		{"GET", "https://taskrouter.twilio.com/v1/Workspaces/" + ws + "/Events?EventType=task.canceled&PageSize=200", true},
		{"POST", "https://taskrouter.twilio.com/v1/Workspaces/" + ws + "/Events", false},
		{"GET", "https://taskrouter.twilio.com/v1/Workspaces/" + ws + "/Events/EV0123456789abcdef0123456789abcdef", false},
		{"DELETE", channel, false},
		{"PUT", channel, false},
		{"POST", tasks, false},
		{"POST", tasks + "/" + wt, false},
		{"GET", "http://flex-api.twilio.com/v1/Interactions/" + kd + "/Channels/" + uo, false},
		{"GET", "https://flex-api.twilio.com:8443/v1/Interactions/" + kd + "/Channels/" + uo, false},
		{"GET", "https://user:pass@flex-api.twilio.com/v1/Interactions/" + kd + "/Channels/" + uo, false},
		{"GET", "https://api.twilio.com/2010-04-01/Accounts.json", false},
		{"GET", "https://flex-api.twilio.com.evil.example/v1/Interactions/" + kd + "/Channels/" + uo, false},
		{"GET", "https://flex-api.twilio.com/v1/Interactions/" + kd, false},
		{"GET", "https://flex-api.twilio.com/v1/Interactions/" + kd + "/Channels", false},
		{"GET", channel + "/Invites", false},
		{"GET", channel + "/", false},
		{"GET", "https://flex-api.twilio.com/v1//Interactions/" + kd + "/Channels/" + uo, false},
		{"GET", "https://flex-api.twilio.com/v1/Interactions/" + uo + "/Channels/" + kd, false},
		{"GET", "https://flex-api.twilio.com/v1/Interactions/KD..%2F..%2Fv2%2FAccounts0123456789ab/Channels/" + uo, false},
		{"GET", "https://flex-api.twilio.com/v1/Interactions/" + kd + "/Channels/UO0123456789abcdef0123456789abcdeg", false},
		{"GET", "https://taskrouter.twilio.com/v1/Workspaces/" + ws, false},
		{"GET", "https://taskrouter.twilio.com/v1/Workspaces/" + ws + "/Workers", false},
		{"GET", tasks + "/" + wt + "/Reservations", false},
		{"GET", "https://taskrouter.twilio.com/v1/Workspaces/" + wt + "/Tasks", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+strings.TrimPrefix(tt.url, "https://"), func(t *testing.T) {
			req, err := http.NewRequest(tt.method, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			base := &recorder{}
			tr := &transport{base: base, call: &call{ctx: context.Background()}, now: time.Now}
			_, err = tr.RoundTrip(req)
			if tt.ok != (err == nil) || tt.ok != (len(base.got) == 1) {
				t.Errorf("RoundTrip(%s %s) = %v, sent %v; want allowed %v", tt.method, tt.url, err, base.got, tt.ok)
			}
			if !tt.ok && !errors.Is(err, errForbiddenRequest) {
				t.Errorf("RoundTrip(%s %s) = %v, want errForbiddenRequest", tt.method, tt.url, err)
			}
		})
	}
}
