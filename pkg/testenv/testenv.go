// Package testenv gives tests the infrastructure to run against: the real
// services named by KAFKA_BROKERS, REDIS_ADDR and SCHEMA_REGISTRY_URL when
// CONSENTFLOW_LIVE=1 (the live suite, `make test-live`), the embedded stack
// otherwise (`make test`). Live, the connection settings are read from the same
// variables the services read (KAFKA_TLS_*, KAFKA_SASL_*, REDIS_USERNAME,
// REDIS_TLS_*, SCHEMA_REGISTRY_*), so the live suite runs unchanged against
// secured services (`scripts/services.sh` with CONSENTFLOW_SECURE=1). Tests name
// their topics, groups and Redis databases per test, because a real broker
// outlives the test.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/embedded"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// Env is the infrastructure of one test.
type Env struct {
	// Kafka, Redis and Registry are how to connect (addresses, TLS, credentials).
	Kafka    stream.Config
	Redis    redisconn.Config
	Registry avro.RegistryConfig
	// Live is true against real services.
	Live bool
	// Embedded is the in-process stack when not Live.
	Embedded *embedded.Stack
	// Prefix is unique to this test; Names carries it on every topic.
	Prefix string
	Names  topics.Names
}

// Live reports whether the live suite is selected.
func Live() bool { return os.Getenv("CONSENTFLOW_LIVE") == "1" }

// RequireLive skips t unless the live suite runs (for tests of what only a real
// broker shows).
func RequireLive(t testing.TB) {
	t.Helper()
	if !Live() {
		t.Skip("needs real services: run `make services && make test-live`")
	}
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// Start returns the environment for t with the chain's topics created under a
// prefix unique to t.
func Start(t testing.TB) *Env {
	t.Helper()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := strings.ToLower(unsafe.ReplaceAllString(t.Name(), "-"))
	if len(name) > 40 {
		name = name[:40]
	}
	e := &Env{Prefix: name + "-" + hex.EncodeToString(b) + "."}
	n := topics.DefaultNames()
	n.Changes, n.Raw, n.Consented = e.Prefix+n.Changes, e.Prefix+n.Raw, e.Prefix+n.Consented
	n.Curated, n.Decisions, n.Erasures, n.DLQ = e.Prefix+n.Curated, e.Prefix+n.Decisions, e.Prefix+n.Erasures, e.Prefix+n.DLQ
	n.Receipts = e.Prefix + n.Receipts
	e.Names = n
	specs := topics.Specs(n, topics.Settings{Partitions: 3, ChangePartitions: 2, ReplicationFactor: 1})

	if Live() {
		e.Live = true
		must(t, "KAFKA_BROKERS")
		must(t, "REDIS_ADDR")
		var live struct {
			Kafka    stream.Config
			Redis    redisconn.Config
			Registry avro.RegistryConfig
		}
		if err := config.Load(&live); err != nil {
			t.Fatalf("live services: %v", err)
		}
		if err := errors.Join(live.Kafka.Validate(), live.Redis.Validate(), live.Registry.Validate()); err != nil {
			t.Fatalf("live services: %v", err)
		}
		e.Kafka, e.Redis, e.Registry = live.Kafka, live.Redis, live.Registry
		if os.Getenv("SCHEMA_REGISTRY_URL") == "" && os.Getenv("SCHEMA_REGISTRY_URL_FILE") == "" {
			// No runnable registry here: an in-process one (see README).
			st, err := embedded.Start(context.Background(), embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(st.Close)
			e.Registry = st.RegistryConfig
		}
	} else {
		st, err := embedded.Start(context.Background(), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		e.Embedded = st
		e.Kafka, e.Redis, e.Registry = st.KafkaConfig, st.RedisConfig, st.RegistryConfig
	}
	if _, err := topics.Ensure(context.Background(), e.Kafka, specs); err != nil {
		t.Fatalf("create topics: %v", err)
	}
	return e
}

func must(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("CONSENTFLOW_LIVE=1 needs %s (eval \"$(bash scripts/services.sh env)\")", name)
	}
	return v
}

// RedisClient returns a client of the test's Redis (closed when the test ends).
func (e *Env) RedisClient(t testing.TB, o redisconn.Options) redis.UniversalClient {
	t.Helper()
	rdb, err := e.Redis.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
