package schema

// Kafka headers the consent-filter sets on events.consented, read by the
// anonymizer into the derived fields of CuratedEvent.
const (
	// HeaderConsentVersion is the consent state the decision was made on, as
	// "p:o": the consent.changes partition of the subject's records and the
	// position up to which every change there was applied (filter.StateVersion).
	// Erasures compare their change's version with it. (Filters before identity
	// stitching sent the version of the subject's record, which compares the
	// same way.)
	HeaderConsentVersion = "consent-version"
	// HeaderTenantConsentVersion is the version of the tenant's consent change in
	// force at the decision; empty when the tenant had none.
	HeaderTenantConsentVersion = "tenant-consent-version"
	// HeaderPolicyVersion is the consent policy's version.
	HeaderPolicyVersion = "policy-version"
	// HeaderPurpose is the purpose the event was allowed for.
	HeaderPurpose = "purpose"
	// HeaderSubjectKind is the kind of the event's consent subject: "user"
	// or "anonymous" (pkg/identity). Absent on events decided before subjects
	// had kinds.
	HeaderSubjectKind = "consent-subject-kind"
	// HeaderSubjectScope is the scope the subject was keyed with: "tenant"
	// (its id is unique within its tenant) or "global".
	HeaderSubjectScope = "consent-subject-scope"
)
