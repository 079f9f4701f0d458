package vault

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret holds a sensitive string (token, code, verifier) that never prints:
// fmt (every verb), encoding/json, encoding.TextMarshaler users and slog all
// see "[redacted]". Use Reveal at the single point the value is needed.
type Secret struct {
	v string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the wrapped value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// String implements fmt.Stringer.
func (Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (Secret) GoString() string { return redacted }

// Format implements fmt.Formatter so no verb (%x, %q, %d, ...) reaches the
// value.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON implements json.Marshaler.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText implements encoding.TextMarshaler (YAML, XML, map keys).
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
