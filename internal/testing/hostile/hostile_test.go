package hostile

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/sid"
)

func TestSIDsAreAllInvalid(t *testing.T) {
	for _, valid := range []string{
		"KD0123456789abcdef0123456789abcdef", "UO0123456789abcdef0123456789abcdef",
		"WT0123456789abcdef0123456789abcdef", "WS0123456789abcdef0123456789abcdef",
		"AC0123456789abcdef0123456789abcdef",
	} {
		if !sid.Valid(valid[:2], valid) {
			t.Fatalf("sid.Valid(%q, %q) = false for the valid SID", valid[:2], valid)
		}
		seen := map[string]bool{}
		for _, v := range SIDs(valid) {
			if sid.Valid(valid[:2], v.Value) {
				t.Errorf("SIDs(%q) %s = %q is a valid %s SID", valid, v.Name, v.Value, valid[:2])
			}
			if seen[v.Value] {
				t.Errorf("SIDs(%q) repeats %q", valid, v.Value)
			}
			seen[v.Value] = true
		}
	}
}

func TestLookalikeLooksAlike(t *testing.T) {
	for _, p := range []string{"AC", "KD", "UO", "WT", "WS"} {
		l := lookalike(p)
		if l == p || strings.ContainsAny(l, "ACDKOSTUW") {
			t.Errorf("lookalike(%q) = %q, want no Latin capitals", p, l)
		}
	}
}

func TestNested(t *testing.T) {
	if got := Nested(3); got != "[[[]]]" {
		t.Errorf("Nested(3) = %q, want [[[]]]", got)
	}
	var v any
	if err := json.Unmarshal([]byte(NestedObject("a", 3)), &v); err != nil {
		t.Errorf("NestedObject(a, 3) = %q: %v", NestedObject("a", 3), err)
	}
	if err := json.Unmarshal([]byte(HugeNumber), &v); err == nil {
		t.Errorf("HugeNumber decodes as a float64: %v", v)
	}
	if b := Body(10); len(b) != 10 || string(b[:2]) != "a=" {
		t.Errorf("Body(10) = %q", b)
	}
}
