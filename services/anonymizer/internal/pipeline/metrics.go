package pipeline

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the anonymizer's own series. Labels carry types and reasons only,
// never values.
type Metrics struct {
	EventsIn   prometheus.Counter
	EventsOut  prometheus.Counter
	Redactions *prometheus.CounterVec // type
	Erasures   *prometheus.CounterVec // scope
	// Withheld counts curated records written without content: decided
	// before an erasure of their subject or tenant, curated after it.
	Withheld prometheus.Counter
}

// NewMetrics registers the anonymizer's metrics with reg (nil: unregistered).
// Delivery (records in and out, dead letters, retries) is counted by the stream
// loop's metrics.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		EventsIn: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "events_in_total", Help: "Consented events read by the anonymizer."}),
		EventsOut: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "events_out_total", Help: "Curated events produced by the anonymizer."}),
		Redactions: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "redactions_total", Help: "Spans of personal data replaced in free text and properties, by entity type."}, []string{"type"}),
		Erasures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "erasures_total", Help: "Erasure instructions emitted, by scope."}, []string{"scope"}),
		Withheld: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "consentflow", Subsystem: "anonymizer",
			Name: "withheld_total", Help: "Curated records written without content because their subject or tenant was erased before they were curated."}),
	}
	if reg != nil {
		reg.MustRegister(m.EventsIn, m.EventsOut, m.Redactions, m.Erasures, m.Withheld)
	}
	return m
}
