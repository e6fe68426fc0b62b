module github.com/consentflow/consentflow/cmd/consentflow

go 1.26.0

require (
	github.com/consentflow/consentflow/pkg v0.0.0
	github.com/consentflow/consentflow/schemas v0.0.0
	github.com/consentflow/consentflow/services/anonymizer v0.0.0
	github.com/consentflow/consentflow/services/consent-filter v0.0.0
	github.com/consentflow/consentflow/services/dataset-sink v0.0.0
	github.com/consentflow/consentflow/services/producer v0.0.0
)

require (
	github.com/mitchellh/colorstring v0.0.0-20190213212951-d06e56a500db // indirect
	github.com/rivo/uniseg v0.4.7 // indirect
	github.com/schollz/progressbar/v3 v3.19.1 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/term v0.44.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace (
	github.com/consentflow/consentflow/pkg => ../../pkg
	github.com/consentflow/consentflow/schemas => ../../schemas
	github.com/consentflow/consentflow/services/anonymizer => ../../services/anonymizer
	github.com/consentflow/consentflow/services/consent-filter => ../../services/consent-filter
	github.com/consentflow/consentflow/services/dataset-sink => ../../services/dataset-sink
	github.com/consentflow/consentflow/services/producer => ../../services/producer
)
