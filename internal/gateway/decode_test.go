package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// taskRouterForm is the form body carried by several fixtures.
const taskRouterForm = "AccountSid=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&EventType=task.completed" +
	"&TaskSid=WTbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" +
	"&TaskAttributes=%7B%22flexInteractionSid%22%3A%22KDcccccccccccccccccccccccccccccccc%22%7D"

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		opts      Options
		shape     Shape
		method    string
		path      string
		rawQuery  string
		publicURL string
		body      string
		requestID string
		sourceIP  string
	}{
		{
			name: "HTTP API default stage, base64 form", file: "http-api-default-stage.json",
			shape: ShapeHTTP, method: "POST", path: "/taskrouter",
			publicURL: "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/taskrouter",
			body:      taskRouterForm, requestID: "Kx3YbjT2oAMEV8Q=", sourceIP: "54.172.60.1",
		},
		{
			name: "HTTP API default stage, PUBLIC_BASE_URL with slash", file: "http-api-default-stage.json",
			opts:  Options{BaseURL: "https://hooks.example.com/flex/"},
			shape: ShapeHTTP, method: "POST", path: "/taskrouter",
			publicURL: "https://hooks.example.com/flex/taskrouter",
			body:      taskRouterForm, requestID: "Kx3YbjT2oAMEV8Q=", sourceIP: "54.172.60.1",
		},
		{
			name: "HTTP API named stage, raw query kept", file: "http-api-named-stage.json",
			shape: ShapeHTTP, method: "POST", path: "/crm",
			rawQuery:  "tenant=acme&next=%2Fdone+now&empty=",
			publicURL: "https://z9y8x7w6v5.execute-api.eu-west-1.amazonaws.com/prod/crm?tenant=acme&next=%2Fdone+now&empty=",
			body:      `{"interaction_sid":"KDcccccccccccccccccccccccccccccccc","channel_sid":"UOdddddddddddddddddddddddddddddddd","status":"closed"}`,
			requestID: "LV7fzho-PHcEJPw=", sourceIP: "203.0.113.7",
		},
		{
			name: "HTTP API named stage behind a custom domain needs PUBLIC_BASE_URL", file: "http-api-named-stage.json",
			opts:  Options{BaseURL: "https://crm-hooks.example.com/v1"},
			shape: ShapeHTTP, method: "POST", path: "/crm",
			rawQuery:  "tenant=acme&next=%2Fdone+now&empty=",
			publicURL: "https://crm-hooks.example.com/v1/crm?tenant=acme&next=%2Fdone+now&empty=",
			body:      `{"interaction_sid":"KDcccccccccccccccccccccccccccccccc","channel_sid":"UOdddddddddddddddddddddddddddddddd","status":"closed"}`,
			requestID: "LV7fzho-PHcEJPw=", sourceIP: "203.0.113.7",
		},
		{
			name: "HTTP API with payload 1.0, stage in path", file: "http-api-payload-1.0.json",
			shape: ShapeREST, method: "POST", path: "/taskrouter",
			publicURL: "https://m1n2b3v4c5.execute-api.us-west-2.amazonaws.com/live/taskrouter",
			body:      "EventType=task.canceled&TaskSid=WTbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
			requestID: "JTHd9j2EoAMEPEA=", sourceIP: "54.172.60.4",
		},
		{
			name: "REST API on execute-api with stage", file: "rest-api-execute-api.json",
			shape: ShapeREST, method: "POST", path: "/taskrouter", rawQuery: "tenant=acme",
			publicURL: "https://q1w2e3r4t5.execute-api.us-east-1.amazonaws.com/prod/taskrouter?tenant=acme",
			body:      taskRouterForm, requestID: "deef4878-7910-11e6-8f14-25afc3e9ae33", sourceIP: "54.172.60.1",
		},
		{
			name: "REST API on custom domain with base path", file: "rest-api-custom-domain.json",
			shape: ShapeREST, method: "POST", path: "/taskrouter",
			publicURL: "https://hooks.example.com/flex/taskrouter",
			body:      taskRouterForm, requestID: "0b5c6a4e-3e1f-4c8e-9c55-6a0f1d2e3b4c", sourceIP: "54.172.60.2",
		},
		{
			name: "REST API on custom domain, PUBLIC_BASE_URL agrees", file: "rest-api-custom-domain.json",
			opts:  Options{BaseURL: "https://hooks.example.com/flex"},
			shape: ShapeREST, method: "POST", path: "/taskrouter",
			publicURL: "https://hooks.example.com/flex/taskrouter",
			body:      taskRouterForm, requestID: "0b5c6a4e-3e1f-4c8e-9c55-6a0f1d2e3b4c", sourceIP: "54.172.60.2",
		},
		{
			name: "REST API proxy resource, query rebuilt sorted", file: "rest-api-proxy-query.json",
			shape: ShapeREST, method: "POST", path: "/crm",
			rawQuery:  "a=%C3%BC%26%3D&a=2&space=x+y&z=last",
			publicURL: "https://q1w2e3r4t5.execute-api.us-east-1.amazonaws.com/dev/crm?a=%C3%BC%26%3D&a=2&space=x+y&z=last",
			body:      `{"task_sid":"WTbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}`,
			requestID: "7e0f2c1a-5b4d-4e3c-8a9b-0c1d2e3f4a5b", sourceIP: "198.51.100.20",
		},
		{
			name: "no domainName, Host with port, plain http", file: "rest-api-local-host.json",
			shape: ShapeREST, method: "POST", path: "/crm", rawQuery: "dry_run=1",
			publicURL: "http://127.0.0.1:3000/crm?dry_run=1",
			requestID: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", sourceIP: "127.0.0.1",
		},
		{
			name: "function URL, raw query order kept", file: "function-url.json",
			shape: ShapeFunctionURL, method: "POST", path: "/taskrouter", rawQuery: "b=%20&a=2&a=1",
			publicURL: "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/taskrouter?b=%20&a=2&a=1",
			body:      taskRouterForm, requestID: "c4d2b0a1-8f3e-4b6a-9e7d-1a2b3c4d5e6f", sourceIP: "54.172.60.3",
		},
		{
			name: "AWS REST sample", file: "aws-apigw-request.json",
			shape: ShapeREST, method: "POST", path: "/hello/world", rawQuery: "name=me",
			publicURL: "https://gy415nuibc.execute-api.us-east-2.amazonaws.com/hello/world?name=me",
			body:      "{\r\n\t\"a\": 1\r\n}", requestID: "deef4878-7910-11e6-8f14-25afc3e9ae33", sourceIP: "192.168.196.186",
		},
		{
			name: "AWS HTTP API sample", file: "aws-apigw-v2-request-no-authorizer.json",
			shape: ShapeHTTP, method: "GET", path: "/",
			publicURL: "https://aaaaaaaaaa.execute-api.us-west-2.amazonaws.com/",
			requestID: "LV7fzho-PHcEJPw=", sourceIP: "1.2.3.4",
		},
		{
			name: "AWS function URL sample has a placeholder host", file: "aws-lambda-urls-request.json",
			shape: ShapeFunctionURL, method: "POST", path: "/my/path",
			rawQuery:  "parameter1=value1&parameter1=value2&parameter2=value",
			publicURL: "", body: "Hello from client!", requestID: "id", sourceIP: "123.123.123.123",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode(readEvent(t, tt.file), tt.opts)
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", tt.file, err)
			}
			check := func(field string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("Decode(%s).%s = %q, want %q", tt.file, field, got, want)
				}
			}
			check("Shape", r.Shape, tt.shape)
			check("Method", r.Method, tt.method)
			check("Path", r.Path, tt.path)
			check("RawQuery", r.RawQuery, tt.rawQuery)
			check("PublicURL", r.PublicURL, tt.publicURL)
			check("Body", string(r.Body), tt.body)
			check("RequestID", r.RequestID, tt.requestID)
			check("SourceIP", r.SourceIP, tt.sourceIP)
		})
	}
}

