package pipeline

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the anonymizer's own series. Labels carry types and reasons only,
// never values.
type Metrics struct {
	EventsIn   prometheus.Counter
	EventsOut  prometheus.Counter
	DeadLetter *prometheus.CounterVec // stage, reason
	Redactions *prometheus.CounterVec // type
	Erasures   *prometheus.CounterVec // scope
}

// NewMetrics registers the anonymizer's metrics with reg (nil: unregistered). A
// series already registered by another anonymizer in the same process (the demo
// runs every service in one process) is shared rather than a panic.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EventsIn: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "events_in_total", Help: "Consented events read by the anonymizer."}),
		EventsOut: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "events_out_total", Help: "Curated events produced by the anonymizer."}),
		DeadLetter: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "dead_letters_total", Help: "Records sent to the dead-letter topic, by stage and reason."}, []string{"stage", "reason"}),
		Redactions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "redactions_total", Help: "Spans of personal data replaced in free text and properties, by entity type."}, []string{"type"}),
		Erasures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "erasures_total", Help: "Erasure instructions emitted, by scope."}, []string{"scope"}),
	}
	m.EventsIn = Register(reg, m.EventsIn)
	m.EventsOut = Register(reg, m.EventsOut)
	m.DeadLetter = Register(reg, m.DeadLetter)
	m.Redactions = Register(reg, m.Redactions)
	m.Erasures = Register(reg, m.Erasures)
	return m
}

// Register registers c with reg and returns it, or returns the collector already
// registered under the same description. reg may be nil.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a conflicting definition is a programming error
	}
	return c
}
