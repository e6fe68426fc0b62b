package stream_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/secure/securetest"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// securedKafka is an in-process Kafka that wants TLS with a client certificate
// and SASL (mechanism, user "cf", password "right"), and the configuration
// that reaches it.
type securedKafka struct {
	cfg    stream.Config
	ca     *securetest.CA
	client *securetest.Pair
}

func newSecuredKafka(t *testing.T, mechanism string) *securedKafka {
	t.Helper()
	dir := t.TempDir()
	ca, err := securetest.NewCA(dir, "kafka")
	require.NoError(t, err)
	server, err := ca.Server("broker")
	require.NoError(t, err)
	client, err := ca.Client("client")
	require.NoError(t, err)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(ca.ServerTLS(server, true)), kfake.EnableSASL(),
		kfake.Superuser(mechanism, "cf", "right"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return &securedKafka{ca: ca, client: client, cfg: stream.Config{
		Brokers: c.ListenAddrs(),
		TLS:     secure.TLS{TLSOptions: secure.TLSOptions{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}},
		SASL:    stream.SASL{Mechanism: mechanism, Username: "cf", Password: "right"},
	}}
}

// TestEveryKafkaPathOverTLSAndSASL: with TLS (CA file, client certificate) and
// each SASL mechanism kafka-go offers, every way pkg/stream reaches Kafka works
// — the start-up check, topic creation, the writer, a consumer-group reader
// with commits, the lag check, the offset writer, a partition reader — against
// a broker that refuses anything else.
func TestEveryKafkaPathOverTLSAndSASL(t *testing.T) {
	for _, mech := range []string{stream.Plain, stream.SCRAM256, stream.SCRAM512} {
		t.Run(mech, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			k := newSecuredKafka(t, mech)
			require.NoError(t, k.cfg.Validate())
			require.NoError(t, k.cfg.Check(ctx))

			_, err := topics.Ensure(ctx, k.cfg, []topics.Spec{{Name: "in", Partitions: 2, ReplicationFactor: 1}})
			require.NoError(t, err)
			parts, _, err := topics.Describe(ctx, k.cfg, "in")
			require.NoError(t, err)
			require.Equal(t, 2, parts)

			w := stream.NewWriter(k.cfg, nil)
			defer w.Close()
			require.NoError(t, w.WriteMessages(ctx, kafka.Message{Topic: "in", Key: []byte("a"), Value: []byte("1")},
				kafka.Message{Topic: "in", Key: []byte("b"), Value: []byte("2")}))
			pos, err := stream.NewOffsetWriter(k.cfg, "in").Append(ctx, stream.Record{Key: []byte("c"), Value: []byte("3")})
			require.NoError(t, err)

			ends, err := stream.EndOffsets(ctx, k.cfg, "in")
			require.NoError(t, err)
			require.Equal(t, int64(3), ends[0]+ends[1])
			lag, err := stream.GroupLag(ctx, k.cfg, "g", "in")
			require.NoError(t, err)
			require.Equal(t, int64(3), lag)

			r := stream.NewReader(k.cfg, stream.ReaderConfig{GroupID: "g", Topic: "in"}, nil)
			defer r.Close()
			for range 3 {
				m, err := r.FetchMessage(ctx)
				require.NoError(t, err)
				require.NoError(t, r.CommitMessages(ctx, m))
			}
			lag, err = stream.GroupLag(ctx, k.cfg, "g", "in")
			require.NoError(t, err)
			require.Zero(t, lag)

			pr := stream.NewPartitionReader(k.cfg, "in", pos[0].Partition, 0)
			defer pr.Close()
			require.NoError(t, pr.SetOffset(pos[0].Offset))
			m, err := pr.FetchMessage(ctx)
			require.NoError(t, err)
			require.Equal(t, "3", string(m.Value))

			var got []string
			require.NoError(t, stream.ReadRange(ctx, k.cfg, "in", nil, ends, func(m kafka.Message) { got = append(got, string(m.Value)) }))
			require.ElementsMatch(t, []string{"1", "2", "3"}, got)
		})
	}
}

// requireRejection asserts err is a Rejection that names the broker and says why.
func requireRejection(t *testing.T, err error, broker string, why string) {
	t.Helper()
	require.Error(t, err)
	require.True(t, secure.IsRejection(err), "not a rejection (would be retried): %v", err)
	require.ErrorContains(t, err, "Kafka broker "+broker)
	require.ErrorContains(t, err, why)
}

