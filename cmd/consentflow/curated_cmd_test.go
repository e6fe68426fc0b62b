package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
)

// TestCuratedRead: `consentflow curated read` prints what a consumer starting
// now can read: an erased subject's records carry no content (outcome erased,
// printed only with --erased), the others are opened.
func TestCuratedRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env := testenv.Start(t)
	rdb, err := env.Redis.NewClient(redisconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ns := env.Prefix + "cf"
	keys, err := shred.NewStore(rdb, shred.Options{Namespace: ns, Purpose: "ai_training"})
	if err != nil {
		t.Fatal(err)
	}
	serde, err := avro.NewSerdeFor(env.Registry)
	if err != nil {
		t.Fatal(err)
	}
	codec, err := avro.CuratedEvents(ctx, serde, env.Names.Curated)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*schema.CuratedEvent
	for i, s := range []string{"k1:gone", "k1:kept", "k1:gone", "k1:kept"} {
		evs = append(evs, &schema.CuratedEvent{EventID: fmt.Sprintf("k1:e%d", i), EventType: "comment_added", Subject: s, Tenant: "k1:t",
			ReceivedAt: time.Unix(1700000000, 0).UTC(), Text: "note of " + s, Source: "api", Purpose: "ai_training"})
	}
	if _, err := keys.Seal(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var msgs []kafka.Message
	for _, e := range evs {
		b, err := codec.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, kafka.Message{Topic: env.Names.Curated, Key: []byte(e.Subject), Value: b})
	}
	w := stream.NewWriter(env.Kafka, nil)
	defer w.Close()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	if err := keys.Erase(ctx, schema.ScopeSubject, []string{"k1:gone"}, "0:1"); err != nil {
		t.Fatal(err)
	}
	for _, vars := range []map[string]string{config.Environ(&env.Kafka), config.Environ(&env.Registry), config.Environ(&env.Redis)} {
		for k, v := range vars {
			t.Setenv(k, v)
			// The secured suite exports the *_FILE form of each secret (e.g.
			// KAFKA_SASL_PASSWORD_FILE); with both set the configuration is
			// refused, so the one the test sets replaces it (restored after).
			if _, ok := os.LookupEnv(k + "_FILE"); ok {
				t.Setenv(k+"_FILE", "")
				os.Unsetenv(k + "_FILE")
			}
		}
	}
	t.Setenv("REDIS_NAMESPACE", ns)
	t.Setenv("TOPIC_EVENTS_CURATED", env.Names.Curated)

	for _, withErased := range []bool{false, true} {
		args := []string{"read"}
		if withErased {
			args = append(args, "--erased")
		}
		var out, errb bytes.Buffer
		if err := curatedCommand(ctx, args, nil, &out, &errb); err != nil {
			t.Fatalf("%v: %s", err, errb.String())
		}
		got := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var line curatedLine
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			switch {
			case line.Event != nil:
				got[line.Event.EventID] = line.Outcome + ": " + line.Event.Text
			default:
				got[fmt.Sprintf("%d/%d", line.Partition, line.Offset)] = line.Outcome
			}
		}
		if got["k1:e1"] != "opened: note of k1:kept" || got["k1:e3"] != "opened: note of k1:kept" {
			t.Fatalf("kept subject's records: %v", got)
		}
		if strings.Contains(out.String(), "note of k1:gone") {
			t.Fatalf("an erased subject's text was printed: %s", out.String())
		}
		erased := 0
		for _, v := range got {
			if v == "erased" {
				erased++
			}
		}
		if want := map[bool]int{false: 0, true: 2}[withErased]; erased != want || len(got) != 2+want {
			t.Fatalf("--erased=%v: %d erased lines of %d, want %d: %v", withErased, erased, len(got), want, got)
		}
	}
}
