// Package hostile is a corpus of hostile input for flexhook's security
// tests: stand-ins for Twilio SIDs that must never reach a Twilio URL,
// JSON built to exhaust a parser, oversized bodies and fuzz seed files.
// The in-process hostile table (internal/webhook) and its subset under the
// Lambda emulator (functions/webhook) draw from the same values, so both
// prove the same claims.
//
// A SID is a two-letter prefix and 32 hexadecimal digits
// (https://www.twilio.com/docs/glossary/what-is-a-sid); every value SIDs
// returns differs from that in one way an attacker might try: path
// traversal, an encoded slash, a Unicode look-alike, a wrong prefix or
// length. Fuzz seed files use the go test fuzz v1 format
// (https://go.dev/doc/security/fuzz/#corpus-file-format).
package hostile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Value is a named hostile stand-in for a field.
type Value struct {
	// Name says what is wrong with Value, for test names.
	Name string
	// Value is the hostile text.
	Value string
}

// SIDs returns hostile variants of valid, a well-formed SID such as
// "UO0123456789abcdef0123456789abcdef". None of them is a valid SID of
// valid's type. It panics if valid is not 34 bytes long.
func SIDs(valid string) []Value {
	if len(valid) != 34 {
		panic(fmt.Sprintf("hostile.SIDs(%q): not a 34-byte SID", valid))
	}
	prefix, hex := valid[:2], valid[2:]
	other := "AC"
	if prefix == "AC" {
		other = "WS"
	}
	return []Value{
		{"wrong prefix", other + hex},
		{"lower-case prefix", strings.ToLower(prefix) + hex},
		{"too short", valid[:33]},
		{"too long", valid + "0"},
		{"non-hex digit", prefix + "g" + hex[1:]},
		{"path traversal", prefix + "/../../../Accounts/" + hex[:14]},
		{"dot segments", prefix + strings.Repeat(".", 32)},
		{"encoded slash", prefix + "%2F..%2F" + hex[:24]},
		{"encoded slash lower", prefix + "%2f" + hex[:29]},
		{"query injection", prefix + hex[:16] + "?Status=x&" + hex[:6]},
		{"fragment injection", prefix + hex[:31] + "#"},
		{"CRLF", prefix + hex[:30] + "\r\nX:"},
		{"NUL byte", prefix + hex[:31] + "\x00"},
		{"space padded", " " + valid},
		{"fullwidth digits", prefix + "０" + hex[1:]},
		{"Cyrillic look-alike prefix", lookalike(prefix) + hex},
		{"empty", ""},
	}
}

// lookalike replaces the Latin capitals of s with letters of other
// scripts that render the same: Cyrillic А С К О Т Ѕ Ԝ, Cherokee Ꭰ,
// Armenian Ս.
func lookalike(s string) string {
	m := map[rune]rune{'A': 'А', 'C': 'С', 'K': 'К', 'O': 'О', 'T': 'Т', 'S': 'Ѕ', 'W': 'Ԝ', 'D': 'Ꭰ', 'U': 'Ս'}
	return strings.Map(func(r rune) rune {
		if l, ok := m[r]; ok {
			return l
		}
		return r
	}, s)
}

// Nested returns a JSON array nested depth levels deep: "[[[…]]]".
func Nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// NestedObject returns a JSON object nested depth levels deep under key,
// with the innermost value 1: {"key":{"key":…1…}}.
func NestedObject(key string, depth int) string {
	return strings.Repeat(`{"`+key+`":`, depth) + "1" + strings.Repeat("}", depth)
}

// HugeNumber is a JSON number far beyond float64 and int64.
const HugeNumber = "1" + "00000000000000000000000000000000000000000000000000" + "e999999999"

// Body returns n bytes of a form body, "a=aaaa…", for size limits.
func Body(n int) []byte {
	if n < 2 {
		return bytes.Repeat([]byte("a"), n)
	}
	b := bytes.Repeat([]byte("a"), n)
	b[1] = '='
	return b
}

// WriteSeed writes a fuzz seed file dir/name holding vals in the go test
// fuzz v1 format, creating dir if needed. vals may be string, []byte,
// bool, byte, int, int64, uint16, uint32 or uint64 values, in the order of
// the fuzz function's arguments.
func WriteSeed(dir, name string, vals ...any) error {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch t := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%q)\n", t)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", t)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", t)
		case bool, int, int64, uint16, uint32, uint64:
			fmt.Fprintf(&b, "%T(%v)\n", t, t)
		default:
			return fmt.Errorf("hostile.WriteSeed: unsupported type %T", v)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644)
}
