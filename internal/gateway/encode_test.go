package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestEncodeShapes checks that each event shape is answered with the
// fields of its aws-lambda-go response type, and that bodies, escapes and
// binary data survive.
func TestEncodeShapes(t *testing.T) {
	tests := []struct {
		shape Shape
		keys  []string // the JSON members the response type has
	}{
		{0, []string{"statusCode", "headers", "multiValueHeaders", "body", "cookies"}},
		{ShapeHTTP, []string{"statusCode", "headers", "multiValueHeaders", "body", "cookies"}},
		{ShapeREST, []string{"statusCode", "headers", "multiValueHeaders", "body"}},
		{ShapeFunctionURL, []string{"statusCode", "headers", "body", "isBase64Encoded", "cookies"}},
	}
	in := Response{
		Status: 422,
		Header: map[string]string{"X-Request-Id": "abc", "Content-Type": "application/json"},
		Body:   []byte(`{"error":"bad \"status\"","note":"a\tb\r\u0000 é€ <&>"}` + "\n"),
	}
	for _, tt := range tests {
		t.Run(tt.shape.String(), func(t *testing.T) {
			in := in
			in.Shape = tt.shape
			out, err := Encode(in)
			if err != nil {
				t.Fatalf("Encode(%+v) error: %v", in, err)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("Encode(%+v) = %s, not a JSON object: %v", in, out, err)
			}
			got := slices.Sorted(maps.Keys(doc))
			if want := slices.Sorted(slices.Values(tt.keys)); !slices.Equal(got, want) {
				t.Errorf("Encode(shape %v) members = %q, want %q", tt.shape, got, want)
			}
			var r struct {
				StatusCode int               `json:"statusCode"`
				Headers    map[string]string `json:"headers"`
				Body       string            `json:"body"`
			}
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatal(err)
			}
			if r.StatusCode != in.Status || !reflect.DeepEqual(r.Headers, in.Header) || r.Body != string(in.Body) {
				t.Errorf("Encode(%+v) = %s", in, out)
			}
		})
	}
	// A nil header is an empty object, and a body that is not UTF-8 goes
	// base64.
	out, err := Encode(Response{Status: 200, Body: []byte{0xff, 0x00, 'a'}})
	if err != nil {
		t.Fatal(err)
	}
	var v2 events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &v2); err != nil || v2.Headers == nil || v2.Body != "/wBh" || !v2.IsBase64Encoded {
		t.Errorf("Encode(binary body) = %s, %v; want headers {}, body /wBh, isBase64Encoded", out, err)
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
			for _, shape := range []Shape{0, ShapeREST, ShapeHTTP, ShapeFunctionURL} {
				tt.r.Shape = shape
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
			}
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
