package avro

import (
	"fmt"

	"github.com/consentflow/consentflow/pkg/schema"
)

// Field-by-field readers and writers of the hot records, in the order of their
// schema files' fields (see binary.go). A field added to a schema file without
// its line here fails binary_test.go.

func readInteractionEvent(b []byte) (schema.InteractionEvent, error) {
	r := binReader{b: b}
	e := schema.InteractionEvent{
		EventID:       r.str("event_id"),
		EventType:     r.str("event_type"),
		TenantID:      r.str("tenant_id"),
		UserID:        r.optStr("user_id"),
		AnonymousID:   r.optStr("anonymous_id"),
		SessionID:     r.optStr("session_id"),
		ReceivedAt:    r.millis("received_at"),
		OccurredAt:    r.optMillis("occurred_at"),
		Jurisdiction:  r.optStr("jurisdiction"),
		GPC:           r.boolean("gpc"),
		IP:            r.optStr("ip"),
		UserAgent:     r.optStr("user_agent"),
		Locale:        r.optStr("locale"),
		Location:      r.optStr("location"),
		Text:          r.optStr("text"),
		Properties:    r.strMap("properties", false),
		ActorName:     r.optStr("actor_name"),
		ActorEmail:    r.optStr("actor_email"),
		ActorHandle:   r.optStr("actor_handle"),
		ClientConsent: r.optStr("client_consent"),
		PreviousID:    r.optStr("previous_id"),
		Source:        r.str("source"),
	}
	if err := r.end(); err != nil {
		return schema.InteractionEvent{}, err
	}
	return e, nil
}

// readInteractionEventHead reads the fields a consent decision needs (ids,
// times, jurisdiction, GPC, event type, source) and checks the rest of the
// record's structure as readInteractionEvent does, without copying the payload
// (session, network, text, properties, actor fields stay empty).
func readInteractionEventHead(b []byte) (schema.InteractionEvent, error) {
	r := binReader{b: b}
	var e schema.InteractionEvent
	e.EventID = r.str("event_id")
	e.EventType = r.str("event_type")
	e.TenantID = r.str("tenant_id")
	e.UserID = r.optStr("user_id")
	e.AnonymousID = r.optStr("anonymous_id")
	r.skipOptStr("session_id")
	e.ReceivedAt = r.millis("received_at")
	e.OccurredAt = r.optMillis("occurred_at")
	e.Jurisdiction = r.optStr("jurisdiction")
	e.GPC = r.boolean("gpc")
	r.skipOptStr("ip")
	r.skipOptStr("user_agent")
	r.skipOptStr("locale")
	r.skipOptStr("location")
	r.skipOptStr("text")
	r.strMap("properties", true)
	r.skipOptStr("actor_name")
	r.skipOptStr("actor_email")
	r.skipOptStr("actor_handle")
	e.ClientConsent = r.optStr("client_consent")
	e.PreviousID = r.optStr("previous_id")
	e.Source = r.str("source")
	if err := r.end(); err != nil {
		return schema.InteractionEvent{}, err
	}
	return e, nil
}

func appendInteractionEvent(b []byte, e *schema.InteractionEvent) ([]byte, error) {
	src := e.Source
	if src == "" {
		src = "api" // as ToNative
	}
	b = appendStr(b, e.EventID)
	b = appendStr(b, e.EventType)
	b = appendStr(b, e.TenantID)
	b = appendOptStr(b, e.UserID)
	b = appendOptStr(b, e.AnonymousID)
	b = appendOptStr(b, e.SessionID)
	b = appendMillis(b, e.ReceivedAt)
	b = appendOptMillis(b, e.OccurredAt)
	b = appendOptStr(b, e.Jurisdiction)
	b = appendBool(b, e.GPC)
	b = appendOptStr(b, e.IP)
	b = appendOptStr(b, e.UserAgent)
	b = appendOptStr(b, e.Locale)
	b = appendOptStr(b, e.Location)
	b = appendOptStr(b, e.Text)
	b = appendStrMap(b, e.Properties)
	b = appendOptStr(b, e.ActorName)
	b = appendOptStr(b, e.ActorEmail)
	b = appendOptStr(b, e.ActorHandle)
	b = appendOptStr(b, e.ClientConsent)
	b = appendOptStr(b, e.PreviousID)
	b = appendStr(b, src)
	return b, nil
}