func TestDecodeHeader(t *testing.T) {
	tests := []struct {
		name string
		file string
		key  string
		want []string
	}{
		{"v2 lower-case key canonicalised", "http-api-default-stage.json", "X-Twilio-Signature", []string{"dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ=="}},
		{"v2 comma-joined value kept as given", "http-api-named-stage.json", "X-Custom-List", []string{"one,two"}},
		{"v2 cookies rebuilt into Cookie", "http-api-named-stage.json", "Cookie", []string{"session=abc; theme=dark"}},
		{"v1 multiValueHeaders preferred", "rest-api-execute-api.json", "X-Twilio-Signature", []string{"c2lnbmF0dXJlLW9uZQ=="}},
		{"v1 keys differing in case merged in sorted key order", "rest-api-proxy-query.json", "Webhook-Signature", []string{"v1,second", "v1,third", "v1,first"}},
		{"v1 lower-case key canonicalised", "rest-api-proxy-query.json", "Content-Type", []string{"application/json"}},
		{"v1 headers used when multiValueHeaders is null", "rest-api-local-host.json", "X-Forwarded-Port", []string{"3000"}},
		{"absent header", "rest-api-local-host.json", "Authorization", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode(readEvent(t, tt.file), Options{})
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", tt.file, err)
			}
			if got := r.Header[tt.key]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode(%s).Header[%q] = %q, want %q", tt.file, tt.key, got, tt.want)
			}
		})
	}
}

