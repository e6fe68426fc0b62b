package main

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/embedded"
	"github.com/consentflow/consentflow/pkg/launch"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/secure/securetest"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/pkg/topics"
)

// securedStack is the stack the secured tests run against: the live services
// when they run secured (`CONSENTFLOW_SECURE=1 make services test-live`: Apache
// Kafka's SASL_SSL listener with SCRAM-SHA-512 and a client certificate, Redis
// over TLS with an ACL user, Apicurio over https), the embedded stack secured
// the same way otherwise (kfake, miniredis and srfake behind TLS, SCRAM-SHA-512,
// an ACL user and basic auth). The chain's topics exist under prefix.
func securedStack(t *testing.T) (stack launch.Stack, prefix string) {
	t.Helper()
	if testenv.Live() && os.Getenv("KAFKA_SASL_MECHANISM") != "" {
		env := testenv.Start(t)
		stack = launch.Stack{Kafka: env.Kafka, Redis: env.Redis, Registry: env.Registry}
		prefix = env.Prefix
	} else {
		st, err := embedded.Start(context.Background(), embedded.Options{Secure: true,
			Topics: topics.Specs(topics.DefaultNames(), topics.Settings{Partitions: 2, ChangePartitions: 2, ReplicationFactor: 1})})
		require.NoError(t, err)
		t.Cleanup(st.Close)
		stack = launch.Stack{Kafka: st.KafkaConfig, Redis: st.RedisConfig, Registry: st.RegistryConfig}
	}
	// What the acceptance asks for, whichever stack this is.
	require.Equal(t, stream.SCRAM512, stack.Kafka.SASL.Mechanism)
	require.True(t, stack.Kafka.TLS.On() && stack.Redis.TLS.On(), "Kafka and Redis over TLS")
	require.NotEmpty(t, stack.Redis.Username, "Redis with an ACL user")
	require.True(t, strings.HasPrefix(stack.Registry.URL, "https://"), "the registry over https")
	t.Logf("secured stack: Kafka %s, Redis %s, registry %s", stack.Kafka, stack.Redis, stack.Registry.URL)
	return stack, prefix
}

