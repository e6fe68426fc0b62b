package lake

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the table's series.
type Metrics struct {
	Commits       *prometheus.CounterVec
	Conflicts     *prometheus.CounterVec
	CommitSeconds *prometheus.HistogramVec
}

// NewMetrics returns the table's metrics, registered with reg unless it is nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_table_commits_total",
			Help: "Iceberg commits of the dataset table, by operation (append, erasure, recut, compaction, tag, expire, properties)."}, []string{"op"}),
		Conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_table_commit_conflicts_total",
			Help: "Commit attempts that lost the race with another writer and were redone on the reloaded table, by operation."}, []string{"op"}),
		CommitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dataset_sink_table_commit_seconds",
			Help:    "Time from the first attempt of a commit to its success, retries included, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"op"}),
	}
	if reg != nil {
		reg.MustRegister(m.Commits, m.Conflicts, m.CommitSeconds)
	}
	return m
}