// TestDecodeHeaderDeterministic decodes an event whose header keys differ
// only in case many times: the merged order must never depend on map
// iteration order.
func TestDecodeHeaderDeterministic(t *testing.T) {
	payload := []byte(`{"httpMethod":"POST","path":"/crm","headers":{"x-a":"1","X-A":"2","x-A":"3","X-a":"4"}}`)
	want := []string{"2", "4", "3", "1"} // raw keys sorted: X-A, X-a, x-A, x-a
	for i := range 50 {
		r, err := Decode(payload, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Header["X-A"]; !reflect.DeepEqual(got, want) {
			t.Fatalf("run %d: Header[X-A] = %q, want %q", i, got, want)
		}
	}
}

// golden is the on-disk form of a decoded Request.
type golden struct {
	Shape     string      `json:"shape"`
	Method    string      `json:"method"`
	Path      string      `json:"path"`
	RawQuery  string      `json:"rawQuery"`
	PublicURL string      `json:"publicURL"`
	RequestID string      `json:"requestId"`
	SourceIP  string      `json:"sourceIp"`
	Header    http.Header `json:"header"`
	Body      string      `json:"body"`
}

// TestDecodeGolden decodes every sample event so none of them rots, and
// compares the whole Request with testdata/golden.
func TestDecodeGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			r, err := Decode(readEvent(t, name), Options{})
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", name, err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(golden{
				Shape: r.Shape.String(), Method: r.Method, Path: r.Path, RawQuery: r.RawQuery,
				PublicURL: r.PublicURL, RequestID: r.RequestID, SourceIP: r.SourceIP,
				Header: r.Header, Body: string(r.Body),
			}); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			path := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Decode(%s) =\n%s\nwant (%s)\n%s", name, got, path, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	big := strings.Repeat("A", 7<<20) // 7 MB of base64: about 5 MB decoded
	tests := []struct {
		name    string
		payload string
		opts    Options
		want    error
	}{
		{"not JSON", `<html>`, Options{}, ErrMalformedEvent},
		{"empty", ``, Options{}, ErrMalformedEvent},
		{"JSON null", `null`, Options{}, ErrMalformedEvent},
		{"JSON array", `[{"httpMethod":"GET","path":"/"}]`, Options{}, ErrMalformedEvent},
		{"trailing data", `{"httpMethod":"GET","path":"/"} {}`, Options{}, ErrMalformedEvent},
		{"SQS event", `{"Records":[{"messageId":"1","body":"x"}]}`, Options{}, ErrMalformedEvent},
		{"v1 without method", `{"path":"/crm","body":"x"}`, Options{}, ErrMalformedEvent},
		{"v1 relative path", `{"httpMethod":"GET","path":"crm"}`, Options{}, ErrMalformedEvent},
		{"v1 without path", `{"httpMethod":"GET"}`, Options{}, ErrMalformedEvent},
		{"v2 without method", `{"version":"2.0","rawPath":"/crm","requestContext":{}}`, Options{}, ErrMalformedEvent},
		{"v2 without path", `{"version":"2.0","requestContext":{"http":{"method":"POST"}}}`, Options{}, ErrMalformedEvent},
		{"unknown version", `{"version":"3.0","httpMethod":"GET","path":"/"}`, Options{}, ErrMalformedEvent},
		{"headers of the wrong type", `{"httpMethod":"GET","path":"/","headers":["a"]}`, Options{}, ErrMalformedEvent},
		{"bad base64", `{"httpMethod":"POST","path":"/","body":"not base64!","isBase64Encoded":true}`, Options{}, ErrBadBase64},
		{"truncated base64", `{"httpMethod":"POST","path":"/","body":"QUJD\u0051","isBase64Encoded":true}`, Options{}, ErrBadBase64},
		{"plain body over limit", `{"httpMethod":"POST","path":"/","body":"12345"}`, Options{MaxBody: 4}, ErrBodyTooLarge},
		{"base64 body over limit", `{"httpMethod":"POST","path":"/","body":"MTIzNDU=","isBase64Encoded":true}`, Options{MaxBody: 4}, ErrBodyTooLarge},
		// Invalid base64 but oversized: refused on its length, so before any decoding.
		{"7 MB base64 refused before decoding", `{"httpMethod":"POST","path":"/","body":"` + big + `!","isBase64Encoded":true}`, Options{}, ErrBodyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode([]byte(tt.payload), tt.opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode(%.60q) error = %v, want %v", tt.payload, err, tt.want)
			}
			if r != nil {
				t.Errorf("Decode(%.60q) returned a request with an error", tt.payload)
			}
		})
	}
}

