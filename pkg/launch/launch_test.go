package launch

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/run"
	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/stream"
)

// fakeConfig reads what every launched service gets.
type fakeConfig struct {
	Ops     string `env:"OPS_ADDR"`
	Brokers string `env:"KAFKA_BROKERS"`
	Raw     string `env:"TOPIC_EVENTS_RAW"`
	Crash   bool   `env:"CRASH"`
}

// fakeService serves /readyz on OPS_ADDR until cancelled, or fails at once with
// CRASH.
func fakeService(ctx context.Context, cfg fakeConfig, _ *zap.Logger, reg *prometheus.Registry) error {
	if cfg.Crash {
		return errors.New("crashed")
	}
	svc := run.Start(ctx, "fake", cfg.Ops, reg, zap.NewNop())
	return svc.Wait()
}

func TestChainEnvironmentAndGoroutineLifecycle(t *testing.T) {
	var defs []run.Definition
	for _, s := range Services {
		defs = append(defs, run.Define(s, fakeService))
	}
	g := &Goroutines{Services: defs, Logger: zaptest.NewLogger(t)}
	stack := Stack{
		Kafka: stream.Config{Brokers: []string{"127.0.0.1:1", "127.0.0.1:2"}, TLS: secure.TLS{TLSOptions: secure.TLSOptions{CAFile: "/ca.pem"}},
			SASL: stream.SASL{Mechanism: stream.SCRAM512, Username: "u", Password: "p"}},
		Registry: avro.RegistryConfig{URL: "https://r", Username: "ru", Password: "rp"},
		Redis:    redisconn.Config{Addr: "127.0.0.1:3", Username: "redis-user", Password: "redis-pass", TLS: secure.TLS{Enabled: true}},
	}
	c, err := New(Options{Stack: stack,
		Prefix: "t1.", Dir: t.TempDir(), Env: map[string]map[string]string{"anonymizer": {"PROPERTIES_ALLOWLIST": "x"}}}, g)
	require.NoError(t, err)
	t.Cleanup(c.Close)

	require.Equal(t, "t1.events.raw", c.Names.Raw)
	require.Equal(t, "t1", c.RedisNamespace)
	f := c.Env("consent-filter")
	require.Equal(t, "t1.consent-filter", f["FILTER_GROUP_ID"])
	require.Equal(t, "127.0.0.1:1,127.0.0.1:2", f["KAFKA_BROKERS"])
	// The stack's connection settings reach every service as the variables it reads.
	for _, s := range Services {
		e := c.Env(s)
		require.Equal(t, "/ca.pem", e["KAFKA_TLS_CA_FILE"], s)
		require.Equal(t, "SCRAM-SHA-512", e["KAFKA_SASL_MECHANISM"], s)
		require.Equal(t, "p", e["KAFKA_SASL_PASSWORD"], s)
		require.Equal(t, "https://r", e["SCHEMA_REGISTRY_URL"], s)
		require.Equal(t, "rp", e["SCHEMA_REGISTRY_PASSWORD"], s)
	}
	require.Equal(t, "redis-user", f["REDIS_USERNAME"])
	require.Equal(t, "redis-pass", f["REDIS_PASSWORD"])
	require.Equal(t, "true", f["REDIS_TLS_ENABLED"])
	require.NotContains(t, c.Env("producer"), "REDIS_PASSWORD", "only the consent-filter talks to Redis")
	require.Equal(t, "true", f["AUDIT_KEY_EPHEMERAL"], "no key given: ephemeral")
	require.Equal(t, "x", c.Env("anonymizer")["PROPERTIES_ALLOWLIST"], "overrides win")
	require.Equal(t, c.Groups.Sink+"-erasures", c.Groups.SinkErasures, "the sink derives its erasure group")
	addrs := map[string]bool{}
	for _, s := range Services {
		addrs[c.OpsAddr(s)] = true
		require.True(t, strings.HasPrefix(c.Env(s)["TOPIC_EVENTS_DLQ"], "t1."), s)
	}
	require.Len(t, addrs, 4, "one ops port per service")

	ctx := context.Background()
	require.NoError(t, c.Start(Services...))
	require.NoError(t, c.WaitReady(ctx, 10*time.Second))
	resp, err := http.Get("http://" + c.OpsAddr("dataset-sink") + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.NotNil(t, g.Registry("dataset-sink"))

	require.NoError(t, c.Stop("anonymizer", syscall.SIGTERM, 5*time.Second))
	require.False(t, c.Running("anonymizer"))
	require.Empty(t, c.Unexpected(), "stopped on purpose")
	require.NoError(t, c.Start("anonymizer"))
	require.NoError(t, c.WaitReady(ctx, 10*time.Second, "anonymizer"))
	require.NoError(t, c.StopAll(5*time.Second))
	require.Empty(t, c.Unexpected())
}

func TestChainReportsAServiceThatExitsByItself(t *testing.T) {
	defs := []run.Definition{run.Define("producer", fakeService)}
	c, err := New(Options{Dir: t.TempDir(), Env: map[string]map[string]string{"producer": {"CRASH": "true"}}},
		&Goroutines{Services: defs, Logger: zap.NewNop()})
	require.NoError(t, err)
	require.NoError(t, c.Start("producer"))
	err = c.WaitReady(context.Background(), 5*time.Second, "producer")
	require.ErrorContains(t, err, "crashed")
	require.Eventually(t, func() bool { return len(c.Unexpected()) == 1 }, time.Second, time.Millisecond)
	require.Contains(t, c.Unexpected()[0], "producer (goroutine) exited by itself")
	require.ErrorContains(t, c.Exited()["producer"], "crashed")
	require.NoError(t, c.Start("producer")) // restarted: its latest start has not exited (yet)
	require.Eventually(t, func() bool { return len(c.Unexpected()) == 2 }, time.Second, time.Millisecond)
}

// TestProcessIsIsolatedAndStoppable: a process gets PATH, HOME, TMPDIR and its
// own variables only, its output goes to its log, and a signal reaches it.
func TestProcessIsIsolatedAndStoppable(t *testing.T) {
	t.Setenv("TOPIC_EVENTS_RAW", "from-the-caller")
	log := t.TempDir() + "/logs/env.log"
	p, err := StartProcess("env", "/usr/bin/env", nil, IsolatedEnv(map[string]string{"OPS_ADDR": "127.0.0.1:1"}), log)
	require.NoError(t, err)
	<-p.Done()
	require.NoError(t, p.Err())
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	require.Contains(t, string(b), "OPS_ADDR=127.0.0.1:1")
	require.Contains(t, string(b), "PATH=")
	require.NotContains(t, string(b), "TOPIC_EVENTS_RAW")

	p, err = StartProcess("sleep", "/bin/sleep", []string{"30"}, IsolatedEnv(nil), t.TempDir()+"/sleep.log")
	require.NoError(t, err)
	require.NoError(t, p.Signal(syscall.SIGTERM))
	select {
	case <-p.Done():
		require.Error(t, p.Err(), "terminated by the signal")
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not stop the process")
	}
}
