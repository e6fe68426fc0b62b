//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/loadgen"
)

// scenario fixes one run.
type scenario struct {
	kind         string // e2e | fault
	events       int
	rate         float64
	seed         uint64
	timeout      time.Duration
	drainTimeout time.Duration
	chaos        bool
	// redisCluster runs the consent-filter on the Redis Cluster of
	// scripts/services.sh (REDIS_CLUSTER_ADDRS) instead of the single Redis.
	redisCluster bool
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envFloat(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

// TestE2E: the four services as separate processes against real Kafka, the
// Redis Cluster of scripts/services.sh (E2E_REDIS=single for the single Redis)
// and the schema registry, a loadgen run with withdrawals and tenant opt-outs,
// then every check of README.md.
func TestE2E(t *testing.T) {
	e := loadEnv(t)
	runScenario(t, e, scenario{
		kind: "e2e", events: envInt("E2E_EVENTS", 4000), rate: envFloat("E2E_RATE", 200), seed: uint64(envInt("E2E_SEED", 42)),
		timeout: 8 * time.Minute, drainTimeout: 2 * time.Minute, redisCluster: os.Getenv("E2E_REDIS") != "single",
	})
}

// TestFault: the same run, larger and faster (tens of thousands of events at
// hundreds per second), while services are SIGKILLed and restarted, the
// namespace's Redis keys deleted, Redis and the Kafka broker restarted and poison
// injected.
func TestFault(t *testing.T) {
	e := loadEnv(t)
	if os.Getenv("CONSENTFLOW_FAULT") != "1" {
		t.Skip("fault injection restarts the shared Kafka broker and Redis: run `make fault` (CONSENTFLOW_FAULT=1)")
	}
	runScenario(t, e, scenario{
		kind: "fault", events: envInt("FAULT_EVENTS", 30000), rate: envFloat("FAULT_RATE", 300), seed: uint64(envInt("FAULT_SEED", 7)),
		timeout: 14 * time.Minute, drainTimeout: 4 * time.Minute, chaos: true,
	})
}

// report is written to <run>/report.json.
type report struct {
	Run            string         `json:"run"`
	Scenario       map[string]any `json:"scenario"`
	Loadgen        map[string]any `json:"loadgen"`
	Oracle         *oracleSummary `json:"oracle"`
	Identity       identityReport `json:"identity"`
	SnapshotRows   int            `json:"snapshot_rows"`
	CuratedRecords int64          `json:"curated_records"`
	Kcat           map[string]int `json:"kcat"`
	PythonCurated  map[string]any `json:"python_curated"`
	PythonSnapshot map[string]any `json:"python_snapshot"`
	Iceberg        map[string]any `json:"iceberg_readers"`
	DLQ            dlqReport      `json:"dlq"`
	Leaks          map[string]int `json:"leaks"`
	Chaos          []string       `json:"chaos,omitempty"`
	SelfExits      []string       `json:"self_exits,omitempty"`
	Durations      map[string]string
	Failures       []string `json:"failures"`
}

func runScenario(t *testing.T, e env, sc scenario) {
	ctx, cancel := context.WithTimeout(context.Background(), sc.timeout)
	defer cancel()
	if sc.redisCluster {
		addrs := os.Getenv("REDIS_CLUSTER_ADDRS")
		if addrs == "" {
			t.Fatal("REDIS_CLUSTER_ADDRS is not set: `make services` starts the Redis Cluster (or set E2E_REDIS=single)")
		}
		e.stack.Redis.Addr = addrs // several addresses: the consent-filter uses Redis Cluster
	}
	r := newRun(t, e, sc.kind)
	rep := &report{Run: r.id, Durations: map[string]string{}, Leaks: map[string]int{}, Kcat: map[string]int{},
		Scenario: map[string]any{"events": sc.events, "rate": sc.rate, "seed": sc.seed, "chaos": sc.chaos, "redis_cluster": sc.redisCluster}}
	fail := func(format string, a ...any) {
		msg := fmt.Sprintf(format, a...)
		rep.Failures = append(rep.Failures, msg)
		t.Error(msg)
	}
	// fatal and fatalf end the run like t.Fatal, and keep the reason in the
	// report and in the run's last lines (CI shows only the tail of a log).
	fatalf := func(format string, a ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, a...)
		rep.Failures = append(rep.Failures, "fatal: "+msg)
		t.Fatal(msg)
	}
	fatal := func(err error) {
		t.Helper()
		fatalf("%v", err)
	}
	defer func() {
		b, _ := json.MarshalIndent(rep, "", "  ")
		_ = os.WriteFile(filepath.Join(r.dir, "report.json"), b, 0o644)
		r.logln("report: %s", filepath.Join(r.dir, "report.json"))
		for i, f := range rep.Failures {
			r.logln("FAILURE %d of %d: %s", i+1, len(rep.Failures), f)
		}
	}()
	phase := time.Now()
	mark := func(name string) {
		rep.Durations[name] = time.Since(phase).Round(100 * time.Millisecond).String()
		phase = time.Now()
	}

	if sc.redisCluster {
		r.logln("consent-filter on the Redis Cluster %s", e.stack.Redis.Addr)
	}
	r.createTopics(ctx)
	for _, s := range serviceNames {
		r.startService(s)
	}
	if err := r.waitReady(ctx, 90*time.Second, serviceNames...); err != nil {
		fatal(err)
	}
	mark("start")
	r.logln("services ready: producer %s consent %s datasets %s", r.ports["producer"], r.ports["consent"], r.ports["datasets"])

	var injected []poison
	ps, err := r.injectPoison(ctx, 0)
	if err != nil {
		fatal(err)
	}
	injected = append(injected, ps...)

	// Identity probes: tenant-bound tokens refused for another tenant, a
	// backdated import after a withdrawal skipped (the user's next event is
	// judged by the oracle like the load's), ids with '/', '%', spaces and
	// non-ASCII letters.
	probeLines, err := r.identityProbes(ctx, &rep.Identity)
	if err != nil {
		fail("%v", err)
	}
	// Other people's identifiers in kept fields and escaped forms
	// (kept_probe_test.go): refused at ingest, or redacted.
	keptLines, err := r.keptProbes(ctx)
	if err != nil {
		fail("%v", err)
	}
	probeLines = append(probeLines, keptLines...)

	// The load generator, as a separate process: consent churn planned over the
	// run (pkg/loadgen ChurnPlan), its log records every answer of the services.
	truthPath := filepath.Join(r.dir, "loadgen.jsonl")
	args := []string{"loadgen", "--producer", "http://" + r.ports["producer"], "--consent", "http://" + r.ports["consent"],
		"--token", r.token, "--events", strconv.Itoa(sc.events), "--seed", strconv.FormatUint(sc.seed, 10),
		"--rate", strconv.FormatFloat(sc.rate, 'f', -1, 64), "--log", truthPath, "--no-progress", "--json",
		// four of the 20 tenants opt out and all re-grant (the default plan: two and
		// one), so that tenant rules are exercised both ways every run
		"--tenant-optout-share", "0.2", "--tenant-regrant-share", "1"}
	if sc.chaos {
		args = append(args, "--max-errors", "100000")
	}
	r.logln("loadgen %s", strings.Join(args, " "))
	lgDone := make(chan error, 1)
	go func() {
		lgDone <- r.runTool(ctx, filepath.Join(r.dir, "loadgen.log"), []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")},
			filepath.Join(e.bin, "consentflow"), args...)
	}()
	var ch *chaos
	if sc.chaos {
		ch = r.startChaos(ctx, time.Duration(float64(sc.events)/sc.rate*float64(time.Second)), sc.seed, &injected)
	}
	var lgErr error
	if ch == nil {
		lgErr = <-lgDone
	} else {
		lgErr = ch.superviseUntil(lgDone)
	}
	if ch != nil {
		rep.Chaos = ch.stop()
	}
	mark("load")
	if b, err := os.ReadFile(filepath.Join(r.dir, "loadgen.log")); err == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			if strings.HasPrefix(lines[i], "{") {
				_ = json.Unmarshal([]byte(lines[i]), &rep.Loadgen)
				break
			}
		}
	}
	r.logln("loadgen finished: %v %v", lgErr, rep.Loadgen)
	if lgErr != nil {
		fatalf("loadgen: %v (see %s)", lgErr, filepath.Join(r.dir, "loadgen.log"))
	}
	if err := appendLog(truthPath, probeLines); err != nil {
		fatal(err)
	}
	ps, err = r.injectPoison(ctx, 99)
	if err != nil {
		fatal(err)
	}
	injected = append(injected, ps...)

	if err := r.waitReady(ctx, 2*time.Minute, serviceNames...); err != nil {
		fatal(err)
	}
	if err := r.waitDrained(ctx, sc.drainTimeout); err != nil {
		fatal(err)
	}
	mark("drain")

	snapID, err := r.createSnapshot(ctx)
	if err != nil {
		fatal(err)
	}
	snapDir := filepath.Join(r.dir, "snapshot")
	envv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if err := r.runTool(ctx, filepath.Join(r.dir, "logs", "snapshot-pull.log"), envv, filepath.Join(e.bin, "consentflow"),
		"snapshot", "pull", "ai_training", snapID, "--out", snapDir, "--url", "http://"+r.ports["datasets"], "--token", r.token, "--quiet"); err != nil {
		fatalf("snapshot pull: %v", err)
	}
	mark("snapshot")

	// The load generator's log and the snapshot's rows.
	tr, err := readTruth(truthPath)
	if err != nil {
		fatal(err)
	}
	var pyS map[string]any
	rowsPath := filepath.Join(r.dir, "snapshot-rows.jsonl")
	if err := r.python(ctx, &pyS, "snapshot", "--dir", snapDir, "--out", rowsPath,
		"--cache", filepath.Join(r.dir, "hf-cache")); err != nil {
		fatal(err)
	}
	rep.PythonSnapshot = pyS
	rows, err := readRows(rowsPath)
	if err != nil {
		fatal(err)
	}
	rep.SnapshotRows = len(rows)
	// Rows carry the keyed per-purpose event id (docs/ARCHITECTURE.md,
	// Unlinkability): map it back to the raw id the truth file knows.
	toRaw, err := rawEventIDs(tr, r.pseudonymKey, "ai_training")
	if err != nil {
		fatal(err)
	}
	keyedRows := append([]snapRow(nil), rows...) // as the table holds them (the Iceberg readers' check)
	unmapped := 0
	for i, row := range rows {
		if raw, ok := toRaw[row.EventID]; ok {
			rows[i].EventID = raw
		} else {
			unmapped++
		}
	}
	if unmapped > 0 {
		fail("snapshot: %d rows carry an event_id that is the keyed id of no event sent", unmapped)
	}
	withdrawals, tenantOptOuts := 0, 0
	for _, c := range tr.consents {
		if c.Applied && c.Status == "DENIED" {
			if c.SubjectType == "tenant" {
				tenantOptOuts++
			} else {
				withdrawals++
			}
		}
	}
	r.logln("load generator: %d events, %d consent changes (%d user withdrawals, %d tenant opt-outs applied)",
		len(tr.events), len(tr.consents), withdrawals, tenantOptOuts)
	if withdrawals == 0 || tenantOptOuts == 0 {
		fail("scenario: want withdrawals and tenant opt-outs during the run, got %d and %d", withdrawals, tenantOptOuts)
	}

	// Identity (issue 13): visitors who browsed anonymously, identified and
	// withdrew have none of their anonymous, logged-in or logged-out events in
	// the snapshot; tenants share user ids.
	vu, vev, vpresent := withdrawnVisitors(tr, rows)
	rep.Identity.WithdrawnVisitors, rep.Identity.WithdrawnVisitorEvents, rep.Identity.WithdrawnVisitorPresent = vu, vev, vpresent
	rep.Identity.Links = len(tr.links)
	rep.Identity.SharedUserIDs, rep.Identity.SharedUserIDsDiffering = sharedUserIDs(tr, rows)
	r.logln("identity: %d links; %d visitors identified and withdrew, %d of their events, %d in the snapshot; %d user ids used in several tenants, %d of them with different consents and outcomes",
		len(tr.links), vu, vev, vpresent, rep.Identity.SharedUserIDs, rep.Identity.SharedUserIDsDiffering)
	if vpresent > 0 {
		fail("identity: %d events of visitors who identified and withdrew are in the snapshot", vpresent)
	}
	if vu == 0 || rep.Identity.SharedUserIDsDiffering == 0 {
		fail("scenario: want visitors who identified and withdrew and user ids shared by tenants with different consents and outcomes, got %d and %d",
			vu, rep.Identity.SharedUserIDsDiffering)
	}

	// 4. Third-party readers of the snapshot: the manifest's row count everywhere.
	mrows := num(pyS["manifest_rows"])
	for _, k := range []string{"pyarrow_rows", "duckdb_rows", "datasets_rows"} {
		if num(pyS[k]) != mrows {
			fail("snapshot: %s = %v, manifest says %d rows%s", k, pyS[k], mrows, pyErr(pyS, k))
		}
	}
	if int64(len(rows)) != mrows {
		fail("snapshot: %d rows decoded, manifest says %d", len(rows), mrows)
	}
	// The same snapshot read as an Iceberg table by pyiceberg, DuckDB and Spark.
	rep.Iceberg = r.icebergReaders(ctx, snapDir, keyedRows, fail)

	// 2. Leaks: the needles are every raw id and seeded PII value of the run.
	gcfg := loadgen.DefaultConfig()
	gcfg.Seed, gcfg.Plan.Events = sc.seed, sc.events // as `consentflow loadgen` builds it
	gcfg.Plan.TenantOptOutShare, gcfg.Plan.TenantRegrantShare = 0.2, 1
	gen, err := loadgen.NewGenerator(gcfg)
	if err != nil {
		fatal(err)
	}
	nd, err := forbidden(tr, gen, sc.events)
	if err != nil {
		fatal(err)
	}
	nd.add("secret:pseudonym_key", r.pseudonymKey)
	nd.add("secret:audit_key", r.auditKey)
	nd.add("secret:api_token", r.token)
	nd.add("secret:api_token", r.boundToken)
	nd.add("secret:api_token", r.importToken)
	nd.add("user_id", probeUser)
	nd.add("tenant_id", probeTenant)
	nd.add("user_id", keptUser)
	nd.add("tenant_id", keptTenant)
	for _, v := range keptOthers {
		nd.add("kept_probe", v)
	}
	nd.add("secret:kafka_sasl_password", e.stack.Kafka.SASL.Password.Reveal())
	nd.add("secret:redis_password", e.stack.Redis.Password.Reveal())
	nd.add("secret:schema_registry_password", e.stack.Registry.Password.Reveal())
	r.logln("leak scan: %d needles", len(nd.what))
	// Raw event ids are no secret of the audit trail (consent.decisions names
	// them), but the curated outputs carry only their keyed form: a raw id there
	// would join two purposes' datasets, and a dataset to the audit trail.
	eids := newNeedles()
	for _, e := range tr.events {
		eids.add("event_id", e.EventID)
	}
	leak := func(what string, hits []hit) {
		rep.Leaks[what] = len(hits)
		if len(hits) == 0 {
			return
		}
		fail("leak: %d forbidden values in %s", len(hits), what)
		for i, h := range hits {
			if i >= 10 {
				break
			}
			r.logln("  LEAK %s [%s] %q in %s", h.category, h.where, h.value, h.context)
		}
	}

	curated, ends, err := readTopic(ctx, e.stack.Kafka, r.names.Curated)
	if err != nil {
		fatal(err)
	}
	for _, end := range ends {
		rep.CuratedRecords += end
	}
	leak("events.curated (keys, values, headers)", scanMessages(nd, r.names.Curated, curated, 50))
	leak("events.curated: raw event ids", scanMessages(eids, r.names.Curated, curated, 50))
	decisions, _, err := readTopic(ctx, e.stack.Kafka, r.names.Decisions)
	if err != nil {
		fatal(err)
	}
	leak("consent.decisions (keys, values, headers)", scanMessages(nd, r.names.Decisions, decisions, 50))
	if len(decisions) < len(tr.events)-countNotAccepted(tr) {
		fail("consent.decisions: %d records for %d accepted events", len(decisions), len(tr.events)-countNotAccepted(tr))
	}
	snapHits, nfiles, err := scanFiles(nd, snapDir, 50)
	if err != nil {
		fatal(err)
	}
	r.logln("scanned %d files of the pulled snapshot (raw bytes)", nfiles)
	leak("snapshot files (raw bytes)", snapHits)
	rowsBytes, _ := os.ReadFile(filepath.Join(r.dir, "snapshot-rows.jsonl"))
	leak("snapshot rows decoded by pyarrow", nd.scan("snapshot-rows.jsonl", rowsBytes, 50))
	leak("snapshot rows: raw event ids", eids.scan("snapshot-rows.jsonl", rowsBytes, 50))

	// 1 + 3. The independent oracle (e2e/oracle.py) judges every event and
	// every decision against the load generator's log and the policy file.
	var pyC map[string]any
	curatedPath := filepath.Join(r.dir, "curated-decoded.jsonl")
	// The curated content is sealed (crypto-shredding): the Python reader opens
	// it with a dump of the data keys, independently of pkg/shred, so that the
	// leak scans below read what a curated consumer reads.
	keysPath := filepath.Join(r.dir, "curated-data-keys.json")
	nkeys, err := dumpDataKeys(ctx, e.stack.Redis, r.redisNS, keysPath)
	if err != nil {
		fatal(err)
	}
	if err := r.python(ctx, &pyC, "topic", "--kafka-config", r.librdkafkaConfig(e.stack.Kafka, "python"), "--topic", r.names.Curated,
		"--registry", e.stack.Registry.URL, "--out", curatedPath, "--data-keys", keysPath, "--redis-namespace", r.redisNS); err != nil {
		fatal(err)
	}
	rep.PythonCurated = pyC
	r.logln("events.curated opened by the Python reader with %d data keys: %v opened, %v erased (shredded or withheld), %v missing, %v clear, %v do not open",
		nkeys, pyC["opened"], pyC["erased"], pyC["missing"], pyC["clear"], pyC["open_error_count"])
	if num(pyC["opened"]) == 0 || num(pyC["missing"]) != 0 || num(pyC["open_error_count"]) != 0 || num(pyC["clear"]) != 0 ||
		num(pyC["opened"])+num(pyC["erased"]) != num(pyC["decoded"]) {
		fail("python reader: events.curated records opened %v, erased %v, missing %v, clear %v, not opening %v (%v) of %v decoded: "+
			"want every record sealed and either opened or erased", pyC["opened"], pyC["erased"], pyC["missing"], pyC["clear"],
			pyC["open_error_count"], pyC["open_errors"], pyC["decoded"])
	}
	decoded, _ := os.ReadFile(curatedPath)
	leak("events.curated decoded by confluent-kafka+fastavro", nd.scan("curated-decoded.jsonl", decoded, 50))
	// A withdrawal reaches events.curated as it reaches the dataset: what a
	// consumer starting now can read there is exactly what the snapshot holds.
	rowBytes, _ := os.ReadFile(rowsPath)
	if extra, missing, err := readableVersusRows(decoded, rowBytes); err != nil {
		fail("readable curated records versus snapshot rows: %v", err)
	} else if len(extra)+len(missing) > 0 {
		fail("events.curated: %d records readable whose event is not in the snapshot (a withdrawal that did not reach the topic), e.g. %v; "+
			"%d snapshot rows whose curated records do not open, e.g. %v", len(extra), first(extra, 5), len(missing), first(missing, 5))
	}
	// Made-up people and places (in no list of the redactor): a partial leak
	// is any token of 4+ characters surviving; they measure generalisation,
	// bounded at 5% of the seeded values.
	mu, seededMU := madeUpNeedles(tr)
	muHits := mu.scan("curated-decoded.jsonl", decoded, 1<<20)
	leakedMU := leakedValues(muHits)
	rep.Leaks["made-up names/places leaking a token (of "+strconv.Itoa(seededMU)+" seeded)"] = len(leakedMU)
	r.logln("made-up names/places: %d of %d seeded values leak a token of 4+ characters", len(leakedMU), seededMU)
	for i, h := range muHits {
		if i < 10 {
			r.logln("  PARTIAL %s %q in %s", h.category, h.value, h.context)
		}
	}
	if float64(len(leakedMU)) > 0.05*float64(seededMU) {
		fail("leak: %d of %d made-up names/places keep a token of 4+ characters (bound 5%%)", len(leakedMU), seededMU)
	}
	storePath := filepath.Join(r.dir, "consent-store.jsonl")
	nstore, err := dumpConsentStore(ctx, e.stack.Redis, r.redisNS, storePath)
	if err != nil {
		fatal(err)
	}
	r.logln("consent store dumped: %d bucket metas and records", nstore)
	tallyPath := filepath.Join(r.dir, "tally.jsonl")
	ntally, err := dumpTally(ctx, e.stack.Redis, r.redisNS, tallyPath)
	if err != nil {
		fatal(err)
	}
	r.logln("privacy centre tally dumped: %d events counted", ntally)
	// Without faults every decided event is counted once; with them counts
	// may fall short (a batch dropped, a kill), never over.
	orc, err := r.runOracle(ctx, truthPath, curatedPath, rowsPath, storePath, tallyPath, !sc.chaos)
	if err != nil {
		fatal(err)
	}
	rep.Oracle = orc
	for _, f := range orc.problems(len(tr.events)) {
		fail("%s", f)
	}
	r.logOracle(orc)
	if num(pyC["records"]) != rep.CuratedRecords || num(pyC["decoded"]) != rep.CuratedRecords {
		fail("python confluent-kafka+fastavro: %v records, %v decoded, topic holds %d (errors %v)", pyC["records"], pyC["decoded"], rep.CuratedRecords, pyC["errors"])
	}
	kTotal, kNoKey, err := r.kcatCount(ctx, r.names.Curated)
	if err != nil {
		fail("kcat: %v", err)
	}
	rep.Kcat["records"], rep.Kcat["without_key"] = kTotal, kNoKey
	if int64(kTotal) != rep.CuratedRecords || kNoKey != 0 {
		fail("kcat: %d records (%d without key), topic holds %d", kTotal, kNoKey, rep.CuratedRecords)
	}
	r.logln("events.curated: %d records; kcat %d (%d without key); python decoded %v", rep.CuratedRecords, kTotal, kNoKey, pyC["decoded"])

	// 5. The DLQ holds exactly the poison.
	dr, err := r.checkDLQ(ctx, injected, sc.chaos)
	if err != nil {
		fatal(err)
	}
	rep.DLQ = dr
	r.logln("DLQ: %d records, %d distinct poison of %d injected, %d redelivered", dr.Records, dr.Distinct, len(injected), dr.Redelivered)
	for _, p := range dr.Problems {
		fail("dlq: %s", p)
	}
	mark("checks")

	// Logs last, after a graceful stop, so they are complete.
	r.stopAll()
	logHits, nlogs, err := scanFiles(nd, filepath.Join(r.dir, "logs"), 50)
	if err != nil {
		fatal(err)
	}
	r.logln("scanned %d log files", nlogs)
	leak("service logs", logHits)
	rep.SelfExits = append(rep.SelfExits, r.chain.Unexpected()...)
	for _, s := range rep.SelfExits {
		if sc.chaos {
			r.logln("WARNING self-exit: %s", s)
		} else {
			fail("service exited by itself: %s", s)
		}
	}
	mark("logs")
	r.logln("done in %s", time.Since(r.start).Round(time.Second))
}

func countNotAccepted(tr *truth) int {
	n := 0
	for _, e := range tr.events {
		if !e.Accepted {
			n++
		}
	}
	return n
}

func num(v any) int64 {
	switch x := v.(type) {
	case float64:
		return int64(x)
	case int64:
		return x
	case int:
		return int64(x)
	}
	return -1
}

func pyErr(m map[string]any, k string) string {
	if v, ok := m[strings.TrimSuffix(k, "_rows")+"_error"]; ok {
		return fmt.Sprintf(" (%v)", v)
	}
	return ""
}
