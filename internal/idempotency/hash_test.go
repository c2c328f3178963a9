package idempotency

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"
)

func TestPayloadHashSeparatesParts(t *testing.T) {
	tests := []struct {
		name string
		a, b []string
	}{
		{name: "boundary moved", a: []string{"ab", "c"}, b: []string{"a", "bc"}},
		{name: "no parts vs one empty part", a: nil, b: []string{""}},
		{name: "trailing empty part", a: []string{"a"}, b: []string{"a", ""}},
		{name: "order", a: []string{"WT1", "UO1"}, b: []string{"UO1", "WT1"}},
		{name: "length bytes in content", a: []string{"\x00\x00\x00\x00\x00\x00\x00\x01a"}, b: []string{"", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if ha, hb := PayloadHash(tt.a...), PayloadHash(tt.b...); ha == hb {
				t.Errorf("PayloadHash(%q) = PayloadHash(%q) = %s, want different hashes", tt.a, tt.b, ha)
			}
		})
	}
}

func TestPayloadHashEncoding(t *testing.T) {
	// Each part is its length as 8 big-endian bytes, then its bytes.
	var msg []byte
	msg = append(msg, 0, 0, 0, 0, 0, 0, 0, 2)
	msg = append(msg, "ab"...)
	msg = append(msg, 0, 0, 0, 0, 0, 0, 0, 1)
	msg = append(msg, "c"...)
	sum := sha256.Sum256(msg)
	want := hex.EncodeToString(sum[:])
	if got := PayloadHash("ab", "c"); got != want {
		t.Errorf("PayloadHash(%q, %q) = %s, want %s", "ab", "c", got, want)
	}
	if got := PayloadHash("ab", "c"); !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(got) {
		t.Errorf("PayloadHash(%q, %q) = %q, want 64 lowercase hex digits", "ab", "c", got)
	}
}

func BenchmarkPayloadHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		PayloadHash("task.completed", "WT0123456789abcdef0123456789abcdef", "KD0123456789abcdef0123456789abcdef", "UO0123456789abcdef0123456789abcdef")
	}
}
