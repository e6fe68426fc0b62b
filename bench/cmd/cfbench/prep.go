package main

import (
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/identity"
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

func body(evs []schema.InteractionEvent) []byte { return loadgen.EventsBody(evs) }

// prep creates the topics and generates the data set: 200 tenants × 250 users
// (50,000 users; half of them granted before any event, then 1% withdrawals, 2%
// grants and a few tenant opt-outs among the actions).
func (b *bench) prep() error {
	if err := createTopics(b.ctx, b.kafka, b.names); err != nil {
		return err
	}
	cfg := loadgen.DefaultConfig()
	cfg.SteadyChurn() // the churn every result in bench/results was measured with
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
			ch := identity.ConsentChange(c.Subject(), c.Purpose, c.Status, effective, "bench", "builtin-2025.1")
			key, _, err := identity.KeyOf(&ch)
			if err != nil {
				return err
			}
			v, err := chCodec.Encode(&ch)
			if err != nil {
				return err
			}
			d.changes = append(d.changes, kafka.Message{Topic: b.names.Changes, Key: []byte(key), Value: v})
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
