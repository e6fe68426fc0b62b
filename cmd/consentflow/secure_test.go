package main

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/embedded"
	"github.com/consentflow/consentflow/pkg/launch"
	"github.com/consentflow/consentflow/pkg/secure/securetest"
	"github.com/consentflow/consentflow/pkg/topics"
)

// TestDemoOnASecuredStack runs the whole chain — four services, load
// generator, snapshot — against Kafka over TLS with a client certificate and
// SASL SCRAM-SHA-512, Redis over TLS with an ACL user, and the registry over
// https with basic auth: every connection of every service is secured.
func TestDemoOnASecuredStack(t *testing.T) {
	var out bytes.Buffer
	err := demoCommand(context.Background(), []string{"--secure", "--events", "200", "--out", t.TempDir(), "--log-level", "error", "--timeout", "2m"},
		nil, &out, &out)
	require.NoError(t, err, out.String())
	require.Contains(t, out.String(), "(SASL_SSL, SCRAM-SHA-512)")
	m := regexp.MustCompile(`rows in snapshot\s+(\d+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	require.NotEqual(t, "0", m[1], "rows reached the snapshot through the secured stack")
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuffer) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

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
	stack, err := embedded.Start(context.Background(), embedded.Options{Secure: true,
		Topics: topics.Specs(topics.DefaultNames(), topics.Settings{Partitions: 1, ChangePartitions: 1, ReplicationFactor: 1})})
	require.NoError(t, err)
	defer stack.Close()
	chain, err := launch.New(launch.Options{Stack: launch.Stack{Kafka: stack.KafkaConfig, Redis: stack.RedisConfig, Registry: stack.RegistryConfig},
		Dir: t.TempDir()}, nil)
	require.NoError(t, err)
	other, err := securetest.NewCA(t.TempDir(), "other")
	require.NoError(t, err)
	broker := stack.Brokers[0]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := ln.Addr().String()
	ln.Close()

	const wrong = "wrong-password-7f3a"
	cases := []struct {
		name     string
		override map[string]string
		services []string
		want     []string
	}{
		{"wrong Kafka password", map[string]string{"KAFKA_SASL_PASSWORD": wrong}, launch.Services,
			[]string{"Kafka broker " + broker, `it refused the SASL credentials (SCRAM-SHA-512, user "consentflow": KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)`}},
		{"unknown CA", map[string]string{"KAFKA_TLS_CA_FILE": other.CertFile}, launch.Services,
			[]string{"Kafka broker " + broker, "signed by an authority this client does not trust (KAFKA_TLS_CA_FILE)"}},
		{"wrong registry password", map[string]string{"SCHEMA_REGISTRY_PASSWORD": wrong}, launch.Services,
			[]string{"schema registry " + stack.RegistryURL, "it refused the credentials (SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD)"}},
		{"wrong Redis password", map[string]string{"REDIS_PASSWORD": wrong}, []string{"consent-filter"},
			[]string{"Redis " + stack.RedisAddr, `it refused the credentials of user "consentflow" (REDIS_USERNAME, REDIS_PASSWORD)`}},
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
				require.NotContains(t, logs, wrong, "a password in the logs")
				require.NotContains(t, logs, embedded.SecurePassword, "a password in the logs")
				require.NotContains(t, err.Error(), wrong)
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
