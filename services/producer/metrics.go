package producer

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the producer's Prometheus series, registered on the registry the
// caller passes in.
type metrics struct {
	requests       *prometheus.CounterVec   // route, code
	eventsAccepted *prometheus.CounterVec   // source
	publishLatency *prometheus.HistogramVec // outcome
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "consentflow", Subsystem: "producer", Name: "requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		eventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "consentflow", Subsystem: "producer", Name: "events_accepted_total",
			Help: "Events acknowledged by Kafka and answered with success, by ingest path.",
		}, []string{"source"}),
		publishLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "consentflow", Subsystem: "producer", Name: "publish_duration_seconds",
			Help:    "Time from handing a request's records to the writer until Kafka acknowledged all (or the write failed).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"outcome"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.eventsAccepted, m.publishLatency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
