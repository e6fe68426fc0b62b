package schema

import (
	"fmt"
	"time"
)

// Native converts a typed record to goavro's native form for its schema.
type nativeRecord = map[string]any

func optString(s string) any {
	if s == "" {
		return nil
	}
	return map[string]any{"string": s}
}

func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return map[string]any{"long.timestamp-millis": t.UTC()}
}

func optBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return map[string]any{"bytes": b}
}

func strMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ToNative returns the goavro native form of e.
func (e *InteractionEvent) ToNative() map[string]any {
	src := e.Source
	if src == "" {
		src = "api"
	}
	return nativeRecord{
		"event_id":       e.EventID,
		"event_type":     e.EventType,
		"tenant_id":      e.TenantID,
		"user_id":        optString(e.UserID),
		"anonymous_id":   optString(e.AnonymousID),
		"session_id":     optString(e.SessionID),
		"received_at":    e.ReceivedAt.UTC(),
		"occurred_at":    optTime(e.OccurredAt),
		"jurisdiction":   optString(e.Jurisdiction),
		"gpc":            e.GPC,
		"ip":             optString(e.IP),
		"user_agent":     optString(e.UserAgent),
		"locale":         optString(e.Locale),
		"location":       optString(e.Location),
		"text":           optString(e.Text),
		"properties":     strMap(e.Properties),
		"actor_name":     optString(e.ActorName),
		"actor_email":    optString(e.ActorEmail),
		"actor_handle":   optString(e.ActorHandle),
		"client_consent": optString(e.ClientConsent),
		"previous_id":    optString(e.PreviousID),
		"source":         src,
	}
}

// InteractionEventFromNative reads an InteractionEvent from goavro's native form,
// tolerating fields missing from older writer schemas.
func InteractionEventFromNative(v any) (InteractionEvent, error) {
	r := reader{}
	m, err := r.record(v)
	if err != nil {
		return InteractionEvent{}, err
	}
	e := InteractionEvent{
		EventID:       r.str(m, "event_id"),
		EventType:     r.str(m, "event_type"),
		TenantID:      r.str(m, "tenant_id"),
		UserID:        r.str(m, "user_id"),
		AnonymousID:   r.str(m, "anonymous_id"),
		SessionID:     r.str(m, "session_id"),
		ReceivedAt:    r.time(m, "received_at"),
		OccurredAt:    r.time(m, "occurred_at"),
		Jurisdiction:  r.str(m, "jurisdiction"),
		GPC:           r.bool(m, "gpc"),
		IP:            r.str(m, "ip"),
		UserAgent:     r.str(m, "user_agent"),
		Locale:        r.str(m, "locale"),
		Location:      r.str(m, "location"),
		Text:          r.str(m, "text"),
		Properties:    r.strMap(m, "properties"),
		ActorName:     r.str(m, "actor_name"),
		ActorEmail:    r.str(m, "actor_email"),
		ActorHandle:   r.str(m, "actor_handle"),
		ClientConsent: r.str(m, "client_consent"),
		PreviousID:    r.str(m, "previous_id"),
		Source:        r.str(m, "source"),
	}
	return e, r.err
}

// ToNative returns the goavro native form of e.
func (e *CuratedEvent) ToNative() map[string]any {
	return nativeRecord{
		"event_id":        e.EventID,
		"event_type":      e.EventType,
		"subject":         e.Subject,
		"tenant":          e.Tenant,
		"session":         optString(e.Session),
		"received_at":     e.ReceivedAt.UTC(),
		"occurred_at":     optTime(e.OccurredAt),
		"jurisdiction":    optString(e.Jurisdiction),
		"gpc":             e.GPC,
		"ip_prefix":       optString(e.IPPrefix),
		"locale":          optString(e.Locale),
		"region":          optString(e.Region),
		"text":            optString(e.Text),
		"properties":      strMap(e.Properties),
		"source":          e.Source,
		"purpose":         e.Purpose,
		"consent_version": optString(e.ConsentVersion),
		"policy_version":  e.PolicyVersion,

		"tenant_consent_version": optString(e.TenantConsentVersion),
		"sealed":                 optBytes(e.Sealed),
	}
}

