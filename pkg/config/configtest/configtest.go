// Package configtest checks how a service's configuration (pkg/config)
// accepts and refuses the values of one variable, for the services' tests.
package configtest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/config"
)

// Values loads a fresh C from env plus name=value for each value, in a
// subtest named by the value ("" leaves the variable unset: its default).
// Each accepted value must load, with field(&c) equal to its want (nil: not
// checked); each refused value must fail with an error naming the variable.
func Values[C any](t *testing.T, env map[string]string, name string, field func(*C) any, accepted map[string]any, refused ...string) {
	t.Helper()
	for _, v := range slices.Sorted(maps.Keys(accepted)) {
		t.Run(v, func(t *testing.T) {
			if err := check(env, name, field, v, true, accepted[v]); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, v := range refused {
		t.Run(v, func(t *testing.T) {
			if err := check(env, name, field, v, false, nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// check is one value of Values: nil when the configuration accepts it (ok,
// loading want) or refuses it as said.
func check[C any](env map[string]string, name string, field func(*C) any, value string, ok bool, want any) error {
	e := maps.Clone(env)
	if e == nil {
		e = map[string]string{}
	}
	if value != "" {
		e[name] = value
	}
	var c C
	err := config.LoadFrom(&c, e)
	switch {
	case ok && err != nil:
		return fmt.Errorf("%s=%q refused: %w", name, value, err)
	case ok && want != nil:
		if got := field(&c); got != want {
			return fmt.Errorf("%s=%q loads as %v, want %v", name, value, got, want)
		}
	case !ok && err == nil:
		return fmt.Errorf("%s=%q accepted", name, value)
	case !ok && !strings.Contains(err.Error(), name):
		return fmt.Errorf("%s=%q refused without naming the variable: %w", name, value, err)
	}
	return nil
}
