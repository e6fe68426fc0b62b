package loadgen

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
)

// wireEvent is an event as POST /v1/events takes it: the fields the server
// stamps (received_at, source) are absent, gpc travels as the Sec-GPC header.
type wireEvent struct {
	EventID      string            `json:"event_id"`
	EventType    string            `json:"event_type"`
	TenantID     string            `json:"tenant_id"`
	UserID       string            `json:"user_id,omitempty"`
	AnonymousID  string            `json:"anonymous_id,omitempty"`
	SessionID    string            `json:"session_id,omitempty"`
	OccurredAt   *time.Time        `json:"occurred_at,omitempty"`
	Jurisdiction string            `json:"jurisdiction,omitempty"`
	IP           string            `json:"ip,omitempty"`
	UserAgent    string            `json:"user_agent,omitempty"`
	Locale       string            `json:"locale,omitempty"`
	Location     string            `json:"location,omitempty"`
	Text         string            `json:"text,omitempty"`
	Properties   map[string]string `json:"properties,omitempty"`
	ActorName    string            `json:"actor_name,omitempty"`
	ActorEmail   string            `json:"actor_email,omitempty"`
	ActorHandle  string            `json:"actor_handle,omitempty"`
}

func toWire(ev *schema.InteractionEvent) wireEvent {
	w := wireEvent{
		EventID: ev.EventID, EventType: ev.EventType, TenantID: ev.TenantID, UserID: ev.UserID,
		AnonymousID: ev.AnonymousID, SessionID: ev.SessionID, Jurisdiction: ev.Jurisdiction, IP: ev.IP,
		UserAgent: ev.UserAgent, Locale: ev.Locale, Location: ev.Location, Text: ev.Text,
		Properties: ev.Properties, ActorName: ev.ActorName, ActorEmail: ev.ActorEmail, ActorHandle: ev.ActorHandle,
	}
	if !ev.OccurredAt.IsZero() {
		t := ev.OccurredAt
		w.OccurredAt = &t
	}
	return w
}

// EventsBody is the JSON body of POST /v1/events ({"events": [...]}) carrying evs,
// as the load generator sends it.
func EventsBody(evs []schema.InteractionEvent) []byte {
	body := struct {
		Events []wireEvent `json:"events"`
	}{Events: make([]wireEvent, len(evs))}
	for i := range evs {
		body.Events[i] = toWire(&evs[i])
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(fmt.Sprintf("loadgen: marshal events: %v", err)) // plain data; cannot fail
	}
	return b
}