// CuratedEventFromNative reads a CuratedEvent from goavro's native form.
func CuratedEventFromNative(v any) (CuratedEvent, error) {
	r := reader{}
	m, err := r.record(v)
	if err != nil {
		return CuratedEvent{}, err
	}
	e := CuratedEvent{
		EventID:        r.str(m, "event_id"),
		EventType:      r.str(m, "event_type"),
		Subject:        r.str(m, "subject"),
		Tenant:         r.str(m, "tenant"),
		Session:        r.str(m, "session"),
		ReceivedAt:     r.time(m, "received_at"),
		OccurredAt:     r.time(m, "occurred_at"),
		Jurisdiction:   r.str(m, "jurisdiction"),
		GPC:            r.bool(m, "gpc"),
		IPPrefix:       r.str(m, "ip_prefix"),
		Locale:         r.str(m, "locale"),
		Region:         r.str(m, "region"),
		Text:           r.str(m, "text"),
		Properties:     r.strMap(m, "properties"),
		Source:         r.str(m, "source"),
		Purpose:        r.str(m, "purpose"),
		ConsentVersion: r.str(m, "consent_version"),
		PolicyVersion:  r.str(m, "policy_version"),

		TenantConsentVersion: r.str(m, "tenant_consent_version"),
		Sealed:               r.bytes(m, "sealed"),
	}
	return e, r.err
}

// ToNative returns the goavro native form of c.
func (c *ConsentChange) ToNative() map[string]any {
	return nativeRecord{
		"subject_type":    c.SubjectType,
		"subject_id":      c.SubjectID,
		"tenant_id":       optString(c.TenantID),
		"purpose":         c.Purpose,
		"status":          c.Status,
		"effective_at":    c.EffectiveAt.UTC(),
		"source":          c.Source,
		"policy_version":  c.PolicyVersion,
		"subject_scope":   optString(c.SubjectScope),
		"linked_type":     optString(c.LinkedType),
		"linked_id":       optString(c.LinkedID),
		"linked_scope":    optString(c.LinkedScope),
		"trigger_version": optString(c.TriggerVersion),
		"imported":        c.Imported,
	}
}

// ConsentChangeFromNative reads a ConsentChange from goavro's native form.
func ConsentChangeFromNative(v any) (ConsentChange, error) {
	r := reader{}
	m, err := r.record(v)
	if err != nil {
		return ConsentChange{}, err
	}
	c := ConsentChange{
		SubjectType:    r.str(m, "subject_type"),
		SubjectID:      r.str(m, "subject_id"),
		TenantID:       r.str(m, "tenant_id"),
		Purpose:        r.str(m, "purpose"),
		Status:         r.str(m, "status"),
		EffectiveAt:    r.time(m, "effective_at"),
		Source:         r.str(m, "source"),
		PolicyVersion:  r.str(m, "policy_version"),
		SubjectScope:   r.str(m, "subject_scope"),
		LinkedType:     r.str(m, "linked_type"),
		LinkedID:       r.str(m, "linked_id"),
		LinkedScope:    r.str(m, "linked_scope"),
		TriggerVersion: r.str(m, "trigger_version"),
		Imported:       r.bool(m, "imported"),
	}
	return c, r.err
}

// ToNative returns the goavro native form of d.
func (d *ConsentDecision) ToNative() map[string]any {
	return nativeRecord{
		"event_id":               d.EventID,
		"subject_ref":            d.SubjectRef,
		"purpose":                d.Purpose,
		"decision":               d.Decision,
		"reason":                 d.Reason,
		"consent_version":        optString(d.ConsentVersion),
		"policy_version":         d.PolicyVersion,
		"received_at":            d.ReceivedAt.UTC(),
		"decided_at":             d.DecidedAt.UTC(),
		"tenant_consent_version": optString(d.TenantConsentVersion),
	}
}

// ConsentDecisionFromNative reads a ConsentDecision from goavro's native form.
func ConsentDecisionFromNative(v any) (ConsentDecision, error) {
	r := reader{}
	m, err := r.record(v)
	if err != nil {
		return ConsentDecision{}, err
	}
	d := ConsentDecision{
		EventID:              r.str(m, "event_id"),
		SubjectRef:           r.str(m, "subject_ref"),
		Purpose:              r.str(m, "purpose"),
		Decision:             r.str(m, "decision"),
		Reason:               r.str(m, "reason"),
		ConsentVersion:       r.str(m, "consent_version"),
		PolicyVersion:        r.str(m, "policy_version"),
		ReceivedAt:           r.time(m, "received_at"),
		DecidedAt:            r.time(m, "decided_at"),
		TenantConsentVersion: r.str(m, "tenant_consent_version"),
	}
	return d, r.err
}

// ToNative returns the goavro native form of e.
func (e *Erasure) ToNative() map[string]any {
	ps := make([]any, len(e.Pseudonyms))
	for i, p := range e.Pseudonyms {
		ps[i] = p
	}
	return nativeRecord{
		"pseudonyms":      ps,
		"purpose":         e.Purpose,
		"effective_at":    e.EffectiveAt.UTC(),
		"reason":          e.Reason,
		"consent_version": e.ConsentVersion,
		"scope":           scopeOrDefault(e.Scope),
	}
}