// TestCheckTellsRejectionsFromOutages: credentials the broker refuses and a
// certificate the client cannot trust end in one Rejection naming the broker
// and the variable to fix; a broker that is down, or one that closes the
// connection (a restart, or a listener of another kind), is an error to retry.
func TestCheckTellsRejectionsFromOutages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k := newSecuredKafka(t, stream.SCRAM512)
	broker := k.cfg.Brokers[0]

	wrong := k.cfg
	wrong.SASL.Password = "wrong"
	requireRejection(t, wrong.Check(ctx), broker, "it refused the SASL credentials (SCRAM-SHA-512, user \"cf\"")

	other, err := securetest.NewCA(t.TempDir(), "other")
	require.NoError(t, err)
	untrusted := k.cfg
	untrusted.TLS.CAFile = other.CertFile
	requireRejection(t, untrusted.Check(ctx), broker, "signed by an authority this client does not trust (KAFKA_TLS_CA_FILE)")

	misnamed := k.cfg
	misnamed.TLS.ServerName = "kafka.example.com"
	requireRejection(t, misnamed.Check(ctx), broker, "not valid for the name \"kafka.example.com\" (KAFKA_TLS_SERVER_NAME)")

	noCert := k.cfg
	noCert.TLS.CertFile, noCert.TLS.KeyFile = "", ""
	requireRejection(t, noCert.Check(ctx), broker, "refused the TLS handshake")

	strangerCert, err := other.Client("stranger")
	require.NoError(t, err)
	stranger := k.cfg
	stranger.TLS.CertFile, stranger.TLS.KeyFile = strangerCert.CertFile, strangerCert.KeyFile
	requireRejection(t, stranger.Check(ctx), broker, "refused the TLS handshake")

	plaintext := k.cfg
	plaintext.TLS, plaintext.SASL = secure.TLS{}, stream.SASL{}
	err = plaintext.Check(ctx)
	require.Error(t, err)
	require.False(t, secure.IsRejection(err), "ambiguous with a restarting broker: retried, %v", err)
	require.ErrorContains(t, err, "is it a TLS or SASL listener?")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	down := ln.Addr().String()
	ln.Close()
	gone := k.cfg
	gone.Brokers = []string{down}
	err = gone.Check(ctx)
	require.Error(t, err)
	require.False(t, secure.IsRejection(err), "a broker that is down is retried: %v", err)
	require.ErrorContains(t, err, "Kafka broker "+down)

	// The first bootstrap broker down, the second answering: fine.
	both := k.cfg
	both.Brokers = []string{down, broker}
	require.NoError(t, both.Check(ctx))
}

// TestTLSToAPlaintextListenerIsRetriedWithAHint: a plaintext listener never
// answers a TLS handshake (it waits for the rest of a request), which looks like
// a hanging broker: retried, with a hint at the TLS setting.
func TestTLSToAPlaintextListenerIsRetriedWithAHint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	defer c.Close()
	ca, err := securetest.NewCA(t.TempDir(), "x")
	require.NoError(t, err)
	cfg := stream.Config{Brokers: c.ListenAddrs(), TLS: secure.TLS{TLSOptions: secure.TLSOptions{CAFile: ca.CertFile}}}
	err = cfg.Check(ctx)
	require.Error(t, err)
	require.False(t, secure.IsRejection(err))
	require.ErrorContains(t, err, "is it a TLS listener? KAFKA_TLS_ENABLED")
}

// TestWritesFailLoudlyWhenTLSFilesVanish: a writer never falls back to
// plaintext; when its TLS files cannot be loaded every write fails with the
// reason.
func TestWritesFailLoudlyWhenTLSFilesVanish(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	require.NoError(t, err)
	defer c.Close()
	cfg := stream.Config{Brokers: c.ListenAddrs(), TLS: secure.TLS{TLSOptions: secure.TLSOptions{CAFile: "/nonexistent/ca.pem"}}}
	w := stream.NewWriter(cfg, nil)
	w.MaxAttempts = 1
	defer w.Close()
	err = w.WriteMessages(ctx, kafka.Message{Topic: "t", Value: []byte("x")})
	require.ErrorContains(t, err, "KAFKA_TLS_CA_FILE")
	_, err = stream.EndOffsets(ctx, cfg, "t")
	require.ErrorContains(t, err, "KAFKA_TLS_CA_FILE")
}

