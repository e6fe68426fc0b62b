//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// services in start order (the sink first so that it is consuming before events
// arrive does not matter: every group starts at the earliest offset).
var serviceNames = []string{"consent-filter", "anonymizer", "dataset-sink", "producer"}

// env is what a run needs from its surroundings.
type env struct {
	bin, repo, out, python string
	brokers                []string
	redisAddr, registry    string
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
	e := env{repo: repo, bin: os.Getenv("CONSENTFLOW_BIN"), out: os.Getenv("E2E_OUT"), python: os.Getenv("E2E_PYTHON"),
		redisAddr: os.Getenv("REDIS_ADDR"), registry: os.Getenv("SCHEMA_REGISTRY_URL")}
	if e.bin == "" {
		e.bin = filepath.Join(repo, "bin")
	}
	if e.out == "" {
		e.out = filepath.Join(repo, "out", "e2e")
	}
	if b := os.Getenv("KAFKA_BROKERS"); b != "" {
		e.brokers = strings.Split(b, ",")
	}
	if len(e.brokers) == 0 || e.redisAddr == "" || e.registry == "" {
		t.Fatal("KAFKA_BROKERS, REDIS_ADDR and SCHEMA_REGISTRY_URL are required: eval \"$(bash scripts/services.sh env)\" (the make targets do)")
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

// proc is one child process in its own process group.
type proc struct {
	name    string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	killed  bool // stopped on purpose
	started time.Time
}

// run is one end-to-end run: its topics, groups, Redis namespace, ports, keys,
// processes and folder.
type run struct {
	t     *testing.T
	e     env
	id    string
	dir   string
	names topics.Names
	start time.Time

	redisNS                                          string
	filterGroup, anonGroup, anonErasureGroup, sinkGr string
	ports                                            map[string]string // producer, consent, datasets, ops-<svc>
	token                                            string
	pseudonymKey, auditKey                           string

	mu         sync.Mutex
	procs      map[string]*proc
	unexpected []string // services that exited without being told to
	restarts   map[string]int
	logf       *os.File
}

func newRun(t *testing.T, e env, kind string) *run {
	t.Helper()
	rb := make([]byte, 4)
	_, _ = rand.Read(rb)
	id := fmt.Sprintf("%s-%s-%s", kind, time.Now().UTC().Format("20060102-150405"), hex.EncodeToString(rb))
	r := &run{t: t, e: e, id: id, dir: filepath.Join(e.out, id), start: time.Now(), procs: map[string]*proc{}, restarts: map[string]int{}}
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
	p := "e2e-" + id + "."
	n := topics.DefaultNames()
	n.Changes, n.Raw, n.Consented = p+n.Changes, p+n.Raw, p+n.Consented
	n.Curated, n.Decisions, n.Erasures, n.DLQ = p+n.Curated, p+n.Decisions, p+n.Erasures, p+n.DLQ
	r.names = n
	r.redisNS = "e2e-" + id
	r.filterGroup, r.anonGroup, r.anonErasureGroup, r.sinkGr = id+"-filter", id+"-anonymizer", id+"-anonymizer-erasures", id+"-sink"
	r.token = "e2e-" + randHex(16)
	r.pseudonymKey = randB64(32)
	r.auditKey = randB64(32)
	ports, err := freePorts(7)
	if err != nil {
		t.Fatal(err)
	}
	r.ports = map[string]string{"producer": ports[0], "consent": ports[1], "datasets": ports[2],
		"ops-producer": ports[3], "ops-consent-filter": ports[4], "ops-anonymizer": ports[5], "ops-dataset-sink": ports[6]}
	t.Cleanup(r.killAll) // also on t.Fatal and panics inside the test goroutine
	r.logln("run %s in %s", id, r.dir)
	return r
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func freePorts(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// logln writes to the test log and to <run>/e2e.log with the time since start.
func (r *run) logln(format string, a ...any) {
	msg := fmt.Sprintf("[%6.1fs] %s", time.Since(r.start).Seconds(), fmt.Sprintf(format, a...))
	r.t.Log(msg)
	r.mu.Lock()
	fmt.Fprintln(r.logf, msg)
	r.mu.Unlock()
}

func (r *run) topicEnv() map[string]string {
	n := r.names
	return map[string]string{
		"KAFKA_BROKERS": strings.Join(r.e.brokers, ","), "SCHEMA_REGISTRY_URL": r.e.registry,
		"TOPIC_CONSENT_CHANGES": n.Changes, "TOPIC_EVENTS_RAW": n.Raw, "TOPIC_EVENTS_CONSENTED": n.Consented,
		"TOPIC_EVENTS_CURATED": n.Curated, "TOPIC_CONSENT_DECISIONS": n.Decisions,
		"TOPIC_DATASET_ERASURES": n.Erasures, "TOPIC_EVENTS_DLQ": n.DLQ,
		"LOG_FORMAT": "json", "LOG_LEVEL": "info",
	}
}

// serviceEnv is the complete environment of one service (nothing inherited but
// PATH, HOME and TMPDIR, so a stray TOPIC_* of the caller cannot leak in).
func (r *run) serviceEnv(name string) []string {
	m := r.topicEnv()
	m["OPS_ADDR"] = r.ports["ops-"+name]
	switch name {
	case "producer":
		m["PRODUCER_HTTP_ADDR"] = r.ports["producer"]
		m["PRODUCER_TOKENS"] = "e2e:plain:" + r.token + "=events:write"
	case "consent-filter":
		m["CONSENT_HTTP_ADDR"] = r.ports["consent"]
		m["CONSENT_TOKENS"] = "e2e:plain:" + r.token + "=consent:read|consent:write"
		m["AUDIT_KEY"] = r.auditKey
		m["REDIS_ADDR"] = r.e.redisAddr
		m["REDIS_NAMESPACE"] = r.redisNS
		m["FILTER_GROUP_ID"] = r.filterGroup
	case "anonymizer":
		m["PSEUDONYM_KEYS"] = "k1:" + r.pseudonymKey
		m["PROPERTIES_ALLOWLIST"] = "project,space,priority,to_status,feature,model,results,scope"
		m["ANONYMIZER_GROUP_ID"] = r.anonGroup
		m["ANONYMIZER_ERASURE_GROUP_ID"] = r.anonErasureGroup
	case "dataset-sink":
		m["SINK_HTTP_ADDR"] = r.ports["datasets"]
		m["SINK_TOKENS"] = "e2e:plain:" + r.token + "=datasets:read|datasets:write"
		m["DATASET_ROOT"] = filepath.Join(r.dir, "datasets")
		m["SINK_GROUP_ID"] = r.sinkGr
		m["SINK_ROTATE_INTERVAL"] = "2s"
		m["SNAPSHOT_INTERVAL"] = "0"
	}
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if v := os.Getenv("TMPDIR"); v != "" {
		out = append(out, "TMPDIR="+v)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, k+"="+m[k])
	}
	return out
}

// command prepares a child in its own process group that gets SIGKILL when the
// test process dies (Pdeathsig), with stdout and stderr appended to logPath.
func command(logPath string, envv []string, name string, args ...string) (*exec.Cmd, *os.File, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Env = envv
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, lf, nil
}

// startService starts (or restarts) one service; its log is appended to
// <run>/logs/<name>.log.
func (r *run) startService(name string) {
	r.t.Helper()
	cmd, lf, err := command(filepath.Join(r.dir, "logs", name+".log"), r.serviceEnv(name), filepath.Join(r.e.bin, name))
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		r.t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), started: time.Now()}
	r.mu.Lock()
	r.procs[name] = p
	r.mu.Unlock()
	go func() {
		p.err = cmd.Wait()
		lf.Close()
		r.mu.Lock()
		if !p.killed {
			r.unexpected = append(r.unexpected, fmt.Sprintf("%s (pid %d) exited by itself after %s: %v",
				name, cmd.Process.Pid, time.Since(p.started).Round(time.Millisecond), p.err))
		}
		r.mu.Unlock()
		close(p.done)
	}()
}

// signal sends sig to the service's process group and waits up to wait for it
// to exit (SIGKILL after that).
func (r *run) stopService(name string, sig syscall.Signal, wait time.Duration) error {
	r.mu.Lock()
	p := r.procs[name]
	if p != nil {
		p.killed = true
	}
	r.mu.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(wait):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not stop within %s after %v; killed", name, wait, sig)
	}
}