// ErasureFromNative reads an Erasure from goavro's native form.
func ErasureFromNative(v any) (Erasure, error) {
	r := reader{}
	m, err := r.record(v)
	if err != nil {
		return Erasure{}, err
	}
	e := Erasure{
		Purpose:        r.str(m, "purpose"),
		EffectiveAt:    r.time(m, "effective_at"),
		Reason:         r.str(m, "reason"),
		ConsentVersion: r.str(m, "consent_version"),
		Scope:          scopeOrDefault(r.str(m, "scope")),
	}
	if arr, ok := m["pseudonyms"].([]any); ok {
		for _, p := range arr {
			s, ok := p.(string)
			if !ok {
				return Erasure{}, fmt.Errorf("pseudonyms: want string, got %T", p)
			}
			e.Pseudonyms = append(e.Pseudonyms, s)
		}
	}
	return e, r.err
}

// ToNative returns the goavro native form of e.
func (e *ErasureReceipt) ToNative() map[string]any {
	return nativeRecord{
		"dataset":              e.Dataset,
		"purpose":              e.Purpose,
		"consent_version":      e.ConsentVersion,
		"scope":                scopeOrDefault(e.Scope),
		"reason":               e.Reason,
		"erasure_effective_at": e.ErasureEffectiveAt.UTC(),
		"snapshot_id":          e.SnapshotID,
		"applied_at":           e.AppliedAt.UTC(),
		"purge_deadline":       e.PurgeDeadline.UTC(),
	}
}

// ErasureReceiptFromNative reads an ErasureReceipt from goavro's native form.
func ErasureReceiptFromNative(v any) (ErasureReceipt, error) {
	r := reader{}
	m, err := r.record(v)
	if err != nil {
		return ErasureReceipt{}, err
	}
	e := ErasureReceipt{
		Dataset:            r.str(m, "dataset"),
		Purpose:            r.str(m, "purpose"),
		ConsentVersion:     r.str(m, "consent_version"),
		Scope:              scopeOrDefault(r.str(m, "scope")),
		Reason:             r.str(m, "reason"),
		ErasureEffectiveAt: r.time(m, "erasure_effective_at"),
		AppliedAt:          r.time(m, "applied_at"),
		PurgeDeadline:      r.time(m, "purge_deadline"),
	}
	if id, ok := m["snapshot_id"].(int64); ok {
		e.SnapshotID = id
	} else {
		r.fail("snapshot_id", m["snapshot_id"], "long")
	}
	return e, r.err
}

// reader extracts fields from a native record, remembering the first type error.
type reader struct{ err error }

func (r *reader) record(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want record, got %T", v)
	}
	return m, nil
}

func (r *reader) fail(field string, v any, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: want %s, got %T", field, want, v)
	}
}

// unwrap removes goavro's union wrapper {"type": value}.
func unwrap(v any) any {
	if m, ok := v.(map[string]any); ok && len(m) == 1 {
		for k, inner := range m {
			switch k {
			case "string", "long", "long.timestamp-millis", "boolean", "int", "bytes":
				return inner
			}
		}
	}
	return v
}

func (r *reader) str(m map[string]any, field string) string {
	v := unwrap(m[field])
	switch s := v.(type) {
	case nil:
		return ""
	case string:
		return s
	default:
		r.fail(field, v, "string")
		return ""
	}
}

func (r *reader) bytes(m map[string]any, field string) []byte {
	v := unwrap(m[field])
	switch b := v.(type) {
	case nil:
		return nil
	case []byte:
		return b
	default:
		r.fail(field, v, "bytes")
		return nil
	}
}

func (r *reader) bool(m map[string]any, field string) bool {
	v := unwrap(m[field])
	switch b := v.(type) {
	case nil:
		return false
	case bool:
		return b
	default:
		r.fail(field, v, "boolean")
		return false
	}
}

func (r *reader) time(m map[string]any, field string) time.Time {
	v := unwrap(m[field])
	switch t := v.(type) {
	case nil:
		return time.Time{}
	case time.Time:
		return t.UTC()
	case int64:
		return time.UnixMilli(t).UTC()
	default:
		r.fail(field, v, "timestamp-millis")
		return time.Time{}
	}
}

func (r *reader) strMap(m map[string]any, field string) map[string]string {
	v := m[field]
	if v == nil {
		return nil
	}
	in, ok := v.(map[string]any)
	if !ok {
		r.fail(field, v, "map")
		return nil
	}
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, x := range in {
		s, ok := x.(string)
		if !ok {
			r.fail(field+"."+k, x, "string")
			continue
		}
		out[k] = s
	}
	return out
}

func scopeOrDefault(s string) string {
	if s == "" {
		return ScopeSubject
	}
	return s
}
