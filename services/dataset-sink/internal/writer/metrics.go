package writer

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the writer's series.
type Metrics struct {
	RowsWritten   prometheus.Counter
	RowsDropped   *prometheus.CounterVec
	FilesWritten  prometheus.Counter
	BytesWritten  prometheus.Counter
	DedupeIDs     prometheus.Gauge
	OffsetGaps    prometheus.Counter
	CommitSeconds prometheus.Histogram
	// AppendBlocked is the time Append waited for the commit in flight (its
	// half of SINK_ROTATE_BYTES full); CommitInFlight is 1 while a generation
	// is being committed.
	AppendBlocked  prometheus.Counter
	CommitInFlight prometheus.Gauge
}

// NewMetrics returns the writer's metrics, registered with reg unless it is nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RowsWritten:  prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_rows_written_total", Help: "Rows committed to the dataset table."}),
		RowsDropped:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_rows_dropped_total", Help: "Records not written, by reason (already_written, duplicate_event, dead_letter, erased, retired_key, committed_by_another_writer)."}, []string{"reason"}),
		FilesWritten: prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_files_written_total", Help: "Parquet data files committed by the writer."}),
		BytesWritten: prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_bytes_written_total", Help: "Bytes of Parquet data files committed by the writer."}),
		DedupeIDs:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_dedupe_window_ids", Help: "Event ids held in the per-partition dedupe windows (about 25 bytes each)."}),
		OffsetGaps:   prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_offset_gaps_total", Help: "Commits whose first offset was above the table's offset + 1 for the partition (records missing from the table)."}),
		CommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dataset_sink_append_seconds",
			Help: "One append of due files: Parquet writing and the table commit, retries included.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}),
		AppendBlocked: prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_append_blocked_seconds_total",
			Help: "Seconds the events stage waited for the commit in flight (the open rows took their half of SINK_ROTATE_BYTES)."}),
		CommitInFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_commit_in_flight",
			Help: "1 while a generation of files is being committed in the background, else 0."}),
	}
	if reg != nil {
		reg.MustRegister(m.RowsWritten, m.RowsDropped, m.FilesWritten, m.BytesWritten, m.DedupeIDs, m.OffsetGaps, m.CommitSeconds, m.AppendBlocked, m.CommitInFlight)
	}
	return m
}