// TestSecuredChain runs the whole chain — the four services as their binaries
// run them, the load generator, a snapshot — with every connection secured:
// SASL_SSL Kafka (SCRAM-SHA-512, client certificate), Redis over TLS with an
// ACL user, the registry over https. The secured services also refuse what is
// not secured: plaintext to the broker, Redis without the user.
func TestSecuredChain(t *testing.T) {
	stack, prefix := securedStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	plain := stack.Kafka
	plain.TLS, plain.SASL = secure.TLS{}, stream.SASL{}
	cctx, ccancel := context.WithTimeout(ctx, 3*time.Second)
	require.Error(t, plain.Check(cctx), "the broker must not serve this port without TLS and SASL")
	ccancel()
	anonymous := stack.Redis
	anonymous.Username, anonymous.Password = "", ""
	rdb, err := anonymous.NewClient(redisconn.Options{})
	require.NoError(t, err)
	err = anonymous.Check(ctx, rdb)
	rdb.Close()
	require.True(t, secure.IsRejection(err), "Redis must refuse a client without the ACL user: %v", err)

	services := &launch.Goroutines{Services: serviceDefinitions(), Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))}
	chain, err := launch.New(launch.Options{Stack: stack, Prefix: prefix, Dir: t.TempDir()}, services)
	require.NoError(t, err)
	defer chain.Close()
	require.NoError(t, chain.Start(launch.Services...))
	defer func() { require.NoError(t, chain.StopAll(30*time.Second)) }()
	var out bytes.Buffer
	say := func(format string, a ...any) { t.Logf(format, a...) }
	_, err = demoScenario(ctx, demoOptions{events: 300, seed: 7}, say, chain, services, &out)
	require.NoError(t, err, out.String())
	t.Log(out.String())
	m := regexp.MustCompile(`rows in snapshot\s+(\d+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	require.NotEqual(t, "0", m[1], "rows reached the snapshot through the secured stack")
	require.Empty(t, chain.Unexpected())
}

// TestDemoSecureFlag: `consentflow demo --secure` runs on the secured embedded stack.
func TestDemoSecureFlag(t *testing.T) {
	var out bytes.Buffer
	err := demoCommand(context.Background(), []string{"--secure", "--events", "100", "--out", t.TempDir(), "--log-level", "error", "--timeout", "2m"},
		nil, &out, &out)
	require.NoError(t, err, out.String())
	require.Contains(t, out.String(), "(SASL_SSL, SCRAM-SHA-512)")
	require.Contains(t, out.String(), "rows in snapshot")
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// runService runs one service as its binary would, with env, for at most
// within, and returns its error (nil when it was still running) and its logs.
func runService(t *testing.T, name string, env map[string]string, within time.Duration) (string, error) {
	t.Helper()
	var logs syncBuffer
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(&logs), zap.DebugLevel))
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for _, d := range serviceDefinitions() {
		if d.Name == name {
			err := d.Run(ctx, env, logger, prometheus.NewRegistry())
			if ctx.Err() != nil {
				err = nil // still running when the time was up
			}
			return logs.String(), err
		}
	}
	t.Fatalf("no service %s", name)
	return "", nil
}

// TestServicesStopAtStartWithOneClearError: a wrong Kafka password, a broker
// certificate from an unknown CA, a wrong registry password and (for the
// consent-filter) a wrong Redis password each stop every service within
// seconds with one error naming the server and the variable to fix — not a
// retry loop — and no password reaches the logs. A broker that is down is
// waited for.
func TestServicesStopAtStartWithOneClearError(t *testing.T) {
	stack, prefix := securedStack(t)
	chain, err := launch.New(launch.Options{Stack: stack, Prefix: prefix, Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	other, err := securetest.NewCA(t.TempDir(), "other")
	require.NoError(t, err)
	broker := stack.Kafka.Brokers[0]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := ln.Addr().String()
	ln.Close()

	const wrong = "wrong-password-7f3a"
	secrets := []string{wrong, stack.Kafka.SASL.Password.Reveal(), stack.Redis.Password.Reveal(), stack.Registry.Password.Reveal()}
	type tc struct {
		name     string
		override map[string]string
		services []string
		want     []string
	}
	cases := []tc{
		{"wrong Kafka password", map[string]string{"KAFKA_SASL_PASSWORD": wrong}, launch.Services,
			[]string{"Kafka broker " + broker, `it refused the SASL credentials (SCRAM-SHA-512, user "` + stack.Kafka.SASL.Username + `": KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)`}},
		{"unknown CA", map[string]string{"KAFKA_TLS_CA_FILE": other.CertFile}, launch.Services,
			[]string{"Kafka broker " + broker, "signed by an authority this client does not trust (KAFKA_TLS_CA_FILE)"}},
		{"no client certificate", map[string]string{"KAFKA_TLS_CERT_FILE": "", "KAFKA_TLS_KEY_FILE": ""}, []string{"producer"},
			[]string{"Kafka broker " + broker, "it refused the TLS handshake"}},
		{"registry certificate from an unknown CA", map[string]string{"SCHEMA_REGISTRY_TLS_CA_FILE": other.CertFile}, []string{"anonymizer"},
			[]string{"schema registry " + stack.Registry.URL, "does not trust (SCHEMA_REGISTRY_TLS_CA_FILE)"}},
		{"wrong Redis password", map[string]string{"REDIS_PASSWORD": wrong}, []string{"consent-filter"},
			[]string{"Redis " + stack.Redis.Addr, `it refused the credentials of user "` + stack.Redis.Username + `" (REDIS_USERNAME, REDIS_PASSWORD)`}},
	}
	if stack.Registry.Username != "" { // Apicurio here has no basic auth without an OIDC server
		cases = append(cases, tc{"wrong registry password", map[string]string{"SCHEMA_REGISTRY_PASSWORD": wrong}, launch.Services,
			[]string{"schema registry " + stack.Registry.URL, "it refused the credentials (SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD)"}})
	}
	for _, tc := range cases {
		for _, svc := range tc.services {
			t.Run(tc.name+"/"+svc, func(t *testing.T) {
				env := chain.Env(svc)
				maps.Copy(env, tc.override)
				start := time.Now()
				logs, err := runService(t, svc, env, 20*time.Second)
				t.Logf("%s: %v", svc, err)
				require.Error(t, err, "%s kept running:\n%s", svc, logs)
				require.Less(t, time.Since(start), 10*time.Second, "stopped at once, not after retries")
				for _, w := range tc.want {
					require.ErrorContains(t, err, w)
				}
				for _, s := range secrets {
					if s != "" {
						require.NotContains(t, logs, s, "a password in the logs")
						require.NotContains(t, err.Error(), s, "a password in the error")
					}
				}
				require.LessOrEqual(t, strings.Count(logs, "retrying"), 1, "no retry loop:\n%s", logs)
			})
		}
	}

	t.Run("broker down is waited for", func(t *testing.T) {
		env := chain.Env("anonymizer")
		env["KAFKA_BROKERS"] = down
		env["OPS_ADDR"] = freeLoopback(t)
		done := make(chan error, 1)
		go func() { _, err := runService(t, "anonymizer", env, 3*time.Second); done <- err }()
		require.Eventually(t, func() bool {
			resp, err := http.Get("http://" + env["OPS_ADDR"] + "/readyz")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(b.String(), "connecting to the Kafka brokers")
		}, 3*time.Second, 50*time.Millisecond)
		require.NoError(t, <-done, "still waiting for the broker when the time was up")
	})
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// TestHelpShowsNoSecrets: -h lists every connection variable and never a
// value from the environment.
func TestHelpShowsNoSecrets(t *testing.T) {
	secrets := map[string]string{"KAFKA_SASL_PASSWORD": "kafka-secret-91", "REDIS_PASSWORD": "redis-secret-92",
		"SCHEMA_REGISTRY_PASSWORD": "registry-secret-93"}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	check := func(name, help string) {
		for _, v := range secrets {
			require.NotContains(t, help, v, name)
		}
		for _, want := range []string{"KAFKA_SASL_PASSWORD", "KAFKA_TLS_CA_FILE", "KAFKA_SASL_MECHANISM"} {
			require.Contains(t, help, want, name)
		}
	}
	for _, s := range serviceConfigs() {
		if s.name == "every service" {
			continue
		}
		var out bytes.Buffer
		err := config.Parse(s.name, []string{"-h"}, s.cfg, &out)
		require.True(t, errors.Is(err, config.ErrHelp))
		check(s.name, out.String())
	}
	var out bytes.Buffer
	require.Error(t, topicsCommand(context.Background(), []string{"-h"}, nil, &out, &out))
	check("topics", out.String())
}
