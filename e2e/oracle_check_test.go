//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// oracleSummary is what e2e/oracle.py prints: counts, failures by category with
// examples (each naming the rule that disagreed), and the events it could not
// decide, with why.
type oracleSummary struct {
	Counts              map[string]int      `json:"counts"`
	Failures            map[string]int      `json:"failures"`
	Undecidable         int                 `json:"undecidable"`
	Examples            map[string][]string `json:"examples"`
	UndecidableExamples []map[string]string `json:"undecidable_examples"`
	Report              string              `json:"report"`
}

// maxUndecidable is the share of events the oracle may leave unchecked.
const maxUndecidable = 0.005

// problems lists what fails the run: every disagreement, and too many
// undecidable events.
func (o *oracleSummary) problems(events int) []string {
	var out []string
	cats := make([]string, 0, len(o.Failures))
	for c := range o.Failures {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		msg := fmt.Sprintf("oracle: %d × %s", o.Failures[c], c)
		for _, ex := range o.Examples[c] {
			msg += "\n    " + ex
		}
		out = append(out, msg)
	}
	if events > 0 && float64(o.Undecidable) >= maxUndecidable*float64(events) {
		out = append(out, fmt.Sprintf("oracle: %d of %d events undecidable (%.2f%%, limit %.1f%%): %v", o.Undecidable, events,
			100*float64(o.Undecidable)/float64(events), 100*maxUndecidable, o.UndecidableExamples))
	}
	if o.Counts["must_pass"] == 0 || o.Counts["must_be_absent"] == 0 {
		out = append(out, fmt.Sprintf("oracle: the run must check events both ways, got %d must-pass and %d must-be-absent",
			o.Counts["must_pass"], o.Counts["must_be_absent"]))
	}
	return out
}

// runOracle dumps consent.changes, events.raw and consent.decisions with the
// third-party Python client and runs e2e/oracle.py over them, the load
// generator's log, the curated dump and the snapshot's rows.
func (r *run) runOracle(ctx context.Context, logPath, curatedPath, rowsPath, storePath, tallyPath string, tallyExact bool) (*oracleSummary, error) {
	dumps := map[string]string{}
	for _, d := range []struct{ name, topic, fields string }{
		{"changes", r.names.Changes, ""},
		{"raw", r.names.Raw, "event_id,tenant_id,user_id,anonymous_id,previous_id,jurisdiction,gpc,received_at"},
		{"decisions", r.names.Decisions, ""},
	} {
		path := filepath.Join(r.dir, d.name+"-decoded.jsonl")
		var res map[string]any
		args := []string{"topic", "--kafka-config", r.librdkafkaConfig(r.e.stack.Kafka, "python"), "--topic", d.topic, "--registry", r.e.stack.Registry.URL, "--out", path}
		if d.fields != "" {
			args = append(args, "--fields", d.fields)
		}
		if err := r.python(ctx, &res, args...); err != nil {
			return nil, err
		}
		if d.name != "raw" && num(res["decoded"]) != num(res["records"]) { // raw holds the poison
			return nil, fmt.Errorf("%s: %v of %v records decoded: %v", d.topic, res["decoded"], res["records"], res["errors"])
		}
		r.logln("dumped %s: %v records", d.topic, res["records"])
		dumps[d.name] = path
	}
	out := filepath.Join(r.dir, "oracle-report.json")
	start := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, r.e.python, filepath.Join(r.e.repo, "e2e", "oracle.py"),
		"--log", logPath, "--policy", filepath.Join(r.e.repo, "e2e", "policy.yaml"), "--purpose", "ai_training",
		"--changes", dumps["changes"], "--raw", dumps["raw"], "--decisions", dumps["decisions"],
		"--curated", curatedPath, "--rows", rowsPath, "--pseudonym-key", "k1:"+r.pseudonymKey, "--store", storePath, "--tally", tallyPath, "--out", out)
	if tallyExact {
		cmd.Args = append(cmd.Args, "--tally-exact")
	}
	b, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		return nil, fmt.Errorf("oracle.py: %v: %s", err, lastLines(stderr, 20))
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var s oracleSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &s); err != nil {
		return nil, fmt.Errorf("oracle.py output: %w", err)
	}
	s.Report = out
	r.logln("oracle ran in %s", time.Since(start).Round(100*time.Millisecond))
	return &s, nil
}

func (r *run) logOracle(o *oracleSummary) {
	c := o.Counts
	r.logln("oracle: %d events, %d decisions re-derived; must pass %d, must be absent %d (of which erased %d, never in Kafka %d); "+
		"determinate %d, timing-dependent %d (resolved by the versions the decisions used); undecidable %d; failures %v; report %s",
		c["events"], c["decisions"], c["must_pass"], c["must_be_absent"], c["erased"], c["never_in_kafka"],
		c["determinate"], c["timing_dependent"], o.Undecidable, o.Failures, o.Report)
	var reasons []string
	for k, v := range c {
		if strings.HasPrefix(k, "reason:") {
			reasons = append(reasons, fmt.Sprintf("%s=%d", strings.TrimPrefix(k, "reason:"), v))
		}
	}
	sort.Strings(reasons)
	r.logln("oracle: decisions by reason: %s", strings.Join(reasons, " "))
	if n, ok := c["tally_events"]; ok {
		r.logln("oracle: privacy centre tally %d events (exact run: at least %d; otherwise at most %d)", n, c["tally_expected_at_least"], c["tally_allowed_at_most"])
	}
	for _, u := range o.UndecidableExamples {
		r.logln("  undecidable %s: %s", u["event_id"], u["why"])
	}
}

// TestOracleRules runs the oracle's own tests (e2e/oracle_test.py: the rules of
// ARCHITECTURE.md on small cases, and that each kind of disagreement is caught)
// with the project's Python.
func TestOracleRules(t *testing.T) {
	e := loadEnv(t) // the project's Python venv (scripts/pyenv.sh) among the rest
	cmd := exec.Command(e.python, "-m", "unittest", "-v", "oracle_test")
	out, err := cmd.CombinedOutput()
	t.Log(string(out))
	if err != nil {
		t.Fatal(err)
	}
}

// filterEnv is what the runs add to the consent-filter's environment: the policy
// file the oracle reads too, and a linger of 100 ms, so that the consent changes
// the load generator makes right after an event of the same subject are often
// seen before that event is decided — the timing-dependent rules
// (consent_after_event, tenant_consent_after_event, a newer DENIED) are
// exercised in every run.
//
// E2E_FILTER_CONSUMERS, when set, is passed on as FILTER_CONSUMERS (the filter's
// group members in one process), so that `make e2e` / `make fault` can check the
// guarantees with several members: E2E_FILTER_CONSUMERS=2 make fault.
func filterEnv(repo string) map[string]string {
	env := map[string]string{
		"POLICY_FILE":   filepath.Join(repo, "e2e", "policy.yaml"),
		"FILTER_LINGER": "100ms",
	}
	if n := os.Getenv("E2E_FILTER_CONSUMERS"); n != "" {
		env["FILTER_CONSUMERS"] = n
	}
	return env
}

// TestMutantsApply: every planted bug of `make mutants` (mutants.py) still matches
// the code it mutates, so the mutation check cannot silently lose a mutant when
// the code moves. Runs in `make test` wherever python3 is installed.
func TestMutantsApply(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	out, err := exec.Command(py, "mutants.py", "--check").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}
