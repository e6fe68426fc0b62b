// Package schema holds the typed Go form of consentflow's Avro records (see the
// schemas module) and their conversion to and from goavro's native form.
//
// Optional Avro strings (["null","string"]) map to Go strings where "" means null;
// optional timestamps map to time.Time where the zero value means null.
package schema

import "time"

// Subject types of a ConsentChange.
const (
	SubjectUser      = "USER"
	SubjectTenant    = "TENANT"
	SubjectAnonymous = "ANONYMOUS"
)

// Statuses of a ConsentChange: a consent (GRANTED, DENIED), an identity link
// (LINKED) or a derived erasure request (ERASE).
const (
	StatusGranted = "GRANTED"
	StatusDenied  = "DENIED"
	StatusLinked  = "LINKED"
	StatusErase   = "ERASE"
)

// Scopes of a ConsentChange's user or anonymous id (subject_scope,
// linked_scope).
const (
	ScopeTenantIDs = "TENANT"
	ScopeGlobalIDs = "GLOBAL"
)

// Decisions of a ConsentDecision.
const (
	DecisionAllow = "ALLOW"
	DecisionDeny  = "DENY"
)

// InteractionEvent is a raw product interaction event (events.raw, events.consented).
type InteractionEvent struct {
	EventID       string            `json:"event_id"`
	EventType     string            `json:"event_type"`
	TenantID      string            `json:"tenant_id"`
	UserID        string            `json:"user_id,omitempty"`
	AnonymousID   string            `json:"anonymous_id,omitempty"`
	SessionID     string            `json:"session_id,omitempty"`
	ReceivedAt    time.Time         `json:"received_at"`
	OccurredAt    time.Time         `json:"occurred_at,omitzero"`
	Jurisdiction  string            `json:"jurisdiction,omitempty"`
	GPC           bool              `json:"gpc,omitempty"`
	IP            string            `json:"ip,omitempty"`
	UserAgent     string            `json:"user_agent,omitempty"`
	Locale        string            `json:"locale,omitempty"`
	Location      string            `json:"location,omitempty"`
	Text          string            `json:"text,omitempty"`
	Properties    map[string]string `json:"properties,omitempty"`
	ActorName     string            `json:"actor_name,omitempty"`
	ActorEmail    string            `json:"actor_email,omitempty"`
	ActorHandle   string            `json:"actor_handle,omitempty"`
	ClientConsent string            `json:"client_consent,omitempty"`
	PreviousID    string            `json:"previous_id,omitempty"`
	Source        string            `json:"source,omitempty"`
}

// Subject is the consent subject of the event: the user id, or the anonymous id
// when the event has no user id.
func (e *InteractionEvent) Subject() string {
	if e.UserID != "" {
		return e.UserID
	}
	return e.AnonymousID
}

// CuratedEvent is a consented, anonymized event (events.curated) and a dataset row.
type CuratedEvent struct {
	EventID        string            `json:"event_id"`
	EventType      string            `json:"event_type"`
	Subject        string            `json:"subject"`
	Tenant         string            `json:"tenant"`
	Session        string            `json:"session,omitempty"`
	ReceivedAt     time.Time         `json:"received_at"`
	OccurredAt     time.Time         `json:"occurred_at,omitzero"`
	Jurisdiction   string            `json:"jurisdiction,omitempty"`
	GPC            bool              `json:"gpc"`
	IPPrefix       string            `json:"ip_prefix,omitempty"`
	Locale         string            `json:"locale,omitempty"`
	Region         string            `json:"region,omitempty"`
	Text           string            `json:"text,omitempty"`
	Properties     map[string]string `json:"properties,omitempty"`
	Source         string            `json:"source"`
	Purpose        string            `json:"purpose"`
	ConsentVersion string            `json:"consent_version,omitempty"`
	PolicyVersion  string            `json:"policy_version"`
	// TenantConsentVersion is the version of the tenant's consent record in force
	// at the decision, empty when the tenant had none.
	TenantConsentVersion string `json:"tenant_consent_version,omitempty"`
	// Sealed is the crypto-shredding envelope (pkg/shred): when set, EventType,
	// Text and Properties are empty and Sealed holds them, encrypted under the
	// subject's and tenant's data keys. Nil on records written unsealed.
	Sealed []byte `json:"sealed,omitempty"`
}

