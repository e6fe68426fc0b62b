// Package table holds the dataset's row and its Iceberg table definition: the
// Row type, its columns (for manifests, dataset cards and Croissant), the Iceberg
// schema, partition spec and table properties, and the conversion of rows to and
// from Arrow record batches.
package table

import (
	"slices"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// Row is one dataset row: a CuratedEvent plus its lineage (the events.curated
// record it came from). Optional Avro fields are optional columns (null when
// empty); timestamps are Iceberg timestamptz (microseconds, UTC); properties is a
// list of {key, value} structs sorted by key (not a map, which Hugging Face
// datasets cannot load). consent_version and tenant_consent_version order the
// row against erasures (see ledger.Matcher).
type Row struct {
	EventID        string
	EventType      string
	Subject        string
	Tenant         string
	Session        string
	ReceivedAt     time.Time
	OccurredAt     time.Time
	Jurisdiction   string
	GPC            bool
	IPPrefix       string
	Locale         string
	Region         string
	Text           string
	Properties     []Property
	Source         string
	Purpose        string
	ConsentVersion string
	PolicyVersion  string
	// TenantConsentVersion is the version of the tenant's consent record in
	// force at the decision; empty when the tenant had none.
	TenantConsentVersion string
	// KafkaPartition and KafkaOffset are the row's lineage: the events.curated
	// record it was written from. They make exactly-once checkable by any
	// reader and let the sink find a partition's newest rows.
	KafkaPartition int32
	KafkaOffset    int64
}

// Property is one entry of the properties column.
type Property struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// PropertiesOf returns m as properties sorted by key (never nil, so that the
// column holds an empty list rather than null).
func PropertiesOf(m map[string]string) []Property {
	out := make([]Property, 0, len(m))
	for k, v := range m {
		out = append(out, Property{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b Property) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// RowFromEvent converts a curated event to a row (without lineage). Timestamps
// are truncated to milliseconds and kept in UTC, as on the wire.
func RowFromEvent(e *schema.CuratedEvent) Row {
	r := Row{
		EventID: e.EventID, EventType: e.EventType, Subject: e.Subject, Tenant: e.Tenant,
		Session: e.Session, ReceivedAt: e.ReceivedAt.UTC().Truncate(time.Millisecond),
		Jurisdiction: e.Jurisdiction, GPC: e.GPC, IPPrefix: e.IPPrefix, Locale: e.Locale,
		Region: e.Region, Text: e.Text, Properties: PropertiesOf(e.Properties), Source: e.Source,
		Purpose: e.Purpose, ConsentVersion: e.ConsentVersion, PolicyVersion: e.PolicyVersion,
		TenantConsentVersion: e.TenantConsentVersion,
	}
	if !e.OccurredAt.IsZero() {
		r.OccurredAt = e.OccurredAt.UTC().Truncate(time.Millisecond)
	}
	return r
}

// Day is the row's partition: the UTC date of received_at, the server clock
// stamped by the producer (client clocks are never trusted).
func (r *Row) Day() string { return r.ReceivedAt.UTC().Format(time.DateOnly) }

// Columns describes the columns of Row for manifests, dataset cards and
// Croissant metadata.
var Columns = []manifest.Column{
	col("event_id", "string", false, "Unique id of the event."),
	col("event_type", "string", false, "Kind of interaction (issue_created, prompt_submitted, ...)."),
	col("subject", "string", false, "Keyed pseudonym of the consent subject (key id in front)."),
	col("tenant", "string", false, "Keyed pseudonym of the tenant."),
	col("session", "string", true, "Pseudonymized session id."),
	col("received_at", "timestamp[us, UTC]", false, "Server receive time, coarsened to the hour."),
	col("occurred_at", "timestamp[us, UTC]", true, "Client event time, coarsened to the hour."),
	col("jurisdiction", "string", true, "Country part of the jurisdiction."),
	col("gpc", "bool", false, "Whether the request carried Sec-GPC: 1."),
	col("ip_prefix", "string", true, "IPv4 /24 or IPv6 /48 network."),
	col("locale", "string", true, "Locale of the client."),
	col("region", "string", true, "Country of the location."),
	col("text", "string", true, "Free text with PII replaced by typed placeholders."),
	{Name: "properties", Type: "list<struct<key: string, value: string>>",
		Description: "Allowlisted event properties as key/value pairs, sorted by key (a list, not a map: Hugging Face datasets has no map type).",
		Fields:      []manifest.Column{col("key", "string", false, "Property name."), col("value", "string", false, "Property value.")}},
	col("source", "string", false, "Ingestion source."),
	col("purpose", "string", false, "Purpose the consent was checked for."),
	col("consent_version", "string", true, "partition:offset on consent.changes of the user's consent change the decision rested on; null when it rested on the regime alone."),
	col("policy_version", "string", false, "Consent policy version of the decision."),
	col("tenant_consent_version", "string", true, "partition:offset on consent.changes of the tenant's consent change in force at the decision; null when the tenant had none."),
	col("kafka_partition", "int32", false, "Lineage: partition of the events.curated record the row was written from."),
	col("kafka_offset", "int64", false, "Lineage: offset of the events.curated record the row was written from."),
}

func col(name, typ string, nullable bool, description string) manifest.Column {
	return manifest.Column{Name: name, Type: typ, Nullable: nullable, Description: description}
}
