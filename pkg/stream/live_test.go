package stream_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/pkg/topics"
)

// TestLiveBrokerIsApacheKafka proves the live suite talks to a real broker: the
// process listening on the broker port is a kafka.Kafka JVM, and it creates the
// consent topic compacted.
func TestLiveBrokerIsApacheKafka(t *testing.T) {
	testenv.RequireLive(t)
	env := testenv.Start(t)
	_, port, err := splitHostPort(env.Kafka.Brokers[0])
	require.NoError(t, err)
	out, err := exec.Command("ss", "-ltnpH", "sport = :"+port).Output()
	require.NoError(t, err)
	m := regexp.MustCompile(`pid=(\d+)`).FindSubmatch(out)
	require.NotNil(t, m, "no process listens on %s: %s", env.Kafka.Brokers[0], out)
	cmdline, err := os.ReadFile("/proc/" + string(m[1]) + "/cmdline")
	require.NoError(t, err)
	args := strings.Split(string(cmdline), "\x00")
	require.Contains(t, args, "kafka.Kafka", "the broker process is not Apache Kafka: %q", args)
	require.Regexp(t, `kafka_2\.13-4\.|kafka-4\.`, string(cmdline), "not a Kafka 4.x classpath")

	_, cfg, err := topics.Describe(context.Background(), env.Kafka, env.Names.Changes, "cleanup.policy", "retention.ms")
	require.NoError(t, err)
	require.Equal(t, "compact", cfg["cleanup.policy"], "consent.changes must be compacted")
	require.Equal(t, "-1", cfg["retention.ms"])
	_, cfg, err = topics.Describe(context.Background(), env.Kafka, env.Names.Erasures, "cleanup.policy")
	require.NoError(t, err)
	require.Equal(t, "compact", cfg["cleanup.policy"])
}

func splitHostPort(addr string) (string, string, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", "", fmt.Errorf("no port in %q", addr)
	}
	return addr[:i], addr[i+1:], nil
}

// passThrough runs a Loop copying in → out until ctx is done.
func passThrough(ctx context.Context, t *testing.T, env *testenv.Env, group, in, out string, logger *zap.Logger) <-chan error {
	r := stream.NewReader(env.Kafka, stream.ReaderConfig{GroupID: group, Topic: in}, logger)
	w := stream.NewWriter(env.Kafka, logger)
	loop := &stream.Loop{Name: "pass", Reader: r, Writer: w, Logger: logger, MaxBatch: 100,
		Handler: func(_ context.Context, batch []kafka.Message) ([]kafka.Message, error) {
			res := make([]kafka.Message, len(batch))
			for i, m := range batch {
				res[i] = kafka.Message{Topic: out, Key: m.Key, Value: m.Value}
			}
			return res, nil
		}}
	done := make(chan error, 1)
	go func() {
		err := loop.Run(ctx)
		r.Close()
		w.Close()
		done <- err
	}()
	return done
}

// produceSlowly writes n numbered records over about d, then returns.
func produceSlowly(ctx context.Context, t *testing.T, env *testenv.Env, topic string, n int, d time.Duration) {
	w := stream.NewWriter(env.Kafka, nil)
	defer w.Close()
	for i := 0; i < n; i++ {
		for {
			err := w.WriteMessages(ctx, kafka.Message{Topic: topic, Key: []byte(fmt.Sprint("k", i%31)), Value: []byte(strconv.Itoa(i))})
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Errorf("produce %d: %v", i, err)
				return
			}
			time.Sleep(200 * time.Millisecond) // broker restarting: retry the same record
		}
		time.Sleep(d / time.Duration(n))
	}
}

// collectAll reads topic until every value 0..n-1 was seen or the deadline.
func collectAll(ctx context.Context, t *testing.T, env *testenv.Env, topic string, n int, within time.Duration) map[int]int {
	r := stream.NewReader(env.Kafka, stream.ReaderConfig{GroupID: env.Prefix + "collect", Topic: topic}, nil)
	defer r.Close()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	seen := map[int]int{}
	for len(seen) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			break
		}
		v, _ := strconv.Atoi(string(m.Value))
		seen[v]++
	}
	return seen
}

func missing(seen map[int]int, n int) []int {
	var out []int
	for i := 0; i < n; i++ {
		if seen[i] == 0 {
			out = append(out, i)
		}
	}
	return out
}