// ConsentChange is one record of consent.changes (compacted): a consent change
// (GRANTED, DENIED), an identity link (LINKED) or a derived erasure request
// (ERASE). Its Kafka partition and offset are its version. Its key and
// partitioning come from pkg/identity (the consent-filter builds them).
type ConsentChange struct {
	SubjectType   string    `json:"subject_type"`
	SubjectID     string    `json:"subject_id"`
	TenantID      string    `json:"tenant_id,omitempty"`
	Purpose       string    `json:"purpose"`
	Status        string    `json:"status"`
	EffectiveAt   time.Time `json:"effective_at"`
	Source        string    `json:"source"`
	PolicyVersion string    `json:"policy_version"`
	// SubjectScope is ScopeTenantIDs or ScopeGlobalIDs for user and anonymous
	// subjects; "" on tenant records and on records written before subjects
	// had a scope (legacy).
	SubjectScope string `json:"subject_scope,omitempty"`
	// LinkedType, LinkedID and LinkedScope name the other side of a LINKED
	// record (its tenant is TenantID).
	LinkedType  string `json:"linked_type,omitempty"`
	LinkedID    string `json:"linked_id,omitempty"`
	LinkedScope string `json:"linked_scope,omitempty"`
	// TriggerVersion is, on an ERASE record, the version of the change that
	// made the erasure apply.
	TriggerVersion string `json:"trigger_version,omitempty"`
	// Imported marks a record of a bulk import (never rolls a subject back).
	Imported bool `json:"imported,omitempty"`
}

// ConsentDecision is the audit record of one decision (consent.decisions).
type ConsentDecision struct {
	EventID        string    `json:"event_id"`
	SubjectRef     string    `json:"subject_ref"`
	Purpose        string    `json:"purpose"`
	Decision       string    `json:"decision"`
	Reason         string    `json:"reason"`
	ConsentVersion string    `json:"consent_version,omitempty"`
	PolicyVersion  string    `json:"policy_version"`
	ReceivedAt     time.Time `json:"received_at"`
	DecidedAt      time.Time `json:"decided_at"`
	// TenantConsentVersion is the tenant's consent change the decision used
	// ("" when the tenant had none): with ConsentVersion, the whole state the
	// decision was made on, so an auditor can re-derive it.
	TenantConsentVersion string `json:"tenant_consent_version,omitempty"`
}

// Erasure tells the dataset sink to erase a subject's rows (dataset.erasures).
type Erasure struct {
	Pseudonyms     []string  `json:"pseudonyms"`
	Purpose        string    `json:"purpose"`
	EffectiveAt    time.Time `json:"effective_at"`
	Reason         string    `json:"reason"`
	ConsentVersion string    `json:"consent_version"`
	Scope          string    `json:"scope"`
}

// ErasureReceipt says that a dataset applied the erasure of one consent change
// (dataset.erasure-receipts). It names the change, never the person.
type ErasureReceipt struct {
	Dataset            string    `json:"dataset"`
	Purpose            string    `json:"purpose"`
	ConsentVersion     string    `json:"consent_version"`
	Scope              string    `json:"scope"`
	Reason             string    `json:"reason"`
	ErasureEffectiveAt time.Time `json:"erasure_effective_at"`
	SnapshotID         int64     `json:"snapshot_id"`
	AppliedAt          time.Time `json:"applied_at"`
	PurgeDeadline      time.Time `json:"purge_deadline"`
}

// Erasure scopes.
const (
	ScopeSubject = "SUBJECT"
	ScopeTenant  = "TENANT"
)
