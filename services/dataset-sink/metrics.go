package datasetsink

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/catalog"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/erasure"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// metrics are the sink's series: the writer's, the catalog's and the erasure
// ledger's. Delivery (records in, dead letters, retries) is counted by the
// stream loops' metrics.
type metrics struct {
	writer         *writer.Metrics
	catalog        *catalog.Metrics
	lake           *lake.Metrics
	erasure        *erasure.Metrics
	erasures       prometheus.Counter
	ledgerPosition prometheus.Gauge
	unreadable     *prometheus.CounterVec // outcome: erased, missing
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		writer:         writer.NewMetrics(reg),
		catalog:        catalog.NewMetrics(reg),
		lake:           lake.NewMetrics(reg),
		erasure:        erasure.NewMetrics(reg),
		erasures:       prometheus.NewCounter(prometheus.CounterOpts{Name: "dataset_sink_erasures_applied_total", Help: "Erasures recorded in the ledger (each once across instances)."}),
		ledgerPosition: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_erasure_ledger_position", Help: "Entries in the erasure ledger (as loaded by this instance)."}),
		unreadable: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_unreadable_records_total",
			Help: "Sealed events.curated records dropped unread: erased (their subject's or tenant's data key was shredded) or missing (no key and no tombstone: the key store lost its data)."}, []string{"outcome"}),
	}
	if reg != nil {
		reg.MustRegister(m.erasures, m.ledgerPosition, m.unreadable)
	}
	return m
}