func (r *run) running(name string) bool {
	r.mu.Lock()
	p := r.procs[name]
	r.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// killAll SIGKILLs every process group still running (cleanup, also after a
// failure or a timeout of the test).
func (r *run) killAll() {
	r.mu.Lock()
	var ps []*proc
	for _, p := range r.procs {
		p.killed = true
		ps = append(ps, p)
	}
	r.mu.Unlock()
	for _, p := range ps {
		select {
		case <-p.done:
			continue
		default:
		}
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	}
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
	for i := len(serviceNames) - 1; i >= 0; i-- {
		if err := r.stopService(serviceNames[i], syscall.SIGTERM, 30*time.Second); err != nil {
			r.t.Errorf("graceful stop: %v", err)
		}
	}
}

// runTool runs a short-lived command (not a service) with a deadline, output to
// logPath, in its own process group, killed with it on timeout.
func (r *run) runTool(ctx context.Context, logPath string, envv []string, name string, args ...string) error {
	cmd, lf, err := command(logPath, envv, name, args...)
	if err != nil {
		return err
	}
	defer lf.Close()
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return fmt.Errorf("%s: %w", filepath.Base(name), ctx.Err())
	}
}

func (r *run) createTopics(ctx context.Context) {
	r.t.Helper()
	m := r.topicEnv()
	m["TOPIC_PARTITIONS"], m["TOPIC_CONSENT_PARTITIONS"] = "3", "2"
	envv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range m {
		envv = append(envv, k+"="+v)
	}
	if err := r.runTool(ctx, filepath.Join(r.dir, "logs", "topics.log"), envv, filepath.Join(r.e.bin, "consentflow"), "topics", "--wait", "30s"); err != nil {
		r.t.Fatalf("consentflow topics: %v (see %s)", err, filepath.Join(r.dir, "logs", "topics.log"))
	}
}

