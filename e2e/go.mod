module github.com/consentflow/consentflow/e2e

go 1.26.0

replace (
	github.com/consentflow/consentflow/pkg => ../pkg
	github.com/consentflow/consentflow/schemas => ../schemas
	github.com/consentflow/consentflow/services/anonymizer => ../services/anonymizer
	github.com/consentflow/consentflow/services/consent-filter => ../services/consent-filter
	github.com/consentflow/consentflow/services/dataset-sink => ../services/dataset-sink
	github.com/consentflow/consentflow/services/producer => ../services/producer
)

require (
	github.com/consentflow/consentflow/pkg v0.0.0
	github.com/consentflow/consentflow/services/dataset-sink v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
	github.com/segmentio/kafka-go v0.4.51
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/caarlos0/env/v11 v11.4.2 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/consentflow/consentflow/schemas v0.0.0 // indirect
	github.com/golang/snappy v1.0.0 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/linkedin/goavro/v2 v2.15.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/twmb/franz-go/pkg/sr v1.8.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
