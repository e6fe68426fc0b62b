//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// icebergReaders reads the dataset's Iceberg table, at the snapshot tag the run
// pulled, with pyiceberg (SQL catalog), DuckDB (iceberg_scan) and Apache Spark
// (e2e/iceberg_readers.py in the venv of scripts/iceberg-pyenv.sh; Spark is
// skipped with E2E_SPARK=0), and checks that each reads exactly the rows of the
// pulled snapshot (which the ground truth checks), that time travel to the
// snapshot before an erasure commit shows the erased rows, and that the current
// snapshot does not. It returns the readers' report.
func (r *run) icebergReaders(ctx context.Context, snapDir string, rows []snapRow, fail func(string, ...any)) map[string]any {
	var m struct {
		Snapshot int64 `json:"iceberg_snapshot_id"`
	}
	b, err := os.ReadFile(filepath.Join(snapDir, "manifest.json"))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil || m.Snapshot == 0 {
		fail("iceberg: pulled manifest has no iceberg_snapshot_id (%v)", err)
		return nil
	}
	py, jar, err := icebergPython(r.e.repo)
	if err != nil {
		fail("iceberg readers: %v", err)
		return nil
	}
	out := filepath.Join(r.dir, "iceberg-readers")
	args := []string{filepath.Join(r.e.repo, "e2e", "iceberg_readers.py"), "--catalog", filepath.Join(r.dir, "datasets", "catalog.db"),
		"--table", "consentflow.ai_training", "--snapshot", fmt.Sprint(m.Snapshot), "--out", out}
	readers := []string{"pyiceberg", "duckdb"}
	if os.Getenv("E2E_SPARK") != "0" {
		args = append(args, "--spark-jar", jar)
		readers = append(readers, "spark")
	}
	cctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(cctx, py, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Env = append(os.Environ(), "SPARK_LOCAL_IP=127.0.0.1", "PYTHONUNBUFFERED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	_ = os.WriteFile(filepath.Join(r.dir, "logs", "iceberg-readers.err"), stderr.Bytes(), 0o644)
	if err != nil {
		fail("iceberg readers: %v: %s", err, lastLines(stderr.String(), 15))
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		fail("iceberg readers: %v", err)
		return nil
	}
	res["seconds"] = time.Since(start).Round(100 * time.Millisecond).Seconds()
	want := map[string]int{}
	for _, row := range rows {
		want[row.EventID]++
	}
	for _, name := range readers {
		b, err := os.ReadFile(filepath.Join(out, name+"-ids.txt"))
		if err != nil {
			fail("iceberg %s: %v", name, err)
			continue
		}
		got := map[string]int{}
		for _, id := range strings.Fields(string(b)) {
			got[id]++
		}
		diff := 0
		for id, n := range want {
			if got[id] != n {
				diff++
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				diff++
			}
		}
		if diff > 0 {
			fail("iceberg %s: %d event ids differ from the pulled snapshot (%d rows read, %d in the snapshot)", name, diff, len(strings.Fields(string(b))), len(rows))
		}
		if erased := num(res["erased_rows"]); erased > 0 && num(res[name+"_time_travel_erased_seen"]) != erased {
			fail("iceberg %s: time travel to the snapshot before an erasure shows %v of its %d erased rows", name, res[name+"_time_travel_erased_seen"], erased)
		}
	}
	if num(res["erased_rows"]) == 0 {
		fail("iceberg: no erasure commit with its parent snapshot still kept: time travel not checked")
	}
	if num(res["current_holds_erased"]) != 0 {
		fail("iceberg: the current snapshot holds %v erased rows", res["current_holds_erased"])
	}
	r.logln("iceberg readers (%.0f s): pyiceberg %v, duckdb %v, spark %v rows; time travel before an erasure: %v erased rows seen by each",
		res["seconds"], res["pyiceberg_rows"], res["duckdb_rows"], res["spark_rows"], res["erased_rows"])
	return res
}

// icebergPython is the python of scripts/iceberg-pyenv.sh (E2E_ICEBERG_PYTHON
// if set) and the iceberg-spark-runtime jar it fetched.
func icebergPython(repo string) (string, string, error) {
	py := os.Getenv("E2E_ICEBERG_PYTHON")
	if py == "" {
		out, err := exec.Command("bash", filepath.Join(repo, "scripts", "iceberg-pyenv.sh")).Output()
		if err != nil {
			return "", "", fmt.Errorf("scripts/iceberg-pyenv.sh: %w", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		py = lines[len(lines)-1]
	}
	cache := os.Getenv("CONSENTFLOW_CACHE")
	if cache == "" {
		cache = filepath.Join(os.Getenv("HOME"), ".cache", "consentflow")
	}
	jar, _ := os.ReadFile(filepath.Join(cache, "iceberg-jars", "path"))
	return py, strings.TrimSpace(string(jar)), nil
}
