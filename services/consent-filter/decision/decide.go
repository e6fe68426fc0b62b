package decision

import "github.com/consentflow/consentflow/services/consent-filter/policy"

// Decision is the outcome for one event.
type Decision struct {
	// Allow is true only for AllowedConsent and AllowedOptOutRegime.
	Allow bool
	// Reason names the rule that decided.
	Reason Reason
	// ConsentVersion is the Version of the record the decision rested on
	// (the tenant's for tenant_* reasons, the user's for user_opt_out,
	// consent_after_event and allowed_consent); empty for decisions resting
	// on the regime alone (allowed_opt_out_regime, gpc, no_consent).
	ConsentVersion string
	// PolicyVersion is the Version of the policy used; empty only when no
	// policy was given.
	PolicyVersion string
	// Regime is the regime that applied to the event's jurisdiction; empty
	// when no policy was given.
	Regime policy.Regime
}

// Decide applies the consent rules (see the package doc) to in under pol.
//
// pol should be a validated policy that lists in.Purpose (the caller checks
// HasPurpose once at start); Decide does not reject unlisted purposes, it
// falls back to the policy-wide GPC setting for them. A nil pol fails
// closed: deny no_consent with an empty PolicyVersion.
func Decide(pol *policy.Policy, in Input) Decision {
	if pol == nil {
		return deny(NoConsent, "", "", "")
	}
	regime := pol.Regime(in.Jurisdiction)
	pv := pol.Version

	// Rule 1: the tenant can only take away, never give.
	if t := in.Tenant; t != nil {
		if t.Status != Granted {
			return deny(TenantOptOut, t.Version, pv, regime)
		}
		if t.EffectiveAt.After(in.ReceivedAt) {
			return deny(TenantConsentAfterEvent, t.Version, pv, regime)
		}
	}

	// Rule 2: the subject's own denial.
	if u := in.User; u != nil && u.Status != Granted {
		return deny(UserOptOut, u.Version, pv, regime)
	}
	// Rule 2a: a subject whose links are not all known cannot be cleared.
	if in.TooManyLinks {
		return deny(LinkLimit, "", pv, regime)
	}
	// Rule 2b: linked subjects, like the tenant, can only take away.
	for _, l := range in.Linked {
		if l != nil && l.Status != Granted {
			return deny(LinkedOptOut, l.Version, pv, regime)
		}
	}
	for _, l := range in.Linked {
		if l != nil && l.EffectiveAt.After(in.ReceivedAt) {
			return deny(LinkedConsentAfterEvent, l.Version, pv, regime)
		}
	}

	if u := in.User; u != nil {
		// Rule 3.
		if u.EffectiveAt.After(in.ReceivedAt) {
			return deny(ConsentAfterEvent, u.Version, pv, regime)
		}
		return Decision{Allow: true, Reason: AllowedConsent, ConsentVersion: u.Version, PolicyVersion: pv, Regime: regime}
	}

	// Rule 4.
	if regime == policy.OptOut {
		if in.GPC && pol.GPCDenies(in.Purpose) {
			return deny(GPC, "", pv, regime)
		}
		return Decision{Allow: true, Reason: AllowedOptOutRegime, PolicyVersion: pv, Regime: regime}
	}
	return deny(NoConsent, "", pv, regime)
}

func deny(r Reason, consentVersion, policyVersion string, regime policy.Regime) Decision {
	return Decision{Reason: r, ConsentVersion: consentVersion, PolicyVersion: policyVersion, Regime: regime}
}
