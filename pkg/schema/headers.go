package schema

// Kafka headers the consent-filter sets on events.consented, read by the
// anonymizer into the derived fields of CuratedEvent.
const (
	// HeaderConsentVersion is the version ("p:o") of the subject's consent change
	// the decision rested on; empty when it rested on the regime alone.
	HeaderConsentVersion = "consent-version"
	// HeaderTenantConsentVersion is the version of the tenant's consent change in
	// force at the decision; empty when the tenant had none.
	HeaderTenantConsentVersion = "tenant-consent-version"
	// HeaderPolicyVersion is the consent policy's version.
	HeaderPolicyVersion = "policy-version"
	// HeaderPurpose is the purpose the event was allowed for.
	HeaderPurpose = "purpose"
)
