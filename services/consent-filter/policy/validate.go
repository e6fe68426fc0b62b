package policy

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
)

var (
	// ISO 3166-1 alpha-2, optionally followed by an ISO 3166-2 subdivision.
	codePattern = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)
	// Purpose names end up in Redis keys, channel names and topic headers.
	purposePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)
)

// Validate checks p and returns all problems joined, each naming its field:
// version must be non-empty, at least one purpose must be listed and every
// purpose name must match ^[a-z][a-z0-9_.-]{0,63}$, default_regime and every
// jurisdiction regime must be opt_in or opt_out, and every jurisdiction code
// must be an upper-case ISO 3166 code (DE, US-CA).
func (p *Policy) Validate() error {
	var errs []error
	if p.Version == "" {
		errs = append(errs, errors.New("version: required"))
	}
	if len(p.Purposes) == 0 {
		errs = append(errs, errors.New("purposes: at least one purpose is required"))
	}
	for _, name := range sortedKeys(p.Purposes) {
		if !purposePattern.MatchString(name) {
			errs = append(errs, fmt.Errorf("purposes.%s: invalid name (want %s)", name, purposePattern))
		}
	}
	if !p.DefaultRegime.Valid() {
		errs = append(errs, fmt.Errorf("default_regime: unknown regime %q (want %q or %q)", p.DefaultRegime, OptIn, OptOut))
	}
	for _, code := range sortedKeys(p.Jurisdictions) {
		if !codePattern.MatchString(code) {
			errs = append(errs, fmt.Errorf("jurisdictions.%s: invalid code (want ISO 3166 like DE or US-CA)", code))
		}
		if r := p.Jurisdictions[code]; !r.Valid() {
			errs = append(errs, fmt.Errorf("jurisdictions.%s: unknown regime %q (want %q or %q)", code, r, OptIn, OptOut))
		}
	}
	if !p.Identity.UserIDs.Valid() {
		errs = append(errs, fmt.Errorf("identity.user_ids: %q (want tenant or global)", p.Identity.UserIDs))
	}
	if !p.Identity.AnonymousIDs.Valid() {
		errs = append(errs, fmt.Errorf("identity.anonymous_ids: %q (want tenant or global)", p.Identity.AnonymousIDs))
	}
	if len(errs) > 0 {
		return fmt.Errorf("policy: invalid: %w", errors.Join(errs...))
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
