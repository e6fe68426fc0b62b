package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
)

// curatedEnv is what `consentflow curated read` connects to: the chain's
// Kafka, registry and the Redis holding the curated data keys.
type curatedEnv struct {
	stream.Config
	avro.RegistryConfig
	Redis          redisconn.Config
	RedisNamespace string `env:"REDIS_NAMESPACE" envDefault:"cf" help:"prefix of the Redis keys the anonymizer keeps curated data keys under"`
	Topic          string `env:"TOPIC_EVENTS_CURATED" envDefault:"events.curated" help:"the curated topic"`
}

// curatedLine is one record of `consentflow curated read`: its position, and
// either its content (opened, clear) or why there is none (erased, missing).
type curatedLine struct {
	Partition int                  `json:"partition"`
	Offset    int64                `json:"offset"`
	Outcome   string               `json:"outcome"`
	Error     string               `json:"error,omitempty"`
	Event     *schema.CuratedEvent `json:"event,omitempty"`
}

// curatedCommand reads events.curated as a consumer that starts now would:
// every record the topic holds up to its end at start, opened with the data
// keys in Redis.
func curatedCommand(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "read" {
		fmt.Fprintln(stderr, "usage: consentflow curated read [--erased]")
		return errors.New("curated: want the subcommand read")
	}
	fs := flag.NewFlagSet("curated read", flag.ContinueOnError)
	fs.SetOutput(stderr)
	erased := fs.Bool("erased", false, "also print records that cannot be read (erased, missing) as position and outcome")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: consentflow curated read [--erased]\n\n"+
			"Prints every record of events.curated as JSON lines {partition, offset, outcome, event}, its sealed\n"+
			"content opened with the data keys in Redis (read access to <namespace>:shred:* suffices). A record of a\n"+
			"subject or tenant erased since is unreadable: outcome erased, no event. No consumer group, nothing committed.\n\n"+
			"Configured by environment variables:")
		config.Usage(stderr, &curatedEnv{})
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var env curatedEnv
	if err := config.Load(&env); err != nil {
		return err
	}
	serde, err := avro.NewSerdeFor(env.RegistryConfig)
	if err != nil {
		return err
	}
	codec, err := avro.CuratedEvents(ctx, serde, env.Topic)
	if err != nil {
		return err
	}
	rdb, err := env.Redis.NewClient(redisconn.Options{DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := env.Redis.Check(ctx, rdb); err != nil {
		return err
	}
	keys, err := shred.NewStore(rdb, shred.Options{Namespace: env.RedisNamespace})
	if err != nil {
		return err
	}
	ends, err := stream.EndOffsets(ctx, env.Config, env.Topic)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	var batch []kafka.Message
	flush := func() error {
		evs := make([]*schema.CuratedEvent, len(batch))
		lines := make([]curatedLine, len(batch))
		for i, m := range batch {
			lines[i] = curatedLine{Partition: m.Partition, Offset: m.Offset}
			e, err := codec.Decode(ctx, m.Value)
			if err != nil {
				lines[i].Outcome, lines[i].Error = "undecodable", err.Error()
				continue
			}
			evs[i] = &e
		}
		var present []*schema.CuratedEvent
		var at []int
		for i, e := range evs {
			if e != nil {
				present, at = append(present, e), append(at, i)
			}
		}
		outcomes, errs, err := keys.Open(ctx, present)
		if err != nil {
			return err
		}
		for j, i := range at {
			lines[i].Outcome = outcomes[j].String()
			switch {
			case errs[j] != nil:
				lines[i].Outcome, lines[i].Error = "unopenable", errs[j].Error()
			case outcomes[j] == shred.Opened || outcomes[j] == shred.Clear:
				lines[i].Event = present[j]
			}
		}
		for _, l := range lines {
			if l.Event == nil && !*erased {
				continue
			}
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return nil
	}
	var ferr error
	err = stream.ReadRange(ctx, env.Config, env.Topic, nil, ends, func(m kafka.Message) {
		if ferr != nil {
			return
		}
		batch = append(batch, m)
		if len(batch) >= 500 {
			ferr = flush()
		}
	})
	if err == nil && ferr == nil {
		ferr = flush()
	}
	return errors.Join(err, ferr)
}
