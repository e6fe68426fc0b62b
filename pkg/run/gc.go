package run

import (
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
)

// DefaultGCPercent is the garbage collector's target of a service binary
// unless GOGC is set (the heap may grow to (1 + GOGC/100) × the live heap
// before a collection); Go's own default is 100. Measured on the 2-core bench
// host (issue 16, bench/results/experiments/*-perf10-*): with Go's default the
// services collected every ~100 ms at 1,000 events/s — the producer, whose
// live heap is a few MiB, 628 times in 60 s — and the runtime put 17–38 % of
// their CPU in the collector; at 200 the cycles fell to a third (producer
// 185, filter 202 → 71) and each service's CPU per event with them, peak RSS
// staying under 150 MiB (anonymizer 129 MiB, the largest).
const DefaultGCPercent = 200

// gcPercentOf is the default of the services that do not take
// DefaultGCPercent: the dataset-sink's heap is bounded by its own soft memory
// limit and its peak RSS is at the 150 MiB goal with Go's default (RssFile
// ~60 MiB on top of the heap); at 200 it reached 148 MiB in one e2e run.
var gcPercentOf = map[string]int{"dataset-sink": 100}

// GC is the garbage collector's setting every service binary reads. The Go
// runtime reads GOGC itself at start; when it is unset (or empty), Service
// sets the binary's default.
type GC struct {
	Percent string `env:"GOGC" help:"Go garbage collector target percent (heap growth over the live heap before a collection; \"off\" disables it): higher spends less CPU on collection and more memory; unset: 200 (dataset-sink: Go's 100, see pkg/run/gc.go)"`
}

// defaultGCPercent is service's default target.
func defaultGCPercent(service string) int {
	if p, ok := gcPercentOf[service]; ok {
		return p
	}
	return DefaultGCPercent
}

// percent is the value for debug.SetGCPercent (-1 for "off") in service.
func (g GC) percent(service string) (int, error) {
	switch {
	case strings.EqualFold(g.Percent, "off"):
		return -1, nil
	case g.Percent == "": // GOGC= : the runtime reads an empty value as its default too
		return defaultGCPercent(service), nil
	}
	n, err := strconv.Atoi(g.Percent)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("GOGC: %q is not a positive integer or \"off\"", g.Percent)
	}
	return n, nil
}

// Validate reports a GOGC the runtime would not take.
func (g GC) Validate() error { _, err := g.percent(""); return err }

// apply sets service's collector target.
func (g GC) apply(service string) error {
	n, err := g.percent(service)
	if err != nil {
		return err
	}
	debug.SetGCPercent(n)
	return nil
}
