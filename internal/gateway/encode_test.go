package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestEncodeExact(t *testing.T) {
	tests := []struct {
		name string
		in   Response
		want string
	}{
		{
			name: "no content",
			in:   Response{Status: 204},
			want: `{"statusCode":204,"headers":{},"body":"","isBase64Encoded":false}`,
		},
		{
			name: "headers sorted, JSON body escaped",
			in: Response{
				Status: 422,
				Header: map[string]string{"X-Request-Id": "abc", "Content-Type": "application/json"},
				Body:   []byte(`{"error":"bad \"status\"","field":"status"}` + "\n"),
			},
			want: `{"statusCode":422,"headers":{"Content-Type":"application/json","X-Request-Id":"abc"},` +
				`"body":"{\"error\":\"bad \\\"status\\\"\",\"field\":\"status\"}\n","isBase64Encoded":false}`,
		},
		{
			name: "control characters and non-ASCII",
			in:   Response{Status: 200, Body: []byte("a\tb\r\x00\x1f\\é€")},
			want: `{"statusCode":200,"headers":{},"body":"a\tb\r\u0000\u001f\\é€","isBase64Encoded":false}`,
		},
		{
			name: "invalid UTF-8 body sent as base64",
			in:   Response{Status: 200, Header: map[string]string{"Content-Type": "application/octet-stream"}, Body: []byte{0xff, 0x00, 'a'}},
			want: `{"statusCode":200,"headers":{"Content-Type":"application/octet-stream"},"body":"/wBh","isBase64Encoded":true}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.in)
			if err != nil {
				t.Fatalf("Encode(%+v) error: %v", tt.in, err)
			}
			if string(got) != tt.want {
				t.Errorf("Encode(%+v) =\n%s\nwant\n%s", tt.in, got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("Encode(%+v) is not valid JSON: %s", tt.in, got)
			}
		})
	}
}

// TestEncodeRoundTrip decodes the output with each aws-lambda-go response
// type, as the Lambda runtime's callers would.
func TestEncodeRoundTrip(t *testing.T) {
	responses := []struct {
		name string
		r    Response
	}{
		{"ok JSON", Response{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: []byte(`{"closed":true}`)}},
		{"empty", Response{Status: 204}},
		{"unicode and escapes", Response{Status: 400, Header: map[string]string{"X-Note": "café\t\"q\""}, Body: []byte("line1\nline2 \u2028 <&> \\")}},
		{"binary", Response{Status: 200, Body: []byte{0, 1, 2, 0xfe, 0xff}}},
		{"many headers", Response{Status: 503, Header: map[string]string{"Retry-After": "1", "A": "", "Z-Last": "z", "Cache-Control": "no-store"}}},
	}
	for _, tt := range responses {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Encode(tt.r)
			if err != nil {
				t.Fatalf("Encode(%+v) error: %v", tt.r, err)
			}
			wantHeader := tt.r.Header
			if wantHeader == nil {
				wantHeader = map[string]string{}
			}
			body := func(s string, b64 bool) []byte {
				if !b64 {
					return []byte(s)
				}
				b, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					t.Fatalf("body %q: %v", s, err)
				}
				return b
			}
			check := func(kind string, status int, header map[string]string, got []byte) {
				t.Helper()
				if status != tt.r.Status || !reflect.DeepEqual(header, wantHeader) || string(got) != string(tt.r.Body) {
					t.Errorf("%s from Encode(%+v) = {%d %v %q}", kind, tt.r, status, header, got)
				}
			}

			var v2 events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(out, &v2); err != nil {
				t.Fatalf("APIGatewayV2HTTPResponse: %v", err)
			}
			check("APIGatewayV2HTTPResponse", v2.StatusCode, v2.Headers, body(v2.Body, v2.IsBase64Encoded))

			var v1 events.APIGatewayProxyResponse
			if err := json.Unmarshal(out, &v1); err != nil {
				t.Fatalf("APIGatewayProxyResponse: %v", err)
			}
			check("APIGatewayProxyResponse", v1.StatusCode, v1.Headers, body(v1.Body, v1.IsBase64Encoded))

			var fu events.LambdaFunctionURLResponse
			if err := json.Unmarshal(out, &fu); err != nil {
				t.Fatalf("LambdaFunctionURLResponse: %v", err)
			}
			check("LambdaFunctionURLResponse", fu.StatusCode, fu.Headers, body(fu.Body, fu.IsBase64Encoded))
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   Response
	}{
		{"zero status", Response{}},
		{"status too low", Response{Status: 99}},
		{"status too high", Response{Status: 600}},
		{"empty header name", Response{Status: 200, Header: map[string]string{"": "x"}}},
		{"space in header name", Response{Status: 200, Header: map[string]string{"Content Type": "x"}}},
		{"colon in header name", Response{Status: 200, Header: map[string]string{"X:Y": "x"}}},
		{"non-ASCII header name", Response{Status: 200, Header: map[string]string{"Ünicode": "x"}}},
		{"CRLF in header value", Response{Status: 200, Header: map[string]string{"Location": "/a\r\nSet-Cookie: x=1"}}},
		{"NUL in header value", Response{Status: 200, Header: map[string]string{"X": "a\x00"}}},
		{"DEL in header value", Response{Status: 200, Header: map[string]string{"X": "a\x7f"}}},
		{"invalid UTF-8 header value", Response{Status: 200, Header: map[string]string{"X": "\xff"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.in)
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("Encode(%+v) = %s, %v; want error %v", tt.in, got, err, ErrBadResponse)
			}
		})
	}
}
