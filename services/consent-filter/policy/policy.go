package policy

import (
	"strings"

	"github.com/consentflow/consentflow/pkg/identity"
)

// Purpose holds the settings of one processing purpose (e.g. ai_training).
type Purpose struct {
	// Description is free text for humans.
	Description string
	// GPCDenies, when non-nil, overrides the policy-wide GPCDenies for this
	// purpose.
	GPCDenies *bool
}

// Policy is a parsed, validated consent policy. Build it with Parse, Load or
// Default; a Policy built by hand must pass Validate before use.
type Policy struct {
	// Version identifies the policy; it is recorded with every decision.
	Version string
	// Purposes lists the purposes the policy knows, by name.
	Purposes map[string]Purpose
	// DefaultRegime applies to missing or unknown jurisdictions.
	DefaultRegime Regime
	// Jurisdictions maps upper-case ISO 3166 codes ("DE", "US", "US-CA") to
	// their regime.
	Jurisdictions map[string]Regime
	// GPCDeniesDefault is the file's top-level gpc_denies: whether Sec-GPC: 1
	// counts as a denial (in an opt_out regime, for a user without a consent
	// record) unless a purpose overrides it. Query it through GPCDenies.
	GPCDeniesDefault bool
	// Identity says whether user ids and anonymous ids name a person within
	// their tenant (the default) or across tenants; see pkg/identity.
	Identity identity.Modes
}

// Regime returns the regime for a jurisdiction code: the exact code
// ("US-CA") if listed, else its country ("US") if listed, else
// DefaultRegime. Codes are matched case-insensitively and trimmed; an empty
// code gets DefaultRegime.
func (p *Policy) Regime(jurisdiction string) Regime {
	code := normalizeCode(jurisdiction)
	if code == "" {
		return p.DefaultRegime
	}
	if r, ok := p.Jurisdictions[code]; ok {
		return r
	}
	if country, _, found := strings.Cut(code, "-"); found {
		if r, ok := p.Jurisdictions[country]; ok {
			return r
		}
	}
	return p.DefaultRegime
}

// GPCDenies reports whether a GPC signal counts as a denial for purpose: the
// purpose's own setting when it has one, else the policy-wide setting
// (also for purposes the policy does not list).
func (p *Policy) GPCDenies(purpose string) bool {
	if pp, ok := p.Purposes[purpose]; ok && pp.GPCDenies != nil {
		return *pp.GPCDenies
	}
	return p.GPCDeniesDefault
}

// HasPurpose reports whether the policy lists purpose.
func (p *Policy) HasPurpose(purpose string) bool {
	_, ok := p.Purposes[purpose]
	return ok
}

func normalizeCode(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}
