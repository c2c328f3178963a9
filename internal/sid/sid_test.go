package sid

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValid(t *testing.T) {
	hex32 := strings.Repeat("0123456789abcdef", 2)
	tests := []struct {
		name, prefix, in string
		want             bool
	}{
		{"interaction", Interaction, "KD" + hex32, true},
		{"upper hex", Channel, "UO" + strings.ToUpper(hex32), true},
		{"wrong prefix", Channel, "KD" + hex32, false},
		{"lower-case prefix", Channel, "uo" + hex32, false},
		{"short", Channel, "UO" + hex32[1:], false},
		{"long", Channel, "UO" + hex32 + "0", false},
		{"non-hex", Channel, "UO" + hex32[1:] + "g", false},
		{"empty", Channel, "", false},
		{"path traversal", Channel, "UO" + hex32[6:] + "/../..", false},
		{"encoded slash", Channel, "UO" + hex32[3:] + "%2F", false},
		{"fullwidth digit", Channel, "UO" + hex32[3:] + "\uff10", false},
		{"cyrillic prefix", Channel, "\u0423O" + hex32[1:], false},
		{"null byte", Channel, "UO" + hex32[1:] + "\x00", false},
		{"bad prefix arg", "U", "UO" + hex32, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Valid(tt.prefix, tt.in); got != tt.want {
				t.Errorf("Valid(%q, %q) = %v, want %v", tt.prefix, tt.in, got, tt.want)
			}
		})
	}
}

// FuzzValid checks Valid against the documented regular expression.
func FuzzValid(f *testing.F) {
	f.Add("UO", "UO0123456789abcdef0123456789abcdef")
	f.Add("KD", "KD0123456789abcdef0123456789abcdeg")
	f.Fuzz(func(t *testing.T, prefix, s string) {
		if len(prefix) != 2 || !utf8.ValidString(prefix) {
			return // prefixes are constants; a regexp cannot spell invalid UTF-8
		}
		re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9a-fA-F]{32}$")
		if got, want := Valid(prefix, s), re.MatchString(s); got != want {
			t.Fatalf("Valid(%q, %q) = %v, regexp says %v", prefix, s, got, want)
		}
	})
}
