package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/launch"
)

// Machine describes where a run happened.
type Machine struct {
	Hostname     string  `json:"hostname"`
	NProc        int     `json:"nproc"`
	MemTotalGiB  float64 `json:"mem_total_gib"`
	CPUModel     string  `json:"cpu_model"`
	Kernel       string  `json:"kernel"`
	GoVersion    string  `json:"go_version"`
	JavaVersion  string  `json:"java_version"`
	KafkaVersion string  `json:"kafka_version"`
	RedisVersion string  `json:"redis_version"`
	Registry     string  `json:"schema_registry"`
	KafkaGo      string  `json:"kafka_go_version"`
	LoadAvgAtRun string  `json:"loadavg_at_start"`
}

func machineInfo() Machine {
	m := Machine{NProc: runtime.NumCPU(), GoVersion: runtime.Version(), KafkaVersion: os.Getenv("KAFKA_VERSION")}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				f := strings.Fields(l)
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.MemTotalGiB = round(kb/1024/1024, 1)
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m.CPUModel = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if out, err := exec.Command("java", "-version").CombinedOutput(); err == nil {
		m.JavaVersion = strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0]
	}
	if out, err := exec.Command("redis-cli", "-p", redisPort(), "INFO", "server").Output(); err == nil {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "redis_version:") {
				m.RedisVersion = strings.TrimSpace(strings.TrimPrefix(l, "redis_version:"))
			}
		}
	}
	m.Registry = os.Getenv("SCHEMA_REGISTRY_URL")
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/segmentio/kafka-go").Output(); err == nil {
		m.KafkaGo = strings.TrimSpace(string(out))
	}
	m.LoadAvgAtRun = loadavg()
	return m
}

func redisPort() string {
	addr := os.Getenv("REDIS_ADDR")
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i+1:]
	}
	return "6379"
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

