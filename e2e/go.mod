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
