package decision

// Reason says which rule decided. Its values are part of the audit contract
// (consent.decisions) and of the metrics labels; never rename them.
type Reason string

const (
	// AllowedConsent: the user granted consent at or before received_at (rule 3).
	AllowedConsent Reason = "allowed_consent"
	// AllowedOptOutRegime: no user record, the jurisdiction is opt_out and no
	// GPC denial applies (rule 4).
	AllowedOptOutRegime Reason = "allowed_opt_out_regime"
	// TenantOptOut: the user's tenant denied the purpose (rule 1).
	TenantOptOut Reason = "tenant_opt_out"
	// TenantConsentAfterEvent: the tenant's grant took effect after
	// received_at, so its state at received_at is unknown (rule 1).
	TenantConsentAfterEvent Reason = "tenant_consent_after_event"
	// UserOptOut: the user denied the purpose (rule 2).
	UserOptOut Reason = "user_opt_out"
	// ConsentAfterEvent: the user's grant took effect after received_at
	// (rule 3).
	ConsentAfterEvent Reason = "consent_after_event"
	// GPC: no user record, opt_out regime, the event carried Sec-GPC: 1 and
	// the policy counts GPC as a denial for the purpose (rule 4).
	GPC Reason = "gpc"
	// NoConsent: no user record in an opt_in regime (rule 4).
	NoConsent Reason = "no_consent"
	// LinkedOptOut: a subject linked to the event's (its anonymous id, a
	// linked user or anonymous id, a legacy record of its id) denied the
	// purpose (rule 2b).
	LinkedOptOut Reason = "linked_opt_out"
	// LinkedConsentAfterEvent: a linked subject's grant took effect after
	// received_at, so whether it was denied then is unknown (rule 2b).
	LinkedConsentAfterEvent Reason = "linked_consent_after_event"
	// LinkLimit: the primary subject has more links than the filter consults,
	// so its linked records are not all known (rule 2a).
	LinkLimit Reason = "link_limit"
)

// Reasons returns every Reason, e.g. to pre-register metric label values.
func Reasons() []Reason {
	return []Reason{
		AllowedConsent, AllowedOptOutRegime, TenantOptOut, TenantConsentAfterEvent,
		UserOptOut, ConsentAfterEvent, GPC, NoConsent, LinkedOptOut, LinkedConsentAfterEvent, LinkLimit,
	}
}

// Allows reports whether the reason is one of the two allowing reasons.
func (r Reason) Allows() bool { return r == AllowedConsent || r == AllowedOptOutRegime }

// String returns the reason's wire value.
func (r Reason) String() string { return string(r) }