// waitReady waits until every listed service answers /readyz with 200.
func (r *run) waitReady(ctx context.Context, timeout time.Duration, names ...string) error {
	deadline := time.Now().Add(timeout)
	for _, n := range names {
		url := "http://" + r.ports["ops-"+n] + "/readyz"
		var last string
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
				last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
			} else {
				last = err.Error()
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not ready after %s: %s", n, timeout, last)
			}
			if !r.running(n) {
				return fmt.Errorf("%s exited while waiting for readiness (see logs/%s.log)", n, n)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// lagGroups are the consumer groups of the chain and what they consume.
func (r *run) lagGroups() [][2]string {
	return [][2]string{
		{r.filterGroup, r.names.Raw}, {r.anonGroup, r.names.Consented}, {r.anonErasureGroup, r.names.Changes},
		{r.sinkGr, r.names.Curated}, {r.sinkGr + "-erasures", r.names.Erasures},
	}
}

// waitDrained waits until every group has committed everything (lag 0 twice in a
// row, 1 s apart).
func (r *run) waitDrained(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	zeroes := 0
	var last string
	for {
		var parts []string
		var total int64
		var errs []error
		for _, g := range r.lagGroups() {
			lag, err := stream.GroupLag(ctx, r.e.brokers, g[0], g[1])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			total += lag
			parts = append(parts, fmt.Sprintf("%s=%d", strings.TrimPrefix(g[0], r.id+"-"), lag))
		}
		last = strings.Join(parts, " ")
		if len(errs) == 0 && total == 0 {
			zeroes++
			if zeroes >= 2 {
				r.logln("chain drained: %s", last)
				return nil
			}
		} else {
			zeroes = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chain not drained after %s: %s %v", timeout, last, errors.Join(errs...))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// readTopic returns every record of topic, partition by partition, up to the end
// offsets of now.
func readTopic(ctx context.Context, brokers []string, topic string) ([]kafka.Message, map[int]int64, error) {
	ends, err := stream.EndOffsets(ctx, brokers, topic)
	if err != nil {
		return nil, nil, err
	}
	var out []kafka.Message
	for p, end := range ends {
		if end == 0 {
			continue
		}
		rd := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: p, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 250 * time.Millisecond})
		if err := rd.SetOffset(kafka.FirstOffset); err != nil {
			rd.Close()
			return nil, nil, err
		}
		for {
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			m, err := rd.ReadMessage(cctx)
			cancel()
			if err != nil {
				rd.Close()
				return nil, nil, fmt.Errorf("read %s/%d: %w", topic, p, err)
			}
			out = append(out, m)
			if m.Offset >= end-1 {
				break
			}
		}
		rd.Close()
	}
	return out, ends, nil
}

// apiPost calls the dataset API.
func (r *run) createSnapshot(ctx context.Context) (string, error) {
	url := "http://" + r.ports["datasets"] + "/v1/datasets/ai_training/snapshots"
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, body)
	}
	var m struct {
		ID     string `json:"id"`
		Totals struct {
			Rows  int64 `json:"rows"`
			Files int   `json:"files"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return "", err
	}
	r.logln("snapshot %s: %d rows in %d files", m.ID, m.Totals.Rows, m.Totals.Files)
	return m.ID, nil
}

// kcatCount consumes topic with Debian's kcat and returns the records per
// partition and how many had no key.
func (r *run) kcatCount(ctx context.Context, topic string) (total int, noKey int, err error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, "kcat", "-b", strings.Join(r.e.brokers, ","), "-C", "-t", topic, "-o", "beginning", "-e", "-q",
		"-f", "%p\t%o\t%K\t%h\n")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("kcat: %v: %s", err, stderr.String())
	}
	if err := os.WriteFile(filepath.Join(r.dir, "kcat-curated.tsv"), out, 0o644); err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 3 {
			continue
		}
		total++
		if n, err := strconv.Atoi(f[2]); err != nil || n <= 0 {
			noKey++
		}
	}
	return total, noKey, sc.Err()
}

// python runs thirdparty.py and decodes its JSON result line.
func (r *run) python(ctx context.Context, v any, args ...string) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, r.e.python, append([]string{filepath.Join(r.e.repo, "e2e", "thirdparty.py")}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "HF_DATASETS_OFFLINE=1", "HF_HUB_OFFLINE=1", "HF_HOME="+filepath.Join(r.dir, "hf-home"),
		"PYTHONUNBUFFERED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	_ = os.WriteFile(filepath.Join(r.dir, "logs", "python-"+args[0]+".err"), stderr.Bytes(), 0o644)
	if err != nil {
		return fmt.Errorf("thirdparty.py %s: %v: %s", args[0], err, lastLines(stderr.String(), 15))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return json.Unmarshal([]byte(lines[len(lines)-1]), v)
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
