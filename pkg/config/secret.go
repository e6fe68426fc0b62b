package config

import "fmt"

// Secret is a configuration string that never prints: String, GoString, every fmt
// verb and text/JSON encoders show "[redacted]" (or "" when empty), so that a
// configuration logged by mistake leaks no password. Reveal returns the value.
type Secret string

// UnmarshalText sets the secret (caarlos0/env).
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

// Reveal returns the value, for the one place that sends it to a server.
func (s Secret) Reveal() string { return string(s) }

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString hides the value.
func (s Secret) GoString() string { return s.String() }

// Format hides the value in every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalText hides the value from JSON and text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
