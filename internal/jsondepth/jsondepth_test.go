package jsondepth

import (
	"strings"
	"testing"
)

func TestExceeds(t *testing.T) {
	for _, tc := range []struct {
		doc   string
		limit int
		want  bool
	}{
		{``, 0, false},
		{`1`, 0, false},
		{`{}`, 0, true},
		{`{}`, 1, false},
		{`{"a":[{"b":1}]}`, 3, false},
		{`{"a":[{"b":1}]}`, 2, true},
		{`["[[[[", "\"[[["]`, 1, false}, // brackets in strings, escaped quote
		{`[][][]`, 1, false},            // siblings do not nest
		{strings.Repeat("[", 33) + strings.Repeat("]", 33), 32, true},
		{strings.Repeat("[", 32) + strings.Repeat("]", 32), 32, false},
	} {
		if got := Exceeds(tc.doc, tc.limit); got != tc.want {
			t.Errorf("Exceeds(%q, %d) = %v, want %v", tc.doc, tc.limit, got, tc.want)
		}
		if got := Exceeds([]byte(tc.doc), tc.limit); got != tc.want {
			t.Errorf("Exceeds([]byte(%q), %d) = %v, want %v", tc.doc, tc.limit, got, tc.want)
		}
	}
}
