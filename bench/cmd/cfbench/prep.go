package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/consentflow/consentflow/pkg/schema"
)

// dataset is what the stage benchmarks replay: loadgen events (a Jira/Confluence
// -like product, free text with PII), encoded as the producer encodes them, and
// the consent records of the same world.
type dataset struct {
	events  []schema.InteractionEvent
	raw     []kafka.Message // events.raw records (Avro, Confluent wire format)
	changes []kafka.Message // consent.changes records
	bytes   int64
}

// wireEvent is the JSON of POST /v1/events (as pkg/loadgen sends it).
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
	w := wireEvent{EventID: ev.EventID, EventType: ev.EventType, TenantID: ev.TenantID, UserID: ev.UserID,
		AnonymousID: ev.AnonymousID, SessionID: ev.SessionID, Jurisdiction: ev.Jurisdiction, IP: ev.IP,
		UserAgent: ev.UserAgent, Locale: ev.Locale, Location: ev.Location, Text: ev.Text,
		Properties: ev.Properties, ActorName: ev.ActorName, ActorEmail: ev.ActorEmail, ActorHandle: ev.ActorHandle}
	if !ev.OccurredAt.IsZero() {
		t := ev.OccurredAt
		w.OccurredAt = &t
	}
	return w
}

func body(evs []schema.InteractionEvent) []byte {
	w := struct {
		Events []wireEvent `json:"events"`
	}{}
	for i := range evs {
		w.Events = append(w.Events, toWire(&evs[i]))
	}
	b, _ := json.Marshal(w)
	return b
}

// prep creates the topics and generates the data set: 200 tenants × 250 users
// (50,000 users; half of them granted before any event, then 1% withdrawals, 2%
// grants and a few tenant opt-outs among the actions).
func (b *bench) prep() error {
	if err := createTopics(b.ctx, b.brokers, b.names); err != nil {
		return err
	}
	cfg := loadgen.DefaultConfig()
	cfg.Seed, cfg.Tenants, cfg.UsersPerTenant = 42, 200, 250
	gen, err := loadgen.NewGenerator(cfg)
	if err != nil {
		return err
	}
	serde, err := avro.NewSerdeFor(avro.RegistryConfig{URL: b.registry})
	if err != nil {
		return err
	}
	rawCodec, err := avro.InteractionEvents(b.ctx, serde, b.names.Raw)
	if err != nil {
		return err
	}
	chCodec, err := avro.ConsentChanges(b.ctx, serde, b.names.Changes)
	if err != nil {
		return err
	}
	n := b.res.Settings.StageEvents
	d := &dataset{}
	// Consent given an hour before the events were received (rule 3 needs the
	// grant to precede received_at); events are stamped when pre-filled.
	effective := time.Now().Add(-time.Hour).UTC()
	received := time.Now().UTC()
	for len(d.events) < n {
		a := gen.Next()
		switch a.Kind {
		case loadgen.ActionConsent:
			c := a.Consent
			ch := schema.ConsentChange{SubjectType: c.SubjectType, SubjectID: c.SubjectID, TenantID: c.TenantID, Purpose: c.Purpose,
				Status: c.Status, EffectiveAt: effective, Source: "bench", PolicyVersion: "builtin-2025.1"}
			v, err := chCodec.Encode(&ch)
			if err != nil {
				return err
			}
			d.changes = append(d.changes, kafka.Message{Topic: b.names.Changes, Key: []byte(ch.Key()), Value: v})
		case loadgen.ActionEvent:
			ev := a.Event.Event
			ev.GPC = a.Event.GPC
			ev.Source = "api"
			ev.ReceivedAt = received.Add(time.Duration(len(d.events)) * time.Microsecond)
			v, err := rawCodec.Encode(&ev)
			if err != nil {
				return err
			}
			d.events = append(d.events, ev)
			d.raw = append(d.raw, kafka.Message{Topic: b.names.Raw, Key: []byte(ev.Subject()), Value: v})
			d.bytes += int64(len(v) + len(ev.Subject()))
		}
	}
	b.data = d
	b.res.Settings.RecordBytes = int(d.bytes / int64(len(d.raw)))
	b.res.Settings.Users = cfg.Tenants * cfg.UsersPerTenant
	b.res.Settings.ConsentRecs = len(d.changes)
	b.logf("generated %d events (avg %d B/record) and %d consent records for %d users", len(d.raw), b.res.Settings.RecordBytes, len(d.changes), b.res.Settings.Users)
	return nil
}

func withTopic(msgs []kafka.Message, topic string) []kafka.Message {
	out := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		out[i] = kafka.Message{Topic: topic, Key: m.Key, Value: m.Value, Headers: m.Headers}
	}
	return out
}

func mustData(b *bench) error {
	if b.data == nil {
		return fmt.Errorf("no data set (prep failed)")
	}
	return nil
}