func TestDecodeBodyLimit(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		b64     bool
		max     int
		wantLen int
		wantErr error
	}{
		{"plain at limit", "1234", false, 4, 4, nil},
		{"plain over limit", "12345", false, 4, 0, ErrBodyTooLarge},
		{"base64 at limit, one pad", "MTIzNA==", true, 4, 4, nil},
		{"base64 at limit, no pad", "MTIz", true, 3, 3, nil},
		{"base64 one over", "MTIzNA==", true, 3, 0, ErrBodyTooLarge},
		{"default limit", strings.Repeat("x", DefaultMaxBody), false, 0, DefaultMaxBody, nil},
		{"default limit exceeded", strings.Repeat("x", DefaultMaxBody+1), false, -1, 0, ErrBodyTooLarge},
		{"empty base64", "", true, 4, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, _ := json.Marshal(map[string]any{"httpMethod": "POST", "path": "/", "body": tt.body, "isBase64Encoded": tt.b64})
			r, err := Decode(ev, Options{MaxBody: tt.max})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode(body %.20q, MaxBody %d) error = %v, want %v", tt.body, tt.max, err, tt.wantErr)
			}
			if err == nil && len(r.Body) != tt.wantLen {
				t.Errorf("Decode(body %.20q, MaxBody %d) body length = %d, want %d", tt.body, tt.max, len(r.Body), tt.wantLen)
			}
		})
	}
}

func TestPublicURLFromHeaders(t *testing.T) {
	tests := []struct {
		name    string
		domain  string
		headers string
		want    string
	}{
		{"https default port dropped", "h.example.com", `"X-Forwarded-Proto":"https","X-Forwarded-Port":"443"`, "https://h.example.com/p?q=1"},
		{"no proto means https", "h.example.com", ``, "https://h.example.com/p?q=1"},
		{"explicit port kept", "h.example.com", `"X-Forwarded-Port":"8443"`, "https://h.example.com:8443/p?q=1"},
		{"http default port dropped", "h.example.com", `"X-Forwarded-Proto":"http","X-Forwarded-Port":"80"`, "http://h.example.com/p?q=1"},
		{"http on 443 keeps port", "h.example.com", `"X-Forwarded-Proto":"HTTP","X-Forwarded-Port":"443"`, "http://h.example.com:443/p?q=1"},
		{"proxy list uses first element", "h.example.com", `"X-Forwarded-Proto":"http, https"`, "http://h.example.com/p?q=1"},
		{"unknown proto means https", "h.example.com", `"X-Forwarded-Proto":"javascript"`, "https://h.example.com/p?q=1"},
		{"non-numeric port ignored", "h.example.com", `"X-Forwarded-Port":"80a"`, "https://h.example.com/p?q=1"},
		{"port out of range ignored", "h.example.com", `"X-Forwarded-Port":"70000"`, "https://h.example.com/p?q=1"},
		{"Host header fallback", "", `"Host":"fallback.example.com"`, "https://fallback.example.com/p?q=1"},
		{"Host with port keeps its port", "", `"Host":"[::1]:3000","X-Forwarded-Port":"3000"`, "https://[::1]:3000/p?q=1"},
		{"bad domainName falls back to Host", "evil.com/x?", `"Host":"good.example.com"`, "https://good.example.com/p?q=1"},
		{"Host with userinfo refused", "", `"Host":"user@evil.example.com"`, ""},
		{"no host at all", "", ``, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := `{"httpMethod":"GET","path":"/p","queryStringParameters":{"q":"1"},"headers":{` + tt.headers +
				`},"requestContext":{"path":"/p","domainName":"` + tt.domain + `"}}`
			r, err := Decode([]byte(ev), Options{})
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", ev, err)
			}
			if r.PublicURL != tt.want {
				t.Errorf("Decode(%s).PublicURL = %q, want %q", ev, r.PublicURL, tt.want)
			}
		})
	}
}

