module github.com/consentflow/consentflow/cmd/consentflow

go 1.26

require (
	github.com/consentflow/consentflow/pkg v0.0.0
	github.com/consentflow/consentflow/schemas v0.0.0
	github.com/consentflow/consentflow/services/anonymizer v0.0.0
	github.com/consentflow/consentflow/services/consent-filter v0.0.0
	github.com/consentflow/consentflow/services/dataset-sink v0.0.0
	github.com/consentflow/consentflow/services/producer v0.0.0
)

replace (
	github.com/consentflow/consentflow/pkg => ../../pkg
	github.com/consentflow/consentflow/schemas => ../../schemas
	github.com/consentflow/consentflow/services/anonymizer => ../../services/anonymizer
	github.com/consentflow/consentflow/services/consent-filter => ../../services/consent-filter
	github.com/consentflow/consentflow/services/dataset-sink => ../../services/dataset-sink
	github.com/consentflow/consentflow/services/producer => ../../services/producer
)
