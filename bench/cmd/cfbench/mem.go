package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A service's peak RSS (VmHWM, the figure) does not say what the memory was:
// the dataset-sink's ~145 MiB were mostly the pages of its mapped 122 MB
// binary (RssFile), not Go memory (RssAnon). The benchmark samples every
// process it starts and keeps the parts of RSS at the sample where RSS was
// highest, next to VmHWM.

// memStatus is the memory lines of /proc/PID/status, in KiB.
type memStatus struct {
	HWM, RSS, Anon, File, Shmem float64
}

// parseStatus reads VmHWM, VmRSS, RssAnon, RssFile and RssShmem of a
// /proc/PID/status (values in kB); ok is false without a VmRSS line (a
// kernel thread, a process that has exited, not a status file).
func parseStatus(r io.Reader) (s memStatus, ok bool) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, rest, found := strings.Cut(sc.Text(), ":")
		if !found {
			continue
		}
		var dst *float64
		switch key {
		case "VmHWM":
			dst = &s.HWM
		case "VmRSS":
			dst = &s.RSS
			ok = true
		case "RssAnon":
			dst = &s.Anon
		case "RssFile":
			dst = &s.File
		case "RssShmem":
			dst = &s.Shmem
		default:
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] != "kB" {
			return memStatus{}, false // not the unit every kernel writes
		}
		*dst = v
	}
	return s, ok
}

func readStatus(pid int) (memStatus, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, false
	}
	defer f.Close()
	return parseStatus(f)
}

// MemPeak is what the results record of a process's peak memory, in MiB:
// VmHWM (the peak RSS figure) and, at the sample with the highest VmRSS, that
// VmRSS and its parts (anonymous: heap, stacks, Go memory; file: mapped
// files, mostly the binary; shmem). VmHWM can exceed the sampled VmRSS: the
// peak may fall between two samples.
type MemPeak struct {
	HWM     float64 `json:"vm_hwm_mib"`
	RSS     float64 `json:"vm_rss_mib_at_peak_sample"`
	Anon    float64 `json:"rss_anon_mib"`
	File    float64 `json:"rss_file_mib"`
	Shmem   float64 `json:"rss_shmem_mib"`
	Samples int     `json:"samples"`
}

// memSampleEvery is how often a started process's memory is sampled.
const memSampleEvery = 250 * time.Millisecond

// memTracker keeps the status sample with the highest VmRSS and the latest
// VmHWM.
type memTracker struct {
	mu      sync.Mutex
	peak    memStatus
	hwm     float64
	samples int
}

func (t *memTracker) add(s memStatus) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.samples++
	t.hwm = max(t.hwm, s.HWM)
	if s.RSS > t.peak.RSS {
		t.peak = s
	}
}

func (t *memTracker) result() *MemPeak {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.samples == 0 {
		return nil
	}
	mib := func(kb float64) float64 { return round(kb/1024, 1) }
	return &MemPeak{HWM: mib(t.hwm), RSS: mib(t.peak.RSS), Anon: mib(t.peak.Anon), File: mib(t.peak.File), Shmem: mib(t.peak.Shmem), Samples: t.samples}
}

// sampleMem samples pid until done is closed.
func (t *memTracker) sampleMem(pid int, done <-chan struct{}) {
	tick := time.NewTicker(memSampleEvery)
	defer tick.Stop()
	for {
		if s, ok := readStatus(pid); ok {
			t.add(s)
		}
		select {
		case <-done:
			return
		case <-tick.C:
		}
	}
}
