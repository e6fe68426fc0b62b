package decision

import "time"

// Status is the status of a consent record.
type Status string

const (
	// Granted means the subject consented to the purpose.
	Granted Status = "GRANTED"
	// Denied means the subject refused or withdrew consent for the purpose.
	Denied Status = "DENIED"
)

// Valid reports whether s is Granted or Denied.
func (s Status) Valid() bool { return s == Granted || s == Denied }

// Record is the latest consent change for one subject (a user or a tenant)
// and one purpose.
type Record struct {
	// Status is Granted or Denied; any other value is treated as Denied.
	Status Status
	// EffectiveAt is the consent API's server time of the change.
	EffectiveAt time.Time
	// Version is the change's Kafka position on consent.changes,
	// "partition:offset".
	Version string
}

// Input is everything the decision depends on besides the policy.
type Input struct {
	// ReceivedAt is the producer's server clock stamp of the event; client
	// clocks are never used.
	ReceivedAt time.Time
	// Jurisdiction is the event's ISO 3166 code ("DE", "US-CA"), or empty.
	Jurisdiction string
	// GPC is true when the event's request carried Sec-GPC: 1.
	GPC bool
	// Purpose is the purpose being decided, e.g. "ai_training"; Tenant and
	// User must be the records for this purpose.
	Purpose string
	// Tenant is the tenant's record for Purpose, nil when there is none.
	Tenant *Record
	// User is the record for Purpose of the event's primary subject (its user
	// id, or its anonymous id when it has none), nil when there is none.
	User *Record
	// Linked are the records for Purpose of the event's other subjects: the
	// anonymous id of an event that also carries a user id, an alias's
	// previous ids, every subject linked to the primary subject, and legacy
	// (tenant-less, pre-identity) records of its ids that are newer than the
	// subject's own. Absent records are left out. They can only deny.
	Linked []*Record
	// TooManyLinks is true when the primary subject has more links than the
	// filter consults: its linked records are incomplete, so the event is
	// denied.
	TooManyLinks bool
}
