package hostile

import (
	"encoding/json"
	"os"
	"path/filepath"
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

func TestWriteSeed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "FuzzX")
	if err := WriteSeed(dir, "s", "a\"b", []byte{0, 0xff}, true, byte('x'), uint16(443)); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	want := "go test fuzz v1\nstring(\"a\\\"b\")\n[]byte(\"\\x00\\xff\")\nbool(true)\nbyte('x')\nuint16(443)\n"
	if string(got) != want {
		t.Errorf("WriteSeed wrote %q, want %q", got, want)
	}
	if err := WriteSeed(dir, "bad", 1.5); err == nil {
		t.Errorf("WriteSeed(float64) = nil, want an error")
	}
}
