package datasetsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// TestHelperSinkProcess is not a test: TestSinkInstancesLive runs this test
// binary as a dataset-sink process (SINK_HELPER_CONFIG holds its Config), so
// that an instance can be SIGKILLed.
func TestHelperSinkProcess(t *testing.T) {
	raw := os.Getenv("SINK_HELPER_CONFIG")
	if raw == "" {
		t.Skip("helper process of TestSinkInstancesLive")
	}
	var cfg Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// Secrets do not survive JSON ("[redacted]"): the connection settings come
	// from the environment, as the service reads them.
	if err := errors.Join(config.Load(&cfg.Config), config.Load(&cfg.RegistryConfig), config.Load(&cfg.Redis)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logger, _ := zap.NewDevelopment()
	s, err := New(ctx, cfg, logger, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(1)
	}
	// SINK_HELPER_HOLD=<stage> and SINK_HELPER_HOLD_AT=<n> (TestSinkKilledMidCommitLive):
	// the n-th time a table commit reaches stage ("files-written": its data
	// files written, the catalog commit not made; "committed": the catalog
	// commit made, nothing acknowledged yet), print "HELD <stage>" and hold it
	// there for good, so that the test can SIGKILL the process mid-commit.
	if hold := os.Getenv("SINK_HELPER_HOLD"); hold != "" {
		at, err := strconv.Atoi(os.Getenv("SINK_HELPER_HOLD_AT"))
		if err != nil || at < 1 {
			fmt.Fprintln(os.Stderr, "SINK_HELPER_HOLD_AT:", err)
			os.Exit(2)
		}
		var n atomic.Int64
		s.writer.SetCommitHook(func(stage string) {
			if stage == hold && n.Add(1) == int64(at) {
				fmt.Fprintf(os.Stdout, "HELD %s\n", stage)
				select {}
			}
		})
	}
	err = s.Run(ctx)
	s.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sink:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// sinkProc is a dataset-sink process: this test binary running
// TestHelperSinkProcess.
type sinkProc struct {
	cmd  *exec.Cmd
	done chan error
	log  string
}

// startSinkProc starts a sink process with cfg (and extra environment
// variables), its output in dir/<name>.log.
func startSinkProc(t *testing.T, dir, name string, cfg Config, extra ...string) *sinkProc {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSinkProcess$", "-test.v=false")
	// The connection settings the test uses, as variables; the inherited
	// ones they replace (and their *_FILE forms, which the services' env
	// sets for secrets: setting both is a configuration error) are dropped.
	conn := map[string]string{}
	for _, vars := range []map[string]string{config.Environ(&cfg.Config), config.Environ(&cfg.RegistryConfig), config.Environ(&cfg.Redis)} {
		maps.Copy(conn, vars)
	}
	cmd.Env = []string{"SINK_HELPER_CONFIG=" + string(raw)}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		_, replaced := conn[name]
		_, fileOfReplaced := conn[strings.TrimSuffix(name, config.FileSuffix)]
		if !replaced && !(strings.HasSuffix(name, config.FileSuffix) && fileOfReplaced) && !strings.HasPrefix(name, "SINK_HELPER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for name, value := range conn {
		cmd.Env = append(cmd.Env, name+"="+value)
	}
	cmd.Env = append(cmd.Env, extra...)
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &sinkProc{cmd: cmd, done: make(chan error, 1), log: logf.Name()}
	go func() { p.done <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() { // the instance's own words, before TempDir goes
			if b, err := os.ReadFile(logf.Name()); err == nil {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				t.Logf("instance %s, last lines of its log:\n%s", name, strings.Join(lines[max(0, len(lines)-15):], "\n"))
			}
		}
	})
	return p
}

// catalogLive skips unless the live services and a PostgreSQL catalog are
// there, and returns a Kafka fixture, a data directory and the sink
// configuration over that catalog, in a namespace of this test's own.
func catalogLive(t *testing.T) (*kafkaFixture, string, Config) {
	t.Helper()
	testenv.RequireLive(t)
	pg := os.Getenv("POSTGRES_URL")
	if pg == "" {
		t.Skip("POSTGRES_URL not set (scripts/services.sh starts PostgreSQL; eval its env)")
	}
	k := newKafkaFixture(t)
	dir := t.TempDir()
	cfg := k.config(dir)
	cfg.CatalogURI = pg
	cfg.Namespace = strings.NewReplacer(".", "_", "-", "_").Replace(strings.TrimSuffix(k.env.Prefix, "."))
	return k, dir, cfg
}

// produceEvents writes sinktest events from..from+n-1 to the curated topic
// in writes of 100, pausing between writes (0: none).
func (k *kafkaFixture) produceEvents(ctx context.Context, t *testing.T, from, n int, pause time.Duration) {
	t.Helper()
	base := sinktest.NewClock().Now()
	var msgs []kafka.Message
	for i := from; i < from+n; i++ {
		msgs = append(msgs, k.encode(t, sinktest.Event(i, fmt.Sprintf("k1:s%04d", i%997), base.Add(time.Duration(i)*time.Second))))
		if len(msgs) == 100 {
			if err := k.w.WriteMessages(ctx, msgs...); err != nil {
				t.Fatal(err)
			}
			msgs = msgs[:0]
			time.Sleep(pause)
		}
	}
	if err := k.w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// TestSinkInstancesLive: three sink processes in one consumer group append to
// one table through a PostgreSQL catalog while events keep arriving; one is
// SIGKILLed mid-stream and a fourth joins. Afterwards every record of the
// curated topic is in the table exactly once (by Kafka partition and offset,
// and by event_id), and after orphan cleanup every data file on disk belongs to
// a table snapshot.
//
//	eval "$(bash scripts/services.sh env)"   # POSTGRES_URL among them
//	CONSENTFLOW_LIVE=1 go test ./services/dataset-sink -run TestSinkInstancesLive -v
func TestSinkInstancesLive(t *testing.T) {
	k, dir, cfg := catalogLive(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cfg.RotateRows, cfg.RotateInterval = 150, 300*time.Millisecond
	cfg.ErasureApply = time.Second

	const perWave = 1500
	produced := 0
	produce := func(n int) {
		t.Helper()
		k.produceEvents(ctx, t, produced, n, 20*time.Millisecond) // mid-stream: keep records arriving
		produced += n
	}
	start := func(name string) *sinkProc { return startSinkProc(t, dir, name, cfg) }
	lo, err := lakeOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := func() int64 {
		lk, err := lake.Open(ctx, lo, nil, zap.NewNop())
		if err != nil {
			return 0
		}
		defer lk.Close()
		tb, err := lk.Load(ctx)
		if err != nil || tb.CurrentSnapshot() == nil {
			return 0
		}
		var n int64
		fmt.Sscan(tb.CurrentSnapshot().Summary.Properties["total-records"], &n)
		return n
	}

	produce(perWave)
	a, b, c := start("a"), start("b"), start("c")
	produce(perWave)
	for rows() < perWave && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-b.done
	t.Logf("instance b SIGKILLed with %d rows in the table", rows())
	d := start("d")
	produce(perWave)

	// Drained: the group has committed everything, so the table holds it.
	for {
		lag, err := stream.GroupLag(ctx, k.env.Kafka, cfg.GroupID, k.env.Names.Curated)
		if err == nil && lag == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not drained: lag %d, %v", lag, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, p := range []*sinkProc{a, c, d} {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for name, p := range map[string]*sinkProc{"a": a, "c": c, "d": d} {
		if err := <-p.done; err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, name+".log"))
			t.Fatalf("instance %s: %v\n%s", name, err, tail(string(log), 3000))
		}
	}

	lk, err := lake.Open(ctx, lo, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer lk.Close()
	got := sinktest.Rows(t, lk, 0)
	ends, err := stream.EndOffsets(ctx, k.env.Kafka, k.env.Names.Curated)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[2]int64]int{}
	ids := map[string]int{}
	for _, r := range got {
		seen[[2]int64{int64(r.KafkaPartition), r.KafkaOffset}]++
		ids[r.EventID]++
	}
	var want int64
	for p, end := range ends {
		want += end
		for o := range end {
			if n := seen[[2]int64{int64(p), o}]; n != 1 {
				t.Errorf("record %d:%d is in the table %d times", p, o, n)
			}
		}
	}
	if int64(len(got)) != want || len(ids) != produced || want != int64(produced) {
		t.Fatalf("table has %d rows (%d distinct events), the topic %d records, %d produced", len(got), len(ids), want, produced)
	}
	tb, err := lk.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var conflicts int
	for _, s := range tb.Metadata().Snapshots() {
		if s.Summary != nil && s.Summary.Properties[lake.KeyRange] != "" {
			conflicts++
		}
	}
	t.Logf("%d rows, every record once; %d append commits", len(got), conflicts)

	// Orphans (files of a killed commit, of lost races): deleted by cleanup,
	// and then every data file on disk is one a snapshot references.
	res, err := tb.DeleteOrphanFiles(ctx, table.WithLocation(lk.Location()+"/data"), table.WithFilesOlderThan(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("orphan cleanup deleted %d data files", len(res.DeletedFiles))
	referenced := map[string]bool{}
	for _, s := range tb.Metadata().Snapshots() {
		tasks, err := tb.Scan(table.WithSnapshotID(s.SnapshotID)).PlanFiles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			referenced[strings.TrimPrefix(task.File.FilePath(), "file://")] = true
		}
	}
	err = filepath.WalkDir(filepath.Join(dir, cfg.Dataset, "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !referenced[p] {
			t.Errorf("orphan left after cleanup: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = tbl.Columns
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