func readCuratedEvent(b []byte) (schema.CuratedEvent, error) {
	r := binReader{b: b}
	e := schema.CuratedEvent{
		EventID:        r.str("event_id"),
		EventType:      r.str("event_type"),
		Subject:        r.str("subject"),
		Tenant:         r.str("tenant"),
		Session:        r.optStr("session"),
		ReceivedAt:     r.millis("received_at"),
		OccurredAt:     r.optMillis("occurred_at"),
		Jurisdiction:   r.optStr("jurisdiction"),
		GPC:            r.boolean("gpc"),
		IPPrefix:       r.optStr("ip_prefix"),
		Locale:         r.optStr("locale"),
		Region:         r.optStr("region"),
		Text:           r.optStr("text"),
		Properties:     r.strMap("properties", false),
		Source:         r.str("source"),
		Purpose:        r.str("purpose"),
		ConsentVersion: r.optStr("consent_version"),
		PolicyVersion:  r.str("policy_version"),

		TenantConsentVersion: r.optStr("tenant_consent_version"),
		Sealed:               r.optBytes("sealed"),
	}
	if err := r.end(); err != nil {
		return schema.CuratedEvent{}, err
	}
	return e, nil
}

func appendCuratedEvent(b []byte, e *schema.CuratedEvent) ([]byte, error) {
	b = appendStr(b, e.EventID)
	b = appendStr(b, e.EventType)
	b = appendStr(b, e.Subject)
	b = appendStr(b, e.Tenant)
	b = appendOptStr(b, e.Session)
	b = appendMillis(b, e.ReceivedAt)
	b = appendOptMillis(b, e.OccurredAt)
	b = appendOptStr(b, e.Jurisdiction)
	b = appendBool(b, e.GPC)
	b = appendOptStr(b, e.IPPrefix)
	b = appendOptStr(b, e.Locale)
	b = appendOptStr(b, e.Region)
	b = appendOptStr(b, e.Text)
	b = appendStrMap(b, e.Properties)
	b = appendStr(b, e.Source)
	b = appendStr(b, e.Purpose)
	b = appendOptStr(b, e.ConsentVersion)
	b = appendStr(b, e.PolicyVersion)
	b = appendOptStr(b, e.TenantConsentVersion)
	b = appendOptBytes(b, e.Sealed)
	return b, nil
}

// decisionSymbols are the Decision enum's symbols, in schema order.
var decisionSymbols = [...]string{schema.DecisionAllow, schema.DecisionDeny}

func readConsentDecision(b []byte) (schema.ConsentDecision, error) {
	r := binReader{b: b}
	d := schema.ConsentDecision{
		EventID:    r.str("event_id"),
		SubjectRef: r.str("subject_ref"),
		Purpose:    r.str("purpose"),
	}
	if i := r.long("decision"); r.err == nil {
		if i < 0 || i >= int64(len(decisionSymbols)) {
			r.fail("decision", fmt.Errorf("enum index %d out of range", i))
		} else {
			d.Decision = decisionSymbols[i]
		}
	}
	d.Reason = r.str("reason")
	d.ConsentVersion = r.optStr("consent_version")
	d.PolicyVersion = r.str("policy_version")
	d.ReceivedAt = r.millis("received_at")
	d.DecidedAt = r.millis("decided_at")
	d.TenantConsentVersion = r.optStr("tenant_consent_version")
	if err := r.end(); err != nil {
		return schema.ConsentDecision{}, err
	}
	return d, nil
}

func appendConsentDecision(b []byte, d *schema.ConsentDecision) ([]byte, error) {
	sym := -1
	for i, s := range decisionSymbols {
		if s == d.Decision {
			sym = i
		}
	}
	if sym < 0 {
		return nil, fmt.Errorf("decision %q: %w", d.Decision, errEnum)
	}
	b = appendStr(b, d.EventID)
	b = appendStr(b, d.SubjectRef)
	b = appendStr(b, d.Purpose)
	b = appendLong(b, int64(sym))
	b = appendStr(b, d.Reason)
	b = appendOptStr(b, d.ConsentVersion)
	b = appendStr(b, d.PolicyVersion)
	b = appendMillis(b, d.ReceivedAt.UTC())
	b = appendMillis(b, d.DecidedAt.UTC())
	b = appendOptStr(b, d.TenantConsentVersion)
	return b, nil
}
