package transform

import (
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
)

// kind is the Go shape of a field value.
type kind int

const (
	kindString kind = iota + 1
	kindTime
	kindBool
	kindMap
)

func (k kind) String() string {
	switch k {
	case kindString:
		return "string"
	case kindTime:
		return "time"
	case kindBool:
		return "bool"
	case kindMap:
		return "map"
	}
	return "unknown"
}

// value is one field value on its way from the raw to the curated event.
type value struct {
	s string
	t time.Time
	b bool
	m map[string]string
}

type rawField struct {
	kind kind
	get  func(*schema.InteractionEvent) value
}

type curatedField struct {
	kind kind
	set  func(*schema.CuratedEvent, value)
}

func str(f func(*schema.InteractionEvent) string) rawField {
	return rawField{kindString, func(e *schema.InteractionEvent) value { return value{s: f(e)} }}
}

func tm(f func(*schema.InteractionEvent) time.Time) rawField {
	return rawField{kindTime, func(e *schema.InteractionEvent) value { return value{t: f(e)} }}
}

// rawFields reads every field of InteractionEvent by its Avro name. A schema field
// missing here makes New fail, so a new raw field cannot slip through unhandled.
var rawFields = map[string]rawField{
	"event_id":   str(func(e *schema.InteractionEvent) string { return e.EventID }),
	"event_type": str(func(e *schema.InteractionEvent) string { return e.EventType }),
	"tenant_id":  str(func(e *schema.InteractionEvent) string { return e.TenantID }),
	// user_id feeds the curated subject, which is the consent subject: the user id,
	// or the anonymous id for anonymous traffic (as the consent-filter decided).
	"user_id":        str(func(e *schema.InteractionEvent) string { return e.Subject() }),
	"anonymous_id":   str(func(e *schema.InteractionEvent) string { return e.AnonymousID }),
	"session_id":     str(func(e *schema.InteractionEvent) string { return e.SessionID }),
	"received_at":    tm(func(e *schema.InteractionEvent) time.Time { return e.ReceivedAt }),
	"occurred_at":    tm(func(e *schema.InteractionEvent) time.Time { return e.OccurredAt }),
	"jurisdiction":   str(func(e *schema.InteractionEvent) string { return e.Jurisdiction }),
	"gpc":            {kindBool, func(e *schema.InteractionEvent) value { return value{b: e.GPC} }},
	"ip":             str(func(e *schema.InteractionEvent) string { return e.IP }),
	"user_agent":     str(func(e *schema.InteractionEvent) string { return e.UserAgent }),
	"locale":         str(func(e *schema.InteractionEvent) string { return e.Locale }),
	"location":       str(func(e *schema.InteractionEvent) string { return e.Location }),
	"text":           str(func(e *schema.InteractionEvent) string { return e.Text }),
	"properties":     {kindMap, func(e *schema.InteractionEvent) value { return value{m: e.Properties} }},
	"actor_name":     str(func(e *schema.InteractionEvent) string { return e.ActorName }),
	"actor_email":    str(func(e *schema.InteractionEvent) string { return e.ActorEmail }),
	"actor_handle":   str(func(e *schema.InteractionEvent) string { return e.ActorHandle }),
	"client_consent": str(func(e *schema.InteractionEvent) string { return e.ClientConsent }),
	"previous_id":    str(func(e *schema.InteractionEvent) string { return e.PreviousID }),
	"source":         str(func(e *schema.InteractionEvent) string { return e.Source }),
}

// curatedFields writes every non-derived field of CuratedEvent by its Avro name.
var curatedFields = map[string]curatedField{
	"event_id":     {kindString, func(c *schema.CuratedEvent, v value) { c.EventID = v.s }},
	"event_type":   {kindString, func(c *schema.CuratedEvent, v value) { c.EventType = v.s }},
	"subject":      {kindString, func(c *schema.CuratedEvent, v value) { c.Subject = v.s }},
	"tenant":       {kindString, func(c *schema.CuratedEvent, v value) { c.Tenant = v.s }},
	"session":      {kindString, func(c *schema.CuratedEvent, v value) { c.Session = v.s }},
	"received_at":  {kindTime, func(c *schema.CuratedEvent, v value) { c.ReceivedAt = v.t }},
	"occurred_at":  {kindTime, func(c *schema.CuratedEvent, v value) { c.OccurredAt = v.t }},
	"jurisdiction": {kindString, func(c *schema.CuratedEvent, v value) { c.Jurisdiction = v.s }},
	"gpc":          {kindBool, func(c *schema.CuratedEvent, v value) { c.GPC = v.b }},
	"ip_prefix":    {kindString, func(c *schema.CuratedEvent, v value) { c.IPPrefix = v.s }},
	"locale":       {kindString, func(c *schema.CuratedEvent, v value) { c.Locale = v.s }},
	"region":       {kindString, func(c *schema.CuratedEvent, v value) { c.Region = v.s }},
	"text":         {kindString, func(c *schema.CuratedEvent, v value) { c.Text = v.s }},
	"properties":   {kindMap, func(c *schema.CuratedEvent, v value) { c.Properties = v.m }},
	"source":       {kindString, func(c *schema.CuratedEvent, v value) { c.Source = v.s }},
}
