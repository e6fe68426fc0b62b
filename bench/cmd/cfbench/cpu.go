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
	"time"
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

// cpuSample is one reading of /proc/stat's aggregate "cpu" line: when it was
// taken, how many CPUs the machine has (its cpuN lines), the idle (idle +
// iowait) and steal seconds since boot, and the sum of the busy fields (user,
// nice, system, irq, softirq, steal: what the tick charged; kept beside the
// machine figure so that a run shows how far the two differ).
type cpuSample struct {
	at                  time.Time
	cpus                int
	idle, steal, ticked float64
}

// readCPUSample reads /proc/stat now; ok is false without it.
func readCPUSample() (cpuSample, bool) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return cpuSample{}, false
	}
	defer f.Close()
	return parseCPUSample(f, time.Now())
}

// parseCPUSample parses /proc/stat (USER_HZ = 100 ticks per second): idle is
// the 4th and 5th fields (idle, iowait), steal the 8th; guest time (9th, 10th)
// is already in user and nice.
func parseCPUSample(r io.Reader, at time.Time) (c cpuSample, ok bool) {
	c.at = at
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		switch {
		case len(f) > 8 && f[0] == "cpu":
			idle, _ := strconv.ParseUint(f[4], 10, 64)
			iowait, _ := strconv.ParseUint(f[5], 10, 64)
			steal, _ := strconv.ParseUint(f[8], 10, 64)
			c.idle, c.steal, ok = float64(idle+iowait)/100, float64(steal)/100, true
			for i, x := range f[1:9] {
				if i != 3 && i != 4 {
					v, _ := strconv.ParseUint(x, 10, 64)
					c.ticked += float64(v) / 100
				}
			}
		case len(f) > 0 && strings.HasPrefix(f[0], "cpu") && f[0] != "cpu":
			c.cpus++
		}
	}
	return c, ok && c.cpus > 0
}

// machineBusy is the CPU seconds every process on the machine used between two
// samples, and the part of it that was steal: time the hypervisor gave this
// machine's vCPUs to someone else while they had work.
//
// It is the CPUs' wall time less their idle time, not the sum of /proc/stat's
// busy fields: on a tick-accounted kernel (CONFIG_TICK_CPU_ACCOUNTING, this
// machine's, with NO_HZ_IDLE and HZ=250) user/system/irq are charged a whole
// tick to whatever runs when the tick fires, and a core that wakes for less
// than a tick and goes idle again stops its tick first — the short bursts of a
// pipeline at a modest rate are mostly never charged, while each process's
// own utime+stime (/proc/<pid>/stat) scales its exact runtime. Idle time on
// such a kernel is measured exactly (tickless idle entry and exit), so
// wall × CPUs − idle counts every burst. (The busy fields' sum came out below
// the processes' own sum: e2e.fixed.cpu.unmeasured was −49 µs/event.)
func machineBusy(a, b cpuSample) (busy, steal float64) {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 || a.cpus == 0 || b.cpus != a.cpus {
		return 0, 0
	}
	busy = float64(b.cpus)*wall - (b.idle - a.idle)
	return max(busy, 0), b.steal - a.steal
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