// TestKafkaConfigValidation: every misconfiguration names its variable, and
// PLAIN or AWS_MSK_IAM without TLS is refused (PLAIN would send the password in
// clear).
func TestKafkaConfigValidation(t *testing.T) {
	load := func(env map[string]string) error {
		var c stream.Config
		return config.LoadFrom(&c, env)
	}
	for env, want := range map[string]string{
		"KAFKA_SASL_MECHANISM=scram-sha-1":                                       "KAFKA_SASL_MECHANISM: \"SCRAM-SHA-1\" is not one of",
		"KAFKA_SASL_MECHANISM=SCRAM-SHA-512":                                     "KAFKA_SASL_USERNAME: required",
		"KAFKA_SASL_MECHANISM=SCRAM-SHA-512 KAFKA_SASL_USERNAME=u":               "KAFKA_SASL_PASSWORD: required",
		"KAFKA_SASL_USERNAME=u KAFKA_SASL_PASSWORD=p":                            "KAFKA_SASL_MECHANISM: required",
		"KAFKA_SASL_MECHANISM=PLAIN KAFKA_SASL_USERNAME=u KAFKA_SASL_PASSWORD=p": "needs TLS",
		"KAFKA_SASL_MECHANISM=AWS_MSK_IAM":                                       "AWS_MSK_IAM needs TLS",
		"KAFKA_TLS_CA_FILE=/nonexistent/ca.pem":                                  "KAFKA_TLS_CA_FILE: open /nonexistent/ca.pem",
		"KAFKA_TLS_CERT_FILE=/x.pem":                                             "KAFKA_TLS_KEY_FILE: required with KAFKA_TLS_CERT_FILE",
		"KAFKA_TLS_ENABLED=maybe":                                                "KAFKA_TLS_ENABLED",
		"KAFKA_BROKERS=a:1,,b:2":                                                 "KAFKA_BROKERS: empty entry",
	} {
		m := map[string]string{}
		for _, kv := range strings.Fields(env) {
			k, v, _ := strings.Cut(kv, "=")
			m[k] = v
		}
		err := load(m)
		require.ErrorContains(t, err, want, env)
	}
	require.NoError(t, load(map[string]string{"KAFKA_SASL_MECHANISM": "scram-sha-256", "KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}),
		"SCRAM over plaintext is allowed: the password never crosses the wire")

	var c stream.Config
	require.NoError(t, config.LoadFrom(&c, map[string]string{"KAFKA_SASL_MECHANISM": "scram-sha-512", "KAFKA_SASL_USERNAME": "u",
		"KAFKA_SASL_PASSWORD": "hunter2-secret", "KAFKA_TLS_ENABLED": "true"}))
	require.Equal(t, stream.SCRAM512, c.SASL.Mechanism, "mechanism names are case-insensitive")
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), c.String(), fmt.Sprintf("%v", c.SASL)} {
		require.NotContains(t, s, "hunter2", "a printed configuration shows no password")
	}
	require.Equal(t, "127.0.0.1:9092 (SASL_SSL, SCRAM-SHA-512)", c.String())
}

// TestCheckProbesEveryAdvertisedBroker: the bootstrap broker answering is not
// enough — readers and writers go to the brokers the cluster advertises, so a
// certificate that does not carry an advertised broker's name is found at start
// and named.
func TestCheckProbesEveryAdvertisedBroker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	ca, err := securetest.NewCA(dir, "kafka")
	require.NoError(t, err)
	onlyLocalhost, err := ca.Server("broker", "localhost") // no IP address in the certificate
	require.NoError(t, err)
	c, err := kfake.NewCluster(kfake.NumBrokers(2), kfake.TLS(ca.ServerTLS(onlyLocalhost, false)))
	require.NoError(t, err)
	defer c.Close()
	addrs := c.ListenAddrs() // advertised as 127.0.0.1:<port>
	_, port, _ := net.SplitHostPort(addrs[0])
	cfg := stream.Config{Brokers: []string{"localhost:" + port}, TLS: secure.TLS{TLSOptions: secure.TLSOptions{CAFile: ca.CertFile}}}
	err = cfg.Check(ctx)
	require.True(t, secure.IsRejection(err), "%v", err)
	require.ErrorContains(t, err, "not valid for the name \"127.0.0.1\" (KAFKA_TLS_SERVER_NAME)")
	require.Regexp(t, `Kafka broker 127\.0\.0\.1:\d+`, err.Error())

	cfg.TLS.ServerName = "localhost" // what the certificate carries
	require.NoError(t, cfg.Check(ctx))
}