func load1() float64 {
	f := strings.Fields(loadavg())
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// cpuBusy samples the whole machine's CPU utilisation (0..1) over d.
func cpuBusy(d time.Duration) float64 {
	s0, ok0 := readCPUSample()
	time.Sleep(d)
	s1, ok1 := readCPUSample()
	if !ok0 || !ok1 {
		return 0
	}
	busy, _ := machineBusy(s0, s1)
	return round(busy/(float64(s1.cpus)*s1.at.Sub(s0.at).Seconds()), 3)
}

// Noise is the machine's state when a measurement started.
type Noise struct {
	Load1   float64 `json:"load1"`
	Busy1s  float64 `json:"cpu_busy_1s_before"`
	Waited  float64 `json:"waited_s"`
	Noisy   bool    `json:"noisy"`
	Attempt int     `json:"attempt"`
	// ServiceRestarted: Kafka, Redis or the registry restarted during the
	// measurement (the concurrent fault-injection suite restarts the broker).
	ServiceRestarted bool `json:"service_restarted,omitempty"`
	// CalBefore and CalAfter: the host's calibration (calibrate.go) right
	// before the measurement and right after it (absent where end was not
	// called, and in runs before the calibration existed).
	CalBefore *Calibration `json:"calibration_before,omitempty"`
	CalAfter  *Calibration `json:"calibration_after,omitempty"`
	// MeasuredS is the wall time from the end of quiet to end; StealS the
	// hypervisor steal of the whole machine (every vCPU, /proc/stat) over it,
	// StealShare that steal ÷ (MeasuredS × cores): the share of the
	// machine's CPU the host gave to other guests while this one had work.
	MeasuredS  float64 `json:"measured_s,omitempty"`
	StealS     float64 `json:"steal_s"`
	StealShare float64 `json:"steal_share"`
	// BusyCores is the whole machine's busy CPU over the measurement ÷ its
	// wall time (the measured work included; machineBusy): how loaded the
	// machine was while the figure was taken.
	BusyCores float64 `json:"busy_cores,omitempty"`

	start time.Time
	cpu0  cpuSample
}

// end completes the record after the measurement: the calibration after it
// and the steal over it. Call it once the measured processes are done with
// the measured work (they may still run), before the figures take the record.
func (n *Noise) end() {
	if n.start.IsZero() {
		return
	}
	n.MeasuredS = round(time.Since(n.start).Seconds(), 2)
	if cpu1, ok := readCPUSample(); ok && n.cpu0.cpus > 0 {
		busy, steal := machineBusy(n.cpu0, cpu1)
		n.StealS, n.StealShare = stealOver(0, steal, n.MeasuredS, runtime.NumCPU())
		if w := cpu1.at.Sub(n.cpu0.at).Seconds(); w > 0 {
			n.BusyCores = round(busy/w, 2)
		}
	}
	n.CalAfter = calibrate()
	n.start = time.Time{}
}

// stealOver is the steal between two /proc/stat readings (seconds, summed
// over every vCPU) and its share of the machine's CPU over wall seconds.
func stealOver(before, after, wall float64, cores int) (seconds, share float64) {
	seconds = max(0, after-before)
	if wall <= 0 || cores <= 0 {
		return round(seconds, 2), 0
	}
	return round(seconds, 2), round(seconds/(wall*float64(cores)), 4)
}

// quiet waits (at most maxWait) until the machine is mostly idle before a
// measurement and reports the load it started under, with the host's
// calibration and the machine's steal counter at that moment (Noise.end
// completes them after the measurement). Our own processes are idle
// at that moment, so busy CPU is someone else's work (the concurrent e2e suite).
func quiet(maxWait time.Duration) Noise {
	start := time.Now()
	for {
		b := cpuBusy(time.Second)
		if b < busyLimit || time.Since(start) >= maxWait {
			n := Noise{Load1: load1(), Busy1s: b, Waited: round(time.Since(start).Seconds(), 1), Noisy: b >= busyLimit, CalBefore: calibrate()}
			n.cpu0, _ = readCPUSample()
			n.start = time.Now()
			return n
		}
	}
}

const busyLimit = 0.35

const quietWait = 10 * time.Second

// servicePIDs identifies the running Kafka, Redis and registry processes of
// scripts/services.sh; a change means one was restarted.
func servicePIDs() string {
	dir := os.Getenv("CONSENTFLOW_SERVICES_DIR")
	var out []string
	for _, s := range []string{"kafka", "redis", "schema-registry"} {
		b, _ := os.ReadFile(filepath.Join(dir, "pids", s+".pid"))
		out = append(out, strings.TrimSpace(string(b)))
	}
	return strings.Join(out, ",")
}

// waitServices waits until Kafka answers metadata requests, Redis PINGs and the
// registry serves /subjects (someone else may be restarting them).
func (b *bench) waitServices(timeout time.Duration) error {
	start := time.Now()
	var err error
	for time.Since(start) < timeout {
		if err = b.servicesUp(); err == nil {
			if time.Since(start) > time.Second {
				b.logf("services available again after %s", time.Since(start).Round(time.Second))
			}
			return nil
		}
		select {
		case <-b.ctx.Done():
			return b.ctx.Err()
		case <-time.After(time.Second):
		}
	}
	return fmt.Errorf("services unavailable for %s: %v", timeout, err)
}

func (b *bench) servicesUp() error {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	cl := b.kafka.Client(5 * time.Second)
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if md.Controller.ID < 0 && len(md.Brokers) == 0 {
		return fmt.Errorf("kafka: no brokers")
	}
	c, err := net.DialTimeout("tcp", b.redis, 2*time.Second)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = c.Write([]byte("PING\r\n"))
	buf := make([]byte, 16)
	n, _ := c.Read(buf)
	c.Close()
	if !strings.HasPrefix(string(buf[:n]), "+PONG") {
		return fmt.Errorf("redis: no PONG (%q)", buf[:n])
	}
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Get(b.registry + "/subjects")
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("registry: status %d", resp.StatusCode)
	}
	return nil
}

