package datasetsink

import "time"

// legacyRow is Row as written before properties became a list of key/value
// structs: a MAP<string,string> column, and no tenant_consent_version (such rows
// read it as empty, which errs towards erasure).
type legacyRow struct {
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

func (l *legacyRow) row() Row {
	return Row{
		EventID: l.EventID, EventType: l.EventType, Subject: l.Subject, Tenant: l.Tenant, Session: l.Session,
		ReceivedAt: l.ReceivedAt, OccurredAt: l.OccurredAt, Jurisdiction: l.Jurisdiction, GPC: l.GPC,
		IPPrefix: l.IPPrefix, Locale: l.Locale, Region: l.Region, Text: l.Text, Properties: PropertiesOf(l.Properties),
		Source: l.Source, Purpose: l.Purpose, ConsentVersion: l.ConsentVersion, PolicyVersion: l.PolicyVersion,
	}
}
