// Package topics names consentflow's Kafka topics and creates them idempotently
// with the partitions, cleanup policy and retention of ARCHITECTURE.md.
package topics

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/stream"
)

// Names are the topic names of one chain (one purpose). Every name is configuration.
type Names struct {
	Changes   string `env:"TOPIC_CONSENT_CHANGES" envDefault:"consent.changes" help:"consent changes (compacted, source of truth)"`
	Raw       string `env:"TOPIC_EVENTS_RAW" envDefault:"events.raw" help:"raw interaction events from the producer"`
	Consented string `env:"TOPIC_EVENTS_CONSENTED" envDefault:"events.consented" help:"events the consent-filter allowed"`
	Curated   string `env:"TOPIC_EVENTS_CURATED" envDefault:"events.curated" help:"anonymized events"`
	Decisions string `env:"TOPIC_CONSENT_DECISIONS" envDefault:"consent.decisions" help:"consent decision audit trail"`
	Erasures  string `env:"TOPIC_DATASET_ERASURES" envDefault:"dataset.erasures" help:"erasure instructions for the dataset sink (compacted)"`
	Receipts  string `env:"TOPIC_ERASURE_RECEIPTS" envDefault:"dataset.erasure-receipts" help:"receipts of erasures the dataset sink applied (compacted; names the consent change, never the person)"`
	DLQ       string `env:"TOPIC_EVENTS_DLQ" envDefault:"events.dlq" help:"dead letters with error/stage/source headers"`
}

// DefaultNames returns the default topic names.
func DefaultNames() Names {
	return Names{
		Changes: "consent.changes", Raw: "events.raw", Consented: "events.consented",
		Curated: "events.curated", Decisions: "consent.decisions", Erasures: "dataset.erasures",
		Receipts: "dataset.erasure-receipts", DLQ: "events.dlq",
	}
}

// Settings size the topics.
type Settings struct {
	Partitions        int `env:"TOPIC_PARTITIONS" envDefault:"6" help:"partitions of each event topic (bounds consumer instances per stage)"`
	ChangePartitions  int `env:"TOPIC_CONSENT_PARTITIONS" envDefault:"3" help:"partitions of consent.changes, dataset.erasures and dataset.erasure-receipts"`
	ReplicationFactor int `env:"TOPIC_REPLICATION_FACTOR" envDefault:"1" help:"replication factor (3 in production)"`
}

// Spec is one topic to create.
type Spec struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	Configs           map[string]string
}

const day = 24 * time.Hour

func retention(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// Specs returns the topics of ARCHITECTURE.md with their settings.
func Specs(n Names, s Settings) []Spec {
	del := func(name string, parts int, keep time.Duration) Spec {
		return Spec{Name: name, Partitions: parts, ReplicationFactor: s.ReplicationFactor,
			Configs: map[string]string{"cleanup.policy": "delete", "retention.ms": retention(keep)}}
	}
	compact := func(name string, parts int) Spec {
		return Spec{Name: name, Partitions: parts, ReplicationFactor: s.ReplicationFactor,
			Configs: map[string]string{"cleanup.policy": "compact", "retention.ms": "-1", "min.compaction.lag.ms": retention(time.Minute)}}
	}
	return []Spec{
		compact(n.Changes, s.ChangePartitions),
		del(n.Raw, s.Partitions, 3*day),
		del(n.Consented, s.Partitions, 3*day),
		del(n.Curated, s.Partitions, 30*day),
		del(n.Decisions, s.Partitions, 400*day),
		compact(n.Erasures, s.ChangePartitions),
		compact(n.Receipts, s.ChangePartitions),
		del(n.DLQ, 1, 7*day),
	}
}

// Ensure creates every spec that does not exist yet and leaves existing topics as
// they are. It returns the names it created.
func Ensure(ctx context.Context, k stream.Config, specs []Spec) ([]string, error) {
	cl := k.Client(30 * time.Second)
	req := &kafka.CreateTopicsRequest{}
	for _, s := range specs {
		tc := kafka.TopicConfig{Topic: s.Name, NumPartitions: s.Partitions, ReplicationFactor: s.ReplicationFactor}
		for k, v := range s.Configs {
			tc.ConfigEntries = append(tc.ConfigEntries, kafka.ConfigEntry{ConfigName: k, ConfigValue: v})
		}
		req.Topics = append(req.Topics, tc)
	}
	resp, err := cl.CreateTopics(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("create topics: %w", err)
	}
	var created []string
	var errs []error
	for _, s := range specs {
		switch err := resp.Errors[s.Name]; {
		case err == nil:
			created = append(created, s.Name)
		case errors.Is(err, kafka.TopicAlreadyExists):
		default:
			errs = append(errs, fmt.Errorf("create topic %s: %w", s.Name, err))
		}
	}
	return created, errors.Join(errs...)
}

// Describe returns a topic's partition count and the values of the named configs.
func Describe(ctx context.Context, k stream.Config, topic string, configs ...string) (int, map[string]string, error) {
	cl := k.Client(30 * time.Second)
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, nil, fmt.Errorf("metadata %s: %w", topic, err)
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		if len(md.Topics) == 1 {
			return 0, nil, fmt.Errorf("metadata %s: %w", topic, md.Topics[0].Error)
		}
		return 0, nil, fmt.Errorf("metadata %s: not found", topic)
	}
	parts := len(md.Topics[0].Partitions)
	dc, err := cl.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: configs,
	}}})
	if err != nil {
		return parts, nil, fmt.Errorf("describe configs %s: %w", topic, err)
	}
	out := map[string]string{}
	for _, r := range dc.Resources {
		if r.Error != nil {
			return parts, nil, fmt.Errorf("describe configs %s: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			out[e.ConfigName] = e.ConfigValue
		}
	}
	return parts, out, nil
}
