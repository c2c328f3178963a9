package tracing

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	root   = "1-5759e988-bd862e3fe1be46a994272793"
	parent = "53995c3f42cd8ad8"
)

func sampled(ctx context.Context) context.Context {
	return ContextWithHeader(ctx, "Root="+root+";Parent="+parent+";Sampled=1;Lineage=a:1")
}

// daemon is a loopback UDP listener standing in for the X-Ray daemon.
type daemon struct {
	t    *testing.T
	conn net.PacketConn
}

func newDaemon(t *testing.T) *daemon {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &daemon{t: t, conn: c}
}

// next reads one datagram, checks its header line and decodes the
// document. The deadline only bounds a broken test.
func (d *daemon) next() map[string]any {
	d.t.Helper()
	buf := make([]byte, 64<<10)
	if err := d.conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		d.t.Fatal(err)
	}
	n, _, err := d.conn.ReadFrom(buf)
	if err != nil {
		d.t.Fatalf("no subsegment reached the daemon: %v", err)
	}
	head, body, ok := bytes.Cut(buf[:n], []byte("\n"))
	if !ok || string(head) != `{"format":"json","version":1}` {
		d.t.Fatalf("datagram %q does not start with the daemon header", buf[:n])
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		d.t.Fatalf("subsegment %q: %v", body, err)
	}
	return doc
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		name, in string
		want     Header
	}{
		{"sampled", "Root=" + root + ";Parent=" + parent + ";Sampled=1", Header{root, parent, true}},
		{"not sampled", "Root=" + root + ";Parent=" + parent + ";Sampled=0", Header{root, parent, false}},
		{"extra fields and spaces", "Root=" + root + "; Parent=" + parent + "; Sampled=1; Lineage=10:1234abcd:3", Header{root, parent, true}},
		{"empty", "", Header{}},
		{"root only", "Root=" + root, Header{Root: root}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseHeader(tt.in); got != tt.want {
				t.Errorf("ParseHeader(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// Without a daemon address tracing is off and wraps nothing.
func TestOffCostsNothing(t *testing.T) {
	tr := New(Options{})
	if tr != nil {
		t.Fatalf("New(no daemon) = %v, want nil", tr)
	}
	base := http.DefaultTransport
	if got := tr.Transport(base); got != base {
		t.Errorf("nil Tracer's Transport wrapped the base transport")
	}
	c := &http.Client{}
	if got := tr.AWSClient(c, "Secrets Manager"); got != Doer(c) {
		t.Errorf("nil Tracer's AWSClient wrapped the base client")
	}
	if err := tr.Close(); err != nil {
		t.Errorf("nil Tracer's Close() = %v", err)
	}
}

func TestTransportSubsegments(t *testing.T) {
	d := newDaemon(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/throttled":
			w.WriteHeader(http.StatusTooManyRequests)
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
		case "/broken":
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.Write([]byte(`{"status":"closed"}`))
		}
	}))
	defer srv.Close()
	tr := New(Options{DaemonAddr: d.conn.LocalAddr().String()})
	defer tr.Close()
	c := &http.Client{Transport: tr.Transport(http.DefaultTransport)}

	get := func(ctx context.Context, path string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path+"?secret=1", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Unsampled and untraced calls send nothing: the first datagram is
	// the sampled call's.
	get(context.Background(), "/untraced")
	get(ContextWithHeader(context.Background(), "Root="+root+";Parent="+parent+";Sampled=0"), "/unsampled")

	tests := []struct {
		path                     string
		status                   float64
		errFlag, throttle, fault bool
	}{
		{"/v1/Interactions/KD1/Channels/UO1", 200, false, false, false},
		{"/throttled", 429, true, true, false},
		{"/missing", 404, true, false, false},
		{"/broken", 502, false, false, true},
	}
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	for _, tt := range tests {
		get(sampled(context.Background()), tt.path)
		doc := d.next()
		httpDoc, _ := doc["http"].(map[string]any)
		req, _ := httpDoc["request"].(map[string]any)
		resp, _ := httpDoc["response"].(map[string]any)
		checks := []struct {
			field string
			got   any
			want  any
		}{
			{"name", doc["name"], host},
			{"type", doc["type"], "subsegment"},
			{"trace_id", doc["trace_id"], root},
			{"parent_id", doc["parent_id"], parent},
			{"namespace", doc["namespace"], "remote"},
			{"http.request.method", req["method"], "POST"},
			{"http.request.url", req["url"], srv.URL + tt.path},
			{"http.response.status", resp["status"], tt.status},
			{"error", doc["error"] == true, tt.errFlag},
			{"throttle", doc["throttle"] == true, tt.throttle},
			{"fault", doc["fault"] == true, tt.fault},
		}
		for _, c := range checks {
			if c.got != c.want {
				t.Errorf("%s: subsegment %s = %v, want %v", tt.path, c.field, c.got, c.want)
			}
		}
		id, _ := doc["id"].(string)
		start, _ := doc["start_time"].(float64)
		end, _ := doc["end_time"].(float64)
		if len(id) != 16 || start <= 0 || end < start {
			t.Errorf("%s: id %q, start %v, end %v", tt.path, id, start, end)
		}
	}
}

type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func TestAWSClientSubsegment(t *testing.T) {
	d := newDaemon(t)
	tr := New(Options{DaemonAddr: "tcp:127.0.0.1:2000 udp:" + d.conn.LocalAddr().String()})
	defer tr.Close()
	base := doerFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/fail" {
			return nil, errors.New("connection refused")
		}
		return &http.Response{StatusCode: 200, Header: http.Header{"X-Amzn-Requestid": {"req-123"}}, Body: http.NoBody}, nil
	})
	c := tr.AWSClient(base, "Secrets Manager")

	req, _ := http.NewRequestWithContext(sampled(context.Background()), http.MethodPost, "https://secretsmanager.us-east-1.amazonaws.com/", nil)
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if _, err := c.Do(req); err != nil {
		t.Fatal(err)
	}
	doc := d.next()
	aws, _ := doc["aws"].(map[string]any)
	if doc["name"] != "Secrets Manager" || doc["namespace"] != "aws" || aws["operation"] != "GetSecretValue" || aws["request_id"] != "req-123" || doc["fault"] == true {
		t.Errorf("subsegment = %v, want Secrets Manager GetSecretValue req-123", doc)
	}

	req, _ = http.NewRequestWithContext(sampled(context.Background()), http.MethodPost, "https://secretsmanager.us-east-1.amazonaws.com/fail", nil)
	if _, err := c.Do(req); err == nil {
		t.Fatal("Do() = nil error, want the base client's")
	}
	doc = d.next()
	if doc["fault"] != true || doc["cause"] == nil {
		t.Errorf("failed call subsegment = %v, want fault with a cause", doc)
	}
}
