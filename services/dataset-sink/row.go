package datasetsink

import (
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
)

// Row is one dataset row: a CuratedEvent as a Parquet record. Optional Avro fields
// are optional columns (null when empty); timestamps are INT64
// timestamp(MILLIS, UTC) so that pyarrow, DuckDB and Spark read them as timestamps;
// properties is a MAP<string,string> column.
type Row struct {
	EventID        string            `parquet:"event_id"`
	EventType      string            `parquet:"event_type,dict"`
	Subject        string            `parquet:"subject"`
	Tenant         string            `parquet:"tenant,dict"`
	Session        string            `parquet:"session,optional"`
	ReceivedAt     time.Time         `parquet:"received_at,timestamp(millisecond)"`
	OccurredAt     time.Time         `parquet:"occurred_at,optional,timestamp(millisecond)"`
	Jurisdiction   string            `parquet:"jurisdiction,optional,dict"`
	GPC            bool              `parquet:"gpc"`
	IPPrefix       string            `parquet:"ip_prefix,optional"`
	Locale         string            `parquet:"locale,optional,dict"`
	Region         string            `parquet:"region,optional,dict"`
	Text           string            `parquet:"text,optional"`
	Properties     map[string]string `parquet:"properties"`
	Source         string            `parquet:"source,dict"`
	Purpose        string            `parquet:"purpose,dict"`
	ConsentVersion string            `parquet:"consent_version,optional"`
	PolicyVersion  string            `parquet:"policy_version,dict"`
}

// RowFromEvent converts a curated event to a row. Timestamps are truncated to
// milliseconds and kept in UTC, as on the wire.
func RowFromEvent(e *schema.CuratedEvent) Row {
	r := Row{
		EventID: e.EventID, EventType: e.EventType, Subject: e.Subject, Tenant: e.Tenant,
		Session: e.Session, ReceivedAt: e.ReceivedAt.UTC().Truncate(time.Millisecond),
		Jurisdiction: e.Jurisdiction, GPC: e.GPC, IPPrefix: e.IPPrefix, Locale: e.Locale,
		Region: e.Region, Text: e.Text, Properties: e.Properties, Source: e.Source,
		Purpose: e.Purpose, ConsentVersion: e.ConsentVersion, PolicyVersion: e.PolicyVersion,
	}
	if !e.OccurredAt.IsZero() {
		r.OccurredAt = e.OccurredAt.UTC().Truncate(time.Millisecond)
	}
	if r.Properties == nil {
		r.Properties = map[string]string{}
	}
	return r
}

// Day is the dt= partition of the row: the UTC date of received_at, the server
// clock stamped by the producer (client clocks are never trusted).
func (r *Row) Day() string { return r.ReceivedAt.UTC().Format(time.DateOnly) }

// DatasetSchema describes the columns of Row for manifests, dataset cards and
// Croissant metadata.
var DatasetSchema = []Column{
	{"event_id", "string", false, "Unique id of the event."},
	{"event_type", "string", false, "Kind of interaction (issue_created, prompt_submitted, ...)."},
	{"subject", "string", false, "Keyed pseudonym of the consent subject (key id in front)."},
	{"tenant", "string", false, "Keyed pseudonym of the tenant."},
	{"session", "string", true, "Pseudonymized session id."},
	{"received_at", "timestamp[ms, UTC]", false, "Server receive time, coarsened to the hour."},
	{"occurred_at", "timestamp[ms, UTC]", true, "Client event time, coarsened to the hour."},
	{"jurisdiction", "string", true, "Country part of the jurisdiction."},
	{"gpc", "bool", false, "Whether the request carried Sec-GPC: 1."},
	{"ip_prefix", "string", true, "IPv4 /24 or IPv6 /48 network."},
	{"locale", "string", true, "Locale of the client."},
	{"region", "string", true, "Country of the location."},
	{"text", "string", true, "Free text with PII replaced by typed placeholders."},
	{"properties", "map<string,string>", false, "Allowlisted event properties."},
	{"source", "string", false, "Ingestion source."},
	{"purpose", "string", false, "Purpose the consent was checked for."},
	{"consent_version", "string", true, "partition:offset of the consent change the decision rested on."},
	{"policy_version", "string", false, "Consent policy version of the decision."},
}

// Column describes one dataset column.
type Column struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Nullable    bool   `json:"nullable"`
	Description string `json:"description"`
}
