// Package testenv gives tests the infrastructure to run against: the real
// services named by KAFKA_BROKERS, REDIS_ADDR and SCHEMA_REGISTRY_URL when
// CONSENTFLOW_LIVE=1 (the live suite, `make test-live`), the embedded stack
// otherwise (`make test`). Tests name their topics, groups and Redis databases per
// test, because a real broker outlives the test.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/embedded"
	"github.com/consentflow/consentflow/pkg/topics"
)

// Env is the infrastructure of one test.
type Env struct {
	Brokers     []string
	RedisAddr   string
	RegistryURL string
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
	e.Names = n
	specs := topics.Specs(n, topics.Settings{Partitions: 3, ChangePartitions: 2, ReplicationFactor: 1})

	if Live() {
		e.Live = true
		e.Brokers = strings.Split(must(t, "KAFKA_BROKERS"), ",")
		e.RedisAddr = must(t, "REDIS_ADDR")
		e.RegistryURL = os.Getenv("SCHEMA_REGISTRY_URL")
		if e.RegistryURL == "" {
			// No runnable registry here: an in-process one (see README).
			st, err := embedded.Start(context.Background(), embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(st.Close)
			e.RegistryURL = st.RegistryURL
		}
	} else {
		st, err := embedded.Start(context.Background(), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		e.Embedded = st
		e.Brokers, e.RedisAddr, e.RegistryURL = st.Brokers, st.RedisAddr, st.RegistryURL
	}
	if _, err := topics.Ensure(context.Background(), e.Brokers, specs); err != nil {
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
