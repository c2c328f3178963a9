package secrets

import (
	"fmt"
	"log/slog"
)

// Redacted is what every printed form of a Value shows.
const Redacted = "REDACTED"

// Value holds a secret string. Its String, GoString, Format, LogValue,
// MarshalJSON and MarshalText forms are all Redacted; only Reveal returns the
// secret, so a Value cannot leak through fmt, log/slog or encoding/json by
// accident.
type Value struct {
	s string
}

// NewValue wraps s.
func NewValue(s string) Value { return Value{s: s} }

// Reveal returns the secret itself. Call it only where the secret is used.
func (v Value) Reveal() string { return v.s }

// IsZero reports whether v holds the empty string.
func (v Value) IsZero() bool { return v.s == "" }

// Equal reports whether v and w hold the same secret.
func (v Value) Equal(w Value) bool { return v.s == w.s }

// String implements fmt.Stringer.
func (Value) String() string { return Redacted }

// GoString implements fmt.GoStringer.
func (Value) GoString() string { return "secrets.Value{" + Redacted + "}" }

// Format implements fmt.Formatter so that every verb, including %x and %q,
// prints Redacted.
func (Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue implements slog.LogValuer.
func (Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON implements json.Marshaler.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler.
func (Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