// TestLiveRebalanceTwoInstancesNoLoss: a second instance joins the group mid
// stream, then the first leaves; every record reaches the output (duplicates are
// allowed by at-least-once and counted, losses are not).
func TestLiveRebalanceTwoInstancesNoLoss(t *testing.T) {
	testenv.RequireLive(t)
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	in, out := env.Prefix+"rb.in", env.Prefix+"rb.out"
	_, err := topics.Ensure(ctx, env.Kafka, []topics.Spec{{Name: in, Partitions: 6, ReplicationFactor: 1}, {Name: out, Partitions: 6, ReplicationFactor: 1}})
	require.NoError(t, err)
	logger := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	group := env.Prefix + "stage"

	const n = 3000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); produceSlowly(ctx, t, env, in, n, 12*time.Second) }()

	ctx1, stop1 := context.WithCancel(ctx)
	done1 := passThrough(ctx1, t, env, group, in, out, logger)
	time.Sleep(3 * time.Second)
	ctx2, stop2 := context.WithCancel(ctx)
	defer stop2()
	done2 := passThrough(ctx2, t, env, group, in, out, logger)
	time.Sleep(4 * time.Second)
	stop1() // graceful leave: finishes and commits its batch in flight
	require.NoError(t, <-done1)
	wg.Wait()

	seen := collectAll(ctx, t, env, out, n, 90*time.Second)
	stop2()
	require.NoError(t, <-done2)
	require.Empty(t, missing(seen, n), "records lost across the rebalance")
	dups := 0
	for _, c := range seen {
		dups += c - 1
	}
	t.Logf("%d records, %d duplicates across the rebalance", n, dups)
}

// TestLiveBrokerRestartMidStreamNoLoss restarts the real broker while a stage
// copies a stream; every record reaches the output.
func TestLiveBrokerRestartMidStreamNoLoss(t *testing.T) {
	testenv.RequireLive(t)
	script := servicesScript(t)
	env := testenv.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	in, out := env.Prefix+"br.in", env.Prefix+"br.out"
	_, err := topics.Ensure(ctx, env.Kafka, []topics.Spec{{Name: in, Partitions: 3, ReplicationFactor: 1}, {Name: out, Partitions: 3, ReplicationFactor: 1}})
	require.NoError(t, err)
	logger := zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel))

	const n = 2000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); produceSlowly(ctx, t, env, in, n, 20*time.Second) }()
	runCtx, stop := context.WithCancel(ctx)
	done := passThrough(runCtx, t, env, env.Prefix+"stage", in, out, logger)

	time.Sleep(5 * time.Second)
	cmd := exec.CommandContext(ctx, "bash", script, "restart-kafka")
	outb, err := cmd.CombinedOutput()
	require.NoError(t, err, "restart-kafka: %s", outb)
	t.Logf("broker restarted: %s", strings.TrimSpace(string(outb)))
	wg.Wait()

	seen := collectAll(ctx, t, env, out, n, 2*time.Minute)
	stop()
	require.NoError(t, <-done)
	require.Empty(t, missing(seen, n), "records lost across the broker restart")
}

func servicesScript(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "services.sh")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("services script not found at %s", p)
	}
	return p
}

// TestLiveSecuredBrokerEveryMechanism: against the secured live broker
// (CONSENTFLOW_SECURE=1 scripts/services.sh: a SASL_SSL listener with
// SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN for one user, client certificate
// required), each mechanism passes the start-up check and carries a record
// through a writer and a partition reader; a wrong password is a rejection
// naming the broker.
func TestLiveSecuredBrokerEveryMechanism(t *testing.T) {
	testenv.RequireLive(t)
	env := testenv.Start(t)
	if env.Kafka.SASL.Mechanism == "" {
		t.Skip("the live broker is not secured (CONSENTFLOW_SECURE=1 make services)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := env.Prefix + "mechanisms"
	_, err := topics.Ensure(ctx, env.Kafka, []topics.Spec{{Name: topic, Partitions: 1, ReplicationFactor: 1}})
	require.NoError(t, err)
	for i, mech := range []string{stream.SCRAM512, stream.SCRAM256, stream.Plain} {
		k := env.Kafka
		k.SASL.Mechanism = mech
		require.NoError(t, k.Check(ctx), mech)
		w := stream.NewWriter(k, nil)
		require.NoError(t, w.WriteMessages(ctx, kafka.Message{Topic: topic, Value: []byte(mech)}), mech)
		w.Close()
		r := stream.NewPartitionReader(k, topic, 0, 0)
		require.NoError(t, r.SetOffset(int64(i)))
		m, err := r.FetchMessage(ctx)
		r.Close()
		require.NoError(t, err, mech)
		require.Equal(t, mech, string(m.Value))

		wrong := k
		wrong.SASL.Password = "not-the-password"
		err = wrong.Check(ctx)
		require.True(t, secure.IsRejection(err), "%s: %v", mech, err)
		require.ErrorContains(t, err, "Kafka broker "+k.Brokers[0]+": it refused the SASL credentials")
	}
}
