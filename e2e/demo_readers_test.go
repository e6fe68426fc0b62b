//go:build linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoReadingExamples: the reading examples `make demo` prints work as
// printed. It runs `consentflow demo` (embedded stack, a smaller load), then each
// printed `python3 -c ...` line through bash with the Iceberg readers' venv
// (scripts/iceberg-pyenv.sh) first on PATH: the pyiceberg and DuckDB
// iceberg_scan counts per event type of the current snapshot must add up to the
// same total, and the snapshot tag must hold exactly the rows the summary
// reports for the snapshot.
func TestDemoReadingExamples(t *testing.T) {
	if os.Getenv("CONSENTFLOW_E2E") != "1" {
		t.Skip("end-to-end test: run `make e2e`")
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := os.Getenv("CONSENTFLOW_BIN")
	if bin == "" {
		bin = filepath.Join(repo, "bin")
	}
	py, _, err := icebergPython(repo)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	out := t.TempDir()
	demo := exec.CommandContext(ctx, filepath.Join(bin, "consentflow"), "demo", "--events", "800", "--out", out)
	demo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stderr strings.Builder
	demo.Stderr = &stderr
	stdout, err := demo.Output()
	if err != nil {
		t.Fatalf("consentflow demo: %v\n%s", err, lastLines(stderr.String(), 20))
	}
	m := regexp.MustCompile(`(?m)^\s+rows in snapshot\s+(\d+) in `).FindSubmatch(stdout)
	if m == nil {
		t.Fatalf("demo summary has no 'rows in snapshot' line:\n%s", stdout)
	}
	snapshotRows, _ := strconv.Atoi(string(m[1]))
	var lines []string
	for _, l := range strings.Split(string(stdout), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "python3 -c ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("want 3 printed python3 one-liners (pyiceberg, DuckDB, the tag), got %d:\n%s", len(lines), stdout)
	}
	// Exactly as printed: bash runs the line; python3 is the readers' venv.
	env := append(os.Environ(), "PATH="+filepath.Dir(py)+string(os.PathListSeparator)+os.Getenv("PATH"))
	outputs := make([]string, len(lines))
	for i, l := range lines {
		cmd := exec.CommandContext(ctx, "bash", "-c", l)
		cmd.Env, cmd.Dir = env, t.TempDir()
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("printed line %d fails: %v\n%s\n%s", i+1, err, l, lastLines(string(b), 15))
		}
		outputs[i] = string(b)
	}
	// pandas prints "page_view    123" per group; DuckDB a box "│ page_view │ 123 │".
	pandasTotal := sumLines(outputs[0], regexp.MustCompile(`^(\S+)\s+(\d+)$`))
	duckTotal := sumLines(outputs[1], regexp.MustCompile(`^│\s*(\S+)\s*│\s*(\d+)\s*│$`))
	tagRows, err := strconv.Atoi(strings.TrimSpace(lastLines(outputs[2], 1)))
	if err != nil {
		t.Fatalf("tag one-liner printed %q, want a row count", outputs[2])
	}
	t.Logf("demo snapshot %d rows; pyiceberg current %d, DuckDB iceberg_scan current %d, pyiceberg tag %d", snapshotRows, pandasTotal, duckTotal, tagRows)
	if snapshotRows == 0 {
		t.Fatalf("the demo's snapshot is empty:\n%s", stdout)
	}
	if tagRows != snapshotRows {
		t.Errorf("the snapshot tag read with pyiceberg holds %d rows, the demo's summary says %d", tagRows, snapshotRows)
	}
	if pandasTotal != duckTotal || pandasTotal == 0 {
		t.Errorf("current snapshot: pyiceberg counts %d rows, DuckDB iceberg_scan %d (snapshot tag %d)\npyiceberg:\n%s\nDuckDB:\n%s", pandasTotal, duckTotal, snapshotRows, outputs[0], outputs[1])
	}
}

// sumLines adds the second group of re over the lines that match it.
func sumLines(s string, re *regexp.Regexp) int {
	total := 0
	for _, l := range strings.Split(s, "\n") {
		if m := re.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			n, _ := strconv.Atoi(m[2])
			total += n
		}
	}
	return total
}
