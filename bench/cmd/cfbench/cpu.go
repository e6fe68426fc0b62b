package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The e2e runs account for the whole machine's CPU, not only the four services
// and loadgen: the broker, Redis and the registry share the same cores, and
// what they burn per event is part of what the chain costs.

// infraNames are the processes of scripts/services.sh the e2e runs measure,
// by the name the run's JSON gives them and their pid file's base name.
var infraNames = []struct{ name, pidFile string }{
	{"kafka broker", "kafka"},
	{"redis", "redis"},
	{"schema registry", "schema-registry"},
}

// infraPIDs reads the pids of the broker, Redis and the registry from a
// services dir (scripts/services.sh: $CONSENTFLOW_SERVICES_DIR/pids/<name>.pid);
// a process without a readable pid file or that no longer runs is left out.
func infraPIDs(servicesDir string) map[string]int {
	out := map[string]int{}
	if servicesDir == "" {
		return out
	}
	for _, s := range infraNames {
		b, err := os.ReadFile(filepath.Join(servicesDir, "pids", s.pidFile+".pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err != nil {
			continue
		}
		out[s.name] = pid
	}
	return out
}

// machineCPUSeconds is the CPU time every process on the machine has used
// since boot (user, nice, system, irq, softirq, steal of /proc/stat's cpu line,
// in USER_HZ = 100 ticks per second), for the share of a run that no measured
// process accounts for, and the part of it that was steal: time the
// hypervisor gave this machine's vCPUs to someone else while they had work.
func machineCPUSeconds() (busy, steal float64) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	return busySeconds(f)
}

// busySeconds reads the aggregate "cpu" line of /proc/stat: every field but
// idle (4th) and iowait (5th); guest time (9th, 10th) is already counted in
// user and nice, so only the first eight fields are summed. steal is the 8th.
func busySeconds(r io.Reader) (busy, steal float64) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 0 || f[0] != "cpu" {
			continue
		}
		var ticks, stolen uint64
		for i, x := range f[1:] {
			if i >= 8 {
				break
			}
			if i == 3 || i == 4 {
				continue
			}
			v, _ := strconv.ParseUint(x, 10, 64)
			ticks += v
			if i == 7 {
				stolen = v
			}
		}
		return float64(ticks) / 100, float64(stolen) / 100
	}
	return 0, 0
}

// Per-run CPU names that are not one process.
const (
	cpuWall       = "wall"
	cpuMachine    = "machine"    // every process on the machine
	cpuUnmeasured = "unmeasured" // machine − the measured processes
	cpuSteal      = "steal"      // hypervisor steal, part of machine and unmeasured
)

// cpuAccount completes a run's CPU seconds per process (measured over the run)
// with the machine's total over the same interval and what no measured
// process accounts for (other users' work, the kernel's, Kafka's tools…).
//
// steal is reported beside them (it is part of both): on a shared host a run
// whose processes all cost more per event with steal up was slowed by the
// host, not by the code.
func cpuAccount(perProcess map[string]float64, machine, steal, wall float64) map[string]float64 {
	out := map[string]float64{cpuWall: round(wall, 3)}
	var sum float64
	for k, v := range perProcess {
		out[k] = round(v, 2)
		sum += v
	}
	if machine > 0 {
		out[cpuMachine] = round(machine, 2)
		out[cpuUnmeasured] = round(machine-sum, 2)
		out[cpuSteal] = round(steal, 2)
	}
	return out
}

// cpuPerEvent turns a run's CPU seconds into CPU microseconds per raw event
// for every entry but the wall time.
func cpuPerEvent(cpu map[string]float64, events int64) map[string]float64 {
	out := map[string]float64{}
	if events <= 0 {
		return out
	}
	for k, v := range cpu {
		if k == cpuWall {
			continue
		}
		out[k] = round(v*1e6/float64(events), 1)
	}
	return out
}

// cpuFigureID is the figure id of a process's CPU per event in an e2e run:
// e2e.<mode>.cpu.<name with non-alphanumerics as _>.
func cpuFigureID(mode, name string) string {
	var b strings.Builder
	last := byte('_')
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'
		switch {
		case ok:
			b.WriteByte(c | 0x20)
			last = c
		case last != '_':
			b.WriteByte('_')
			last = '_'
		}
	}
	return "e2e." + mode + ".cpu." + strings.TrimSuffix(b.String(), "_")
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// cpuWhat describes a CPU-per-event figure of an e2e run.
func cpuWhat(r *RunResult, name string) string {
	run := "the max-rate run"
	if r.Rate > 0 {
		run = fmt.Sprintf("the %g events/s run", r.Rate)
	}
	per := " per raw event of " + run + " (CPU time over first request → both lags 0 ÷ raw events)"
	switch name {
	case cpuMachine:
		return "CPU µs of the whole machine (every process, /proc/stat)" + per
	case cpuSteal:
		return "CPU µs of steal: time the hypervisor gave this machine's vCPUs to other guests while they had work (/proc/stat; part of machine and unmeasured)" + per
	case cpuUnmeasured:
		return "CPU µs that no measured process accounts for (machine − services, loadgen, broker, Redis, registry: other work on the machine, the kernel)" + per
	default:
		return "CPU µs of " + name + per
	}
}
