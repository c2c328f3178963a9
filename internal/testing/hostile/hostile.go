// Package hostile is a corpus of hostile input for flexhook's security
// tests: stand-ins for Twilio SIDs that must never reach a Twilio URL,
// JSON built to exhaust a parser and oversized bodies.
// The in-process hostile table (internal/webhook) and its subset under the
// Lambda emulator (functions/webhook) draw from the same values, so both
// prove the same claims.
//
// A SID is a two-letter prefix and 32 hexadecimal digits
// (https://www.twilio.com/docs/glossary/what-is-a-sid); every value SIDs
// returns differs from that in one way an attacker might try: path
// traversal, an encoded slash, a Unicode look-alike, a wrong prefix or
// length.
package hostile

import (
	"bytes"
	"fmt"
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
	return strings.NewReplacer("A", "А", "C", "С", "K", "К", "O", "О", "T", "Т", "S", "Ѕ", "W", "Ԝ", "D", "Ꭰ", "U", "Ս").Replace(s)
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
	b := bytes.Repeat([]byte("a"), n)
	if n >= 2 {
		b[1] = '='
	}
	return b
}
