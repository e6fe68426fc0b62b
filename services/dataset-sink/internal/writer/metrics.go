package writer

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the writer's series.
type Metrics struct {
	RowsWritten  prometheus.Counter
	RowsDropped  *prometheus.CounterVec
	FilesWritten prometheus.Counter
	BytesWritten prometheus.Counter
	DedupeIDs    prometheus.Gauge
}

// NewMetrics returns the writer's metrics, registered with reg unless it is nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RowsWritten:  prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_rows_written_total", Help: "Rows written to published Parquet files."}),
		RowsDropped:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_rows_dropped_total", Help: "Records not written, by reason (already_written, duplicate_event, dead_letter, erased)."}, []string{"reason"}),
		FilesWritten: prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_files_written_total", Help: "Parquet files published by the writer."}),
		BytesWritten: prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_bytes_written_total", Help: "Bytes of Parquet files published by the writer."}),
		DedupeIDs:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_dedupe_window_ids", Help: "Event ids held in the per-partition dedupe windows (about 25 bytes each)."}),
	}
	if reg != nil {
		reg.MustRegister(m.RowsWritten, m.RowsDropped, m.FilesWritten, m.BytesWritten, m.DedupeIDs)
	}
	return m
}
