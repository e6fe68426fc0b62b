module github.com/consentflow/consentflow/services/anonymizer

go 1.26.0

require (
	github.com/consentflow/consentflow/pkg v0.0.0
	github.com/consentflow/consentflow/schemas v0.0.0
)

require (
	github.com/caarlos0/env/v11 v11.4.2 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/prometheus/client_golang v1.25.0
	github.com/segmentio/kafka-go v0.4.51
	github.com/stretchr/testify v1.12.1
	github.com/twmb/franz-go/pkg/sr v1.8.0
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0
)

replace (
	github.com/consentflow/consentflow/pkg => ../../pkg
	github.com/consentflow/consentflow/schemas => ../../schemas
)
