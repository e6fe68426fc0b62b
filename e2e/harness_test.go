//go:build linux

package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/launch"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
	"github.com/consentflow/consentflow/services/dataset-sink/client"
)

// serviceNames are the services in start order.
var serviceNames = launch.Services

// env is what a run needs from its surroundings.
type env struct {
	bin, repo, out, python string
	// stack is how to reach Kafka, Redis and the registry, read from the
	// variables the services read (KAFKA_*, REDIS_*, SCHEMA_REGISTRY_*): the
	// secured services of `CONSENTFLOW_SECURE=1 scripts/services.sh` work too.
	stack launch.Stack
}

func loadEnv(t *testing.T) env {
	t.Helper()
	if os.Getenv("CONSENTFLOW_E2E") != "1" {
		t.Skip("end-to-end test: run `make e2e` / `make fault` (CONSENTFLOW_E2E=1 against scripts/services.sh)")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	e := env{repo: repo, bin: os.Getenv("CONSENTFLOW_BIN"), out: os.Getenv("E2E_OUT"), python: os.Getenv("E2E_PYTHON")}
	if e.bin == "" {
		e.bin = filepath.Join(repo, "bin")
	}
	if e.out == "" {
		e.out = filepath.Join(repo, "out", "e2e")
	}
	if os.Getenv("KAFKA_BROKERS") == "" || os.Getenv("REDIS_ADDR") == "" || os.Getenv("SCHEMA_REGISTRY_URL") == "" {
		t.Fatal("KAFKA_BROKERS, REDIS_ADDR and SCHEMA_REGISTRY_URL are required: eval \"$(bash scripts/services.sh env)\" (the make targets do)")
	}
	if err := config.Load(&e.stack); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(e.stack.Kafka.Validate(), e.stack.Redis.Validate(), e.stack.Registry.Validate()); err != nil {
		t.Fatal(err)
	}
	for _, b := range append(append([]string(nil), serviceNames...), "consentflow") {
		if _, err := os.Stat(filepath.Join(e.bin, b)); err != nil {
			t.Fatalf("binary %s missing: run `make build` (or set CONSENTFLOW_BIN): %v", b, err)
		}
	}
	if e.python == "" {
		out, err := exec.Command("bash", filepath.Join(repo, "scripts", "pyenv.sh")).Output()
		if err != nil {
			t.Fatalf("scripts/pyenv.sh: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		e.python = lines[len(lines)-1]
	}
	return e
}

// run is one end-to-end run: its chain of services (topics, groups, Redis
// namespace, ports, keys: pkg/launch) and its folder.
type run struct {
	t     *testing.T
	e     env
	id    string
	dir   string
	names topics.Names
	start time.Time
	chain *launch.Chain

	redisNS                 string
	ports                   map[string]string // producer, consent, datasets
	token                   string
	boundToken, importToken string // bound to boundTenant; consent:import (identity probes)
	pseudonymKey, auditKey  string

	mu       sync.Mutex
	restarts map[string]int
	logf     *os.File
}

func newRun(t *testing.T, e env, kind string) *run {
	t.Helper()
	id := fmt.Sprintf("%s-%s-%s", kind, time.Now().UTC().Format("20060102-150405"), launch.RandomHex(4))
	r := &run{t: t, e: e, id: id, dir: filepath.Join(e.out, id), start: time.Now(), restarts: map[string]int{}}
	for _, d := range []string{"logs", "datasets", "snapshot"} {
		if err := os.MkdirAll(filepath.Join(r.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Create(filepath.Join(r.dir, "e2e.log"))
	if err != nil {
		t.Fatal(err)
	}
	r.logf = f
	r.token = "e2e-" + launch.RandomHex(16)
	r.boundToken, r.importToken = "e2e-bound-"+launch.RandomHex(16), "e2e-import-"+launch.RandomHex(16)
	r.pseudonymKey = launch.RandomBase64(32)
	r.auditKey = launch.RandomBase64(32)
	fenv := filterEnv(e.repo) // oracle_check_test.go
	// Identity probes (identity_probe_test.go): a token of each API bound to
	// boundTenant, and an import token.
	fenv["CONSENT_TOKENS"] = "e2e:plain:" + r.token + "=consent:read|consent:write,e2e-bound:plain:" + r.boundToken +
		"=consent:read|consent:write;tenant=" + boundTenant + ",e2e-import:plain:" + r.importToken + "=consent:import"
	r.chain, err = launch.New(launch.Options{
		Stack:  e.stack,
		Prefix: "e2e-" + id + ".", Dir: r.dir, Token: r.token, PseudonymKey: r.pseudonymKey, AuditKey: r.auditKey,
		Env: map[string]map[string]string{
			"consent-filter": fenv,
			"producer":       {"PRODUCER_TOKENS": "e2e:plain:" + r.token + "=events:write,e2e-bound:plain:" + r.boundToken + "=events:write;tenant=" + boundTenant},
			"dataset-sink":   {"SINK_TOKENS": "e2e:plain:" + r.token + "=datasets:read|datasets:write,e2e-bound:plain:" + r.boundToken + "=datasets:read;tenant=" + boundTenant},
		},
	}, launch.Processes{Bin: e.bin})
	if err != nil {
		t.Fatal(err)
	}
	r.names, r.redisNS = r.chain.Names, r.chain.RedisNamespace
	r.ports = map[string]string{}
	for name, url := range map[string]string{"producer": r.chain.ProducerURL(), "consent": r.chain.ConsentURL(), "datasets": r.chain.DatasetsURL()} {
		r.ports[name] = strings.TrimPrefix(url, "http://")
	}
	t.Cleanup(r.killAll) // also on t.Fatal and panics inside the test goroutine
	r.logln("run %s in %s (consent-filter FILTER_CONSUMERS=%q)", id, r.dir, fenv["FILTER_CONSUMERS"])
	return r
}

// logln writes to the test log and to <run>/e2e.log with the time since start.
func (r *run) logln(format string, a ...any) {
	msg := fmt.Sprintf("[%6.1fs] %s", time.Since(r.start).Seconds(), fmt.Sprintf(format, a...))
	r.t.Log(msg)
	r.mu.Lock()
	fmt.Fprintln(r.logf, msg)
	r.mu.Unlock()
}

// startService starts (or restarts) one service; its log is appended to
// <run>/logs/<name>.log.
func (r *run) startService(name string) {
	r.t.Helper()
	if err := r.chain.Start(name); err != nil {
		r.t.Fatal(err)
	}
}

// stopService sends sig to the service and waits up to wait for it to exit
// (SIGKILL after that).
func (r *run) stopService(name string, sig syscall.Signal, wait time.Duration) error {
	return r.chain.Stop(name, sig, wait)
}

func (r *run) running(name string) bool { return r.chain.Running(name) }

// killAll SIGKILLs every service still running (cleanup, also after a failure
// or a timeout of the test).
func (r *run) killAll() {
	r.chain.Close()
	if r.logf != nil {
		r.mu.Lock()
		r.logf.Close()
		r.logf = nil
		r.mu.Unlock()
	}
}

// stopAll stops every service gracefully (SIGTERM, 30 s), so that their logs are
// complete before they are scanned.
func (r *run) stopAll() {
	if err := r.chain.StopAll(30 * time.Second); err != nil {
		r.t.Error(err)
	}
}

// runTool runs a short-lived command (not a service) with a deadline, output to
// logPath, in its own process group, killed with it on timeout.
func (r *run) runTool(ctx context.Context, logPath string, envv []string, name string, args ...string) error {
	p, err := launch.StartProcess(filepath.Base(name), name, args, envv, logPath)
	if err != nil {
		return err
	}
	select {
	case <-p.Done():
		return p.Err()
	case <-ctx.Done():
		_ = p.Signal(syscall.SIGKILL)
		<-p.Done()
		return fmt.Errorf("%s: %w", filepath.Base(name), ctx.Err())
	}
}

func (r *run) createTopics(ctx context.Context) {
	r.t.Helper()
	m := r.chain.Env("producer") // brokers, registry, topic names
	m["TOPIC_PARTITIONS"], m["TOPIC_CONSENT_PARTITIONS"] = "3", "2"
	if err := r.runTool(ctx, filepath.Join(r.dir, "logs", "topics.log"), launch.IsolatedEnv(m), filepath.Join(r.e.bin, "consentflow"), "topics", "--wait", "30s"); err != nil {
		r.t.Fatalf("consentflow topics: %v (see %s)", err, filepath.Join(r.dir, "logs", "topics.log"))
	}
}

// waitReady waits until every listed service answers /readyz with 200.
func (r *run) waitReady(ctx context.Context, timeout time.Duration, names ...string) error {
	return r.chain.WaitReady(ctx, timeout, names...)
}

// waitDrained waits until every group has committed everything (lag 0 twice in a
// row, 1 s apart).
func (r *run) waitDrained(ctx context.Context, timeout time.Duration) error {
	lags, err := r.chain.WaitDrained(ctx, timeout, time.Second)
	if err == nil {
		r.logln("chain drained: %s", lags)
	}
	return err
}

// readTopic returns every record of topic, partition by partition, up to the end
// offsets of now.
func readTopic(ctx context.Context, k stream.Config, topic string) ([]kafka.Message, map[int]int64, error) {
	ends, err := stream.EndOffsets(ctx, k, topic)
	if err != nil {
		return nil, nil, err
	}
	var out []kafka.Message
	err = stream.ReadRange(ctx, k, topic, nil, ends, func(m kafka.Message) { out = append(out, m) })
	return out, ends, err
}

// createSnapshot asks the dataset API for a snapshot (it publishes the open
// files first) with the snapshot client.
func (r *run) createSnapshot(ctx context.Context) (string, error) {
	m, err := client.New(r.chain.DatasetsURL(), r.token, nil).CreateSnapshot(ctx, "ai_training")
	if err != nil {
		return "", err
	}
	r.logln("snapshot %s: %d rows in %d files", m.ID, m.Totals.Rows, m.Totals.Files)
	return m.ID, nil
}
