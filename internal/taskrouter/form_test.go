package taskrouter

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// parseFormReference is ParseForm as url.ParseQuery plus the checks: the
// specification ParseForm's faster parser is compared with.
func parseFormReference(body []byte) (url.Values, bool) {
	if !utf8.Valid(body) {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, false
	}
	for k, v := range form {
		if len(v) > 1 || !utf8.ValidString(k) || !utf8.ValidString(v[0]) ||
			strings.IndexByte(k, 0) >= 0 || strings.IndexByte(v[0], 0) >= 0 {
			return nil, false
		}
	}
	return form, true
}

func checkParseForm(t *testing.T, body []byte) {
	t.Helper()
	want, wantOK := parseFormReference(body)
	got, err := ParseForm(body)
	if (err == nil) != wantOK {
		t.Fatalf("ParseForm(%q) error = %v, want error %v", body, err, !wantOK)
	}
	if err != nil {
		if _, ok := err.(*FieldError); !ok {
			t.Fatalf("ParseForm(%q) error = %T, want *FieldError", body, err)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseForm(%q) = %v, want %v", body, got, want)
	}
}

func TestParseFormMatchesParseQuery(t *testing.T) {
	tests := []struct{ name, body string }{
		{"task event", benchForm().Encode()},
		{"empty", ""},
		{"only separators", "&&&"},
		{"no value", "a&b=&=c"},
		{"plus and escapes", "a+b=c+d%20e%2B&%41=%42"},
		{"equals in value", "a=b=c"},
		{"repeated", "a=1&a=2"},
		{"repeated after unescape", "a=1&%61=2"},
		{"repeated then bad escape", "a=1&a=2&b=%zz"},
		{"bad escape", "a=%z"},
		{"semicolon", "a=1;b=2"},
		{"semicolon in value", "a=1%3Bb"},
		{"escaped invalid utf8", "a=%ff"},
		{"escaped nul", "a=%00"},
		{"nul in key", "%00=1"},
		{"too many fields", strings.Repeat("&", maxFormFields)},
		{"at the field limit", strings.Repeat("&", maxFormFields-1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkParseForm(t, []byte(tt.body)) })
	}
}

// FuzzParseForm is the differential test of ParseForm against
// url.ParseQuery.
func FuzzParseForm(f *testing.F) {
	f.Add([]byte(benchForm().Encode()))
	f.Add([]byte("a=1&b=%zz;&&c=%ff&d=a+b"))
	f.Fuzz(func(t *testing.T, body []byte) { checkParseForm(t, body) })
}
