package gatewaytest

import (
	"bytes"
	"net/http"
	"reflect"
	"testing"

	"github.com/flexhook/flexhook/internal/gateway"
)

func TestSyntheticEventsRoundTrip(t *testing.T) {
	form := []byte("EventType=task.completed&TaskSid=WT1")
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Twilio-Signature": {"abc="}}
	tests := []struct {
		name      string
		build     func(string, string, http.Header, []byte, EventOptions) ([]byte, error)
		url       string
		stage     string
		shape     gateway.Shape
		wantPath  string
		wantQuery string
		wantURL   string
	}{
		{"http default stage", NewHTTPEvent, "https://abc123.execute-api.us-east-1.amazonaws.com/taskrouter?x=1&a=b%20c", "", gateway.ShapeHTTP,
			"/taskrouter", "x=1&a=b%20c", "https://abc123.execute-api.us-east-1.amazonaws.com/taskrouter?x=1&a=b%20c"},
		{"http named stage", NewHTTPEvent, "https://abc123.execute-api.us-east-1.amazonaws.com/live/taskrouter", "live", gateway.ShapeHTTP,
			"/taskrouter", "", "https://abc123.execute-api.us-east-1.amazonaws.com/live/taskrouter"},
		{"local gateway", NewHTTPEvent, "http://127.0.0.1:3000/taskrouter", "", gateway.ShapeHTTP,
			"/taskrouter", "", "http://127.0.0.1:3000/taskrouter"},
		{"function url", NewHTTPEvent, "https://abcdefg.lambda-url.us-east-1.on.aws/taskrouter", "", gateway.ShapeFunctionURL,
			"/taskrouter", "", "https://abcdefg.lambda-url.us-east-1.on.aws/taskrouter"},
		{"rest stage", NewRESTEvent, "https://abc123.execute-api.us-east-1.amazonaws.com/prod/taskrouter?b=2&a=1", "prod", gateway.ShapeREST,
			"/taskrouter", "a=1&b=2", "https://abc123.execute-api.us-east-1.amazonaws.com/prod/taskrouter?a=1&b=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := tt.build("POST", tt.url, h, form, EventOptions{Stage: tt.stage, RequestID: "r1"})
			if err != nil {
				t.Fatal(err)
			}
			req, err := gateway.Decode(ev, gateway.Options{})
			if err != nil {
				t.Fatalf("gateway.Decode(built event): %v", err)
			}
			if req.Shape != tt.shape || req.Method != "POST" || req.Path != tt.wantPath || req.RawQuery != tt.wantQuery ||
				req.PublicURL != tt.wantURL || req.RequestID != "r1" || !bytes.Equal(req.Body, form) {
				t.Errorf("gateway.Decode(built event) = %+v\nwant shape %v path %s query %q url %s", req, tt.shape, tt.wantPath, tt.wantQuery, tt.wantURL)
			}
			if got := req.Header.Get("X-Twilio-Signature"); got != "abc=" {
				t.Errorf("signature header = %q", got)
			}
		})
	}
	if _, err := NewHTTPEvent("POST", "/relative", nil, nil, EventOptions{}); err == nil {
		t.Errorf("NewHTTPEvent(relative URL) succeeded")
	}
}

func TestParseResponse(t *testing.T) {
	for _, r := range []gateway.Response{
		{Status: 204, Header: map[string]string{"Content-Type": "application/json"}},
		{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"outcome":"closed"}`)},
		{Status: 200, Header: map[string]string{"Content-Type": "application/octet-stream"}, Body: []byte{0xff, 0x00}},
	} {
		b, err := gateway.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseResponse(b)
		if err != nil {
			t.Fatalf("ParseResponse(%s): %v", b, err)
		}
		if len(got.Body) == 0 {
			got.Body = nil
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("ParseResponse(gateway.Encode(%+v)) = %+v", r, got)
		}
	}
	for _, bad := range []string{`nope`, `{"statusCode":0}`, `{"statusCode":200,"body":"%%","isBase64Encoded":true}`} {
		if _, err := ParseResponse([]byte(bad)); err == nil {
			t.Errorf("ParseResponse(%s) succeeded", bad)
		}
	}
}
