package policy

import (
	_ "embed"
	"fmt"
)

//go:embed default.yaml
var defaultYAML []byte

// Default returns the built-in policy (see default.yaml): EU/EEA, GB, CH, BR
// and a few others opt_in; US opt_out with US-CA opt_out; GPC denies; unknown
// jurisdictions opt_in; purposes ai_training and product_analytics. Every call
// returns a fresh copy.
func Default() *Policy {
	p, err := Parse(defaultYAML)
	if err != nil {
		// The embedded file is tested; this is a build defect, not a runtime condition.
		panic(fmt.Sprintf("policy: built-in default is invalid: %v", err))
	}
	return p
}

// DefaultYAML returns the text of the built-in policy, e.g. for a
// `print-default-policy` command that platform teams start their file from.
func DefaultYAML() []byte {
	return append([]byte(nil), defaultYAML...)
}
