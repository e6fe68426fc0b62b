package stream

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the delivery metrics of every stage (label stage = Loop.Name).
// Create them once per process and share them between a service's loops.
type Metrics struct {
	In          *prometheus.CounterVec
	Out         *prometheus.CounterVec
	DeadLetters *prometheus.CounterVec
	Retries     *prometheus.CounterVec
	Batch       *prometheus.HistogramVec
}

// NewMetrics returns the loop metrics, registered with reg unless it is nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		In: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_stage_records_in_total",
			Help: "Records fetched by a stage."}, []string{"stage"}),
		Out: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_stage_records_out_total",
			Help: "Records written by a stage, by topic (dead letters included)."}, []string{"stage", "topic"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_stage_dead_letters_total",
			Help: "Poison records sent to the dead-letter topic, by stage and reason."}, []string{"stage", "reason"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_stage_retries_total",
			Help: "Retried steps of a stage (fetch, handle, write, commit)."}, []string{"stage", "step"}),
		Batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "consentflow_stage_batch_seconds",
			Help: "Time from the fetch of a batch's first record until its outputs are written and what is durable is committed.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"stage"}),
	}
	if reg != nil {
		reg.MustRegister(m.In, m.Out, m.DeadLetters, m.Retries, m.Batch)
	}
	return m
}
