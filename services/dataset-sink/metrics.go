package datasetsink

import "github.com/prometheus/client_golang/prometheus"

// metrics are the sink's Prometheus metrics, registered on the registry passed in.
type metrics struct {
	rowsWritten     prometheus.Counter
	rowsDropped     *prometheus.CounterVec
	filesWritten    prometheus.Counter
	bytesWritten    prometheus.Counter
	filesRewritten  prometheus.Counter
	filesDeleted    prometheus.Counter
	erasures        prometheus.Counter
	snapshots       prometheus.Counter
	snapshotsExpire *prometheus.CounterVec
	lastSnapshot    prometheus.Gauge
	ledgerPosition  prometheus.Gauge
	dedupeIDs       prometheus.Gauge
	deadLetters     *prometheus.CounterVec
	registryRetries prometheus.Counter
	kafkaRetries    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		rowsWritten:     prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_rows_written_total", Help: "Rows written to published Parquet files."}),
		rowsDropped:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_rows_dropped_total", Help: "Records not written, by reason (already_written, duplicate_event, dead_letter, erased)."}, []string{"reason"}),
		filesWritten:    prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_files_written_total", Help: "Parquet files published by the writer."}),
		bytesWritten:    prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_bytes_written_total", Help: "Bytes of Parquet files published by the writer."}),
		filesRewritten:  prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_files_rewritten_total", Help: "Files rewritten copy-on-write to apply erasures."}),
		filesDeleted:    prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_files_deleted_total", Help: "Superseded files deleted once no live snapshot referenced them."}),
		erasures:        prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_erasures_applied_total", Help: "Erasures appended to the ledger."}),
		snapshots:       prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_snapshots_total", Help: "Snapshots taken."}),
		snapshotsExpire: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_snapshots_expired_total", Help: "Snapshots expired, by reason (retention, erasure)."}, []string{"reason"}),
		lastSnapshot:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_last_snapshot_timestamp_seconds", Help: "Creation time of the latest snapshot (snapshot age = time() - this)."}),
		ledgerPosition:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_erasure_ledger_position", Help: "Entries in the erasure ledger."}),
		dedupeIDs:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_dedupe_window_ids", Help: "Event ids held in the per-partition dedupe windows (about 25 bytes each)."}),
		deadLetters:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_dead_letters_total", Help: "Undecodable records written to the dead-letter topic, by source topic."}, []string{"topic"}),
		registryRetries: prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_registry_retries_total", Help: "Decode attempts retried because the schema registry was unavailable."}),
		kafkaRetries:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_kafka_retries_total", Help: "Kafka fetches and commits retried (broker down or restarting, rebalance), by step."}, []string{"step"}),
	}
	if reg != nil {
		reg.MustRegister(m.rowsWritten, m.rowsDropped, m.filesWritten, m.bytesWritten, m.filesRewritten,
			m.filesDeleted, m.erasures, m.snapshots, m.snapshotsExpire, m.lastSnapshot, m.ledgerPosition,
			m.dedupeIDs, m.deadLetters, m.registryRetries, m.kafkaRetries)
	}
	return m
}