func freeAddr() string {
	a, err := launch.FreeAddrs(1)
	if err != nil {
		panic(err)
	}
	return a[0]
}

// Proc is a service process started by the benchmark: a launch.Process, with
// its ops address and what the benchmark measures of it.
type Proc struct {
	*launch.Process
	OpsAddr string
	mem     *memTracker
}

// newProc wraps a started process and samples its memory until it exits.
func newProc(p *launch.Process, opsAddr string) *Proc {
	pr := &Proc{Process: p, OpsAddr: opsAddr, mem: &memTracker{}}
	go pr.mem.sampleMem(p.Pid(), p.Done())
	return pr
}

// startProc starts bin with exactly env (launch.IsolatedEnv), logging to
// <logDir>/<name>.log.
func startProc(name, bin string, args []string, env map[string]string, logDir string) (*Proc, error) {
	p, err := launch.StartProcess(name, bin, args, launch.IsolatedEnv(env), filepath.Join(logDir, name+".log"))
	if err != nil {
		return nil, err
	}
	return newProc(p, env["OPS_ADDR"]), nil
}

// WaitReady polls /readyz until 200.
func (p *Proc) WaitReady(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	cl := &http.Client{Timeout: time.Second}
	for time.Since(start) < timeout {
		select {
		case <-p.Done():
			return 0, fmt.Errorf("%s exited: %v (see its log)", p.Name, p.Err())
		case <-ctx.Done():
			return 0, ctx.Err()
		default:
		}
		resp, err := cl.Get("http://" + p.OpsAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start), nil
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s not ready after %s", p.Name, timeout)
}

// PeakRSSMiB is VmHWM of the process.
func (p *Proc) PeakRSSMiB() float64 {
	s, ok := readStatus(p.Pid())
	if !ok {
		return 0
	}
	return round(s.HWM/1024, 1)
}

// PeakMem is VmHWM now and the parts of RSS at the highest sample so far
// (one more sample is taken now).
func (p *Proc) PeakMem() *MemPeak {
	if s, ok := readStatus(p.Pid()); ok {
		p.mem.add(s)
	}
	return p.mem.result()
}

// CPUSeconds is user+system CPU time the process used so far.
func (p *Proc) CPUSeconds() float64 { return cpuSeconds(p.Pid()) }

func selfCPU() float64 { return cpuSeconds(os.Getpid()) }

func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// Stop sends SIGTERM and waits (then SIGKILLs).
func (p *Proc) Stop() {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(25 * time.Second):
		_ = p.Signal(syscall.SIGKILL)
		<-p.Done()
	}
}

// metric sums a Prometheus counter/gauge family from /metrics (all label sets
// whose text contains match).
func metric(opsAddr, name, match string) float64 {
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var sum float64
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		l := s.Text()
		if !strings.HasPrefix(l, name) || (len(l) > len(name) && l[len(name)] != '{' && l[len(name)] != ' ') {
			continue
		}
		if match != "" && !strings.Contains(l, match) {
			continue
		}
		f := strings.Fields(l)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		sum += v
	}
	return sum
}

// metricFamilies returns every sample of the named metric families (full line
// name{labels} → value).
func metricFamilies(opsAddr string, names ...string) map[string]float64 {
	out := map[string]float64{}
	cl := &http.Client{Timeout: 2 * time.Second}
	resp, err := cl.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		l := s.Text()
		for _, n := range names {
			if strings.HasPrefix(l, n+"{") || strings.HasPrefix(l, n+" ") {
				i := strings.LastIndex(l, " ")
				v, _ := strconv.ParseFloat(l[i+1:], 64)
				out[l[:i]] = v
			}
		}
	}
	return out
}

func round(v float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if v < 0 {
		return -float64(int64(-v*p+0.5)) / p
	}
	return float64(int64(v*p+0.5)) / p
}
