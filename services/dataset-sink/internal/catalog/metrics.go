package catalog

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the catalog's series.
type Metrics struct {
	TableSnapshotsExpired prometheus.Counter
	FilesDeleted          prometheus.Counter
	Snapshots             prometheus.Counter
	SnapshotsExpired      *prometheus.CounterVec
	LastSnapshot          prometheus.Gauge
}

// NewMetrics returns the catalog's metrics, registered with reg unless it is nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		TableSnapshotsExpired: prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_table_snapshots_expired_total", Help: "Snapshots of the table's main branch expired (history retention, erasure deadline)."}),
		FilesDeleted:          prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_files_deleted_total", Help: "Orphan files deleted (referenced by no table snapshot: lost commit races, crashes)."}),
		Snapshots:             prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_snapshots_total", Help: "Snapshots (tags) taken."}),
		SnapshotsExpired:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_snapshots_expired_total", Help: "Snapshots (tags) expired, by reason (retention)."}, []string{"reason"}),
		LastSnapshot:          prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_last_snapshot_timestamp_seconds", Help: "Creation time of the latest snapshot (snapshot age = time() - this)."}),
	}
	if reg != nil {
		reg.MustRegister(m.TableSnapshotsExpired, m.FilesDeleted, m.Snapshots, m.SnapshotsExpired, m.LastSnapshot)
	}
	return m
}
