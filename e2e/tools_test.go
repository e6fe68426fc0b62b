//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

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
