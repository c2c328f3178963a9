package gateway

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkDecodeEvent fails t unless decodeEvent and json.Unmarshal agree on
// payload: both fail, or both succeed with equal events.
func checkDecodeEvent(t *testing.T, payload []byte) {
	t.Helper()
	var want, got event
	wantErr := json.Unmarshal(payload, &want)
	gotErr := decodeEvent(payload, &got)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("decodeEvent(%q) error = %v, json.Unmarshal error = %v", payload, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	// The header list builds the same http.Header as the map would.
	if h, wantH := singleValueHeaderList(got.headerList), singleValueHeader(want.Headers); !reflect.DeepEqual(h, wantH) {
		t.Fatalf("decodeEvent(%q) headers = %v, want %v", payload, h, wantH)
	}
	if got.headersSet {
		got.Headers = headerMap(got.headerList)
	}
	got.headerList, got.headersSet = nil, false
	if wantErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeEvent(%q) = %+v, json.Unmarshal = %+v", payload, got, want)
	}
}

func TestDecodeEventMatchesEncodingJSON(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxNestingDepth-1) + "1" + strings.Repeat("}", maxNestingDepth-1)
	tooDeep := strings.Repeat("[", maxNestingDepth) + strings.Repeat("]", maxNestingDepth)
	tests := []struct{ name, payload string }{
		{"empty", ``},
		{"space", "  \n"},
		{"null", `null`},
		{"array", `[]`},
		{"string", `"x"`},
		{"number", `12`},
		{"trailing data", `{} {}`},
		{"trailing comma", `{"version":"2.0",}`},
		{"unquoted key", `{version:"2.0"}`},
		{"case-insensitive keys", `{"VERSION":"2.0","RequestContext":{"HTTP":{"Method":"POST"}},"rawpath":"/x"}`},
		{"kelvin and dotless i", "{\"\u212aey\":1,\"\u0131sBase64Encoded\":true,\"pat\u0131\":1}"},
		{"escaped key", `{"\u0076ersion":"2.0"}`},
		{"escaped values", `{"body":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800x","headers":{"k\u0000":"v\u2028"}}`},
		{"invalid utf8", "{\"body\":\"a\xffb\",\"headers\":{\"\xfe\":\"\xc3\"}}"},
		{"valid utf8", `{"body":"héllo ✓"}`},
		{"control char", "{\"body\":\"a\x01b\"}"},
		{"bad escape", `{"body":"\x"}`},
		{"short unicode escape", `{"body":"\u12"}`},
		{"null fields", `{"version":null,"headers":null,"cookies":null,"requestContext":null,"isBase64Encoded":null}`},
		{"null map values", `{"headers":{"a":null,"b":"x"},"multiValueHeaders":{"a":null,"b":["x",null],"c":[]}}`},
		{"duplicate maps merge", `{"headers":{"a":"1"},"headers":{"b":"2"},"headers":{"a":"3"}}`},
		{"map cleared by null", `{"headers":{"a":"1"},"headers":null,"headers":{"b":"2"}}`},
		{"map null at the end", `{"headers":{"a":"1"},"headers":null}`},
		{"empty headers", `{"headers":{}}`},
		{"header names equal after canonicalization", `{"headers":{"content-type":"a","Content-Type":"b","x-a":"1","x-a":"2"}}`},
		{"repeated header name", `{"headers":{"x-a":"1","x-a":"2"}}`},
		{"duplicate structs merge", `{"requestContext":{"requestId":"r"},"requestContext":{"stage":"s","http":{"method":"GET"}},"requestContext":{"http":{"path":"/p"}}}`},
		{"cookies reuse backing array", `{"cookies":["a","b","c"],"cookies":[null,"y"],"cookies":[null,null,null]}`},
		{"empty cookies", `{"cookies":["a"],"cookies":[]}`},
		{"wrong types", `{"version":2,"headers":{"a":1},"isBase64Encoded":"true","cookies":"x","requestContext":[]}`},
		{"wrong type then valid", `{"version":2,"httpMethod":"GET","path":"/"}`},
		{"numbers", `{"x":[0,-0,1.5,-2e10,3E+2,4e-1],"y":{"z":[true,false,null]}}`},
		{"bad numbers", `{"x":01}`},
		{"bad fraction", `{"x":1.}`},
		{"bad exponent", `{"x":1e}`},
		{"minus alone", `{"x":-}`},
		{"bad literal", `{"x":tru}`},
		{"literal with suffix", `{"x":truex}`},
		{"unterminated string", `{"body":"abc`},
		{"unterminated object", `{"body":"abc"`},
		{"deep but allowed", deep},
		{"too deep", `{"x":` + tooDeep + `}`},
		{"bom", "\xef\xbb\xbf{}"},
		{"high byte outside string", "{\"x\":\xff}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkDecodeEvent(t, []byte(tt.payload)) })
	}
}

// Every sample event decodes identically.
func TestDecodeEventSamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) { checkDecodeEvent(t, b) })
	}
}

// FuzzDecodeEvent is the differential test of decodeEvent against
// encoding/json.
func FuzzDecodeEvent(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"cookies":["a","b"],"cookies":[null],"Headers":{"A":null},"requestContext":{"http":null}}`))
	f.Fuzz(func(t *testing.T, payload []byte) { checkDecodeEvent(t, payload) })
}

func TestCanonicalHeaderKey(t *testing.T) {
	for lower, want := range commonHeaders {
		if got := http.CanonicalHeaderKey(lower); got != want {
			t.Errorf("http.CanonicalHeaderKey(%q) = %q, but commonHeaders says %q", lower, got, want)
		}
	}
	for _, k := range []string{"x-custom-header", "X-Twilio-Signature", "content-type", "weird key"} {
		if got, want := canonicalHeaderKey(k), http.CanonicalHeaderKey(k); got != want {
			t.Errorf("canonicalHeaderKey(%q) = %q, want %q", k, got, want)
		}
	}
}
