package catalog

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the catalog's series.
type Metrics struct {
	FilesRewritten   prometheus.Counter
	FilesDeleted     prometheus.Counter
	Snapshots        prometheus.Counter
	SnapshotsExpired *prometheus.CounterVec
	LastSnapshot     prometheus.Gauge
}

// NewMetrics returns the catalog's metrics, registered with reg unless it is nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		FilesRewritten:   prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_files_rewritten_total", Help: "Files rewritten copy-on-write to apply erasures."}),
		FilesDeleted:     prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_files_deleted_total", Help: "Superseded files deleted once no live snapshot referenced them."}),
		Snapshots:        prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_snapshots_total", Help: "Snapshots taken."}),
		SnapshotsExpired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_snapshots_expired_total", Help: "Snapshots expired, by reason (retention, erasure)."}, []string{"reason"}),
		LastSnapshot:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_last_snapshot_timestamp_seconds", Help: "Creation time of the latest snapshot (snapshot age = time() - this)."}),
	}
	if reg != nil {
		reg.MustRegister(m.FilesRewritten, m.FilesDeleted, m.Snapshots, m.SnapshotsExpired, m.LastSnapshot)
	}
	return m
}
