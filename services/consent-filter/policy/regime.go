package policy

import "fmt"

// Regime is the consent regime of a jurisdiction.
type Regime string

const (
	// OptIn means an event needs the user's recorded grant to be used.
	OptIn Regime = "opt_in"
	// OptOut means an event may be used unless the user (or their tenant, or
	// a GPC signal where it counts) said no.
	OptOut Regime = "opt_out"
)

// Valid reports whether r is one of OptIn or OptOut.
func (r Regime) Valid() bool { return r == OptIn || r == OptOut }

// String returns the regime's name as written in the policy file.
func (r Regime) String() string { return string(r) }

// ParseRegime returns the Regime named s, or an error naming the accepted values.
func ParseRegime(s string) (Regime, error) {
	r := Regime(s)
	if !r.Valid() {
		return "", fmt.Errorf("unknown regime %q (want %q or %q)", s, OptIn, OptOut)
	}
	return r, nil
}