func TestRoutePath(t *testing.T) {
	tests := []struct {
		name     string
		event    string
		wantPath string
	}{
		{"v2 stage prefix removed", `{"version":"2.0","rawPath":"/prod/crm","requestContext":{"stage":"prod","http":{"method":"POST"}}}`, "/crm"},
		{"v2 stage only", `{"version":"2.0","rawPath":"/prod","requestContext":{"stage":"prod","http":{"method":"POST"}}}`, "/"},
		{"v2 stage is a prefix of the segment", `{"version":"2.0","rawPath":"/production/crm","requestContext":{"stage":"prod","http":{"method":"POST"}}}`, "/production/crm"},
		{"v2 stage absent from rawPath", `{"version":"2.0","rawPath":"/crm","requestContext":{"stage":"prod","http":{"method":"POST"}}}`, "/crm"},
		{"v2 $default stage", `{"version":"2.0","rawPath":"/$default/crm","requestContext":{"stage":"$default","http":{"method":"POST"}}}`, "/$default/crm"},
		{"v2 http.path when rawPath missing", `{"version":"2.0","requestContext":{"http":{"method":"POST","path":"/crm"}}}`, "/crm"},
		{"function URL never strips", `{"version":"2.0","rawPath":"/prod/crm","requestContext":{"stage":"prod","domainName":"x.lambda-url.eu-west-1.on.aws","http":{"method":"POST"}}}`, "/prod/crm"},
		{"v1 literal resource strips base path", `{"httpMethod":"POST","path":"/a/b/crm","resource":"/crm"}`, "/crm"},
		{"v1 proxy resource expanded", `{"httpMethod":"POST","path":"/base/x/y","resource":"/{proxy+}","pathParameters":{"proxy":"x/y"}}`, "/x/y"},
		{"v1 templated resource expanded", `{"httpMethod":"POST","path":"/base/t/42/close","resource":"/t/{id}/close","pathParameters":{"id":"42"}}`, "/t/42/close"},
		{"v1 missing parameter keeps path", `{"httpMethod":"POST","path":"/base/t/42","resource":"/t/{id}"}`, "/base/t/42"},
		{"v1 unclosed template keeps path", `{"httpMethod":"POST","path":"/base/t/42","resource":"/t/{id"}`, "/base/t/42"},
		{"v1 resource not a suffix keeps path", `{"httpMethod":"POST","path":"/crm","resource":"/other"}`, "/crm"},
		{"v1 $default resource keeps path", `{"httpMethod":"POST","path":"/crm","resource":"$default"}`, "/crm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode([]byte(tt.event), Options{})
			if err != nil {
				t.Fatalf("Decode(%s) error: %v", tt.event, err)
			}
			if r.Path != tt.wantPath {
				t.Errorf("Decode(%s).Path = %q, want %q", tt.event, r.Path, tt.wantPath)
			}
		})
	}
}

func TestShapeString(t *testing.T) {
	tests := []struct {
		s    Shape
		want string
	}{
		{ShapeREST, "rest"}, {ShapeHTTP, "http"}, {ShapeFunctionURL, "function-url"}, {Shape(0), "Shape(0)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("Shape(%d).String() = %q, want %q", int(tt.s), got, tt.want)
		}
	}
}
