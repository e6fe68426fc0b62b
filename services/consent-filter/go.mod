module github.com/consentflow/consentflow/services/consent-filter

go 1.26.0

require (
	github.com/consentflow/consentflow/pkg v0.0.0
	github.com/consentflow/consentflow/schemas v0.0.0
)

require (
	github.com/alicebob/miniredis/v2 v2.40.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	github.com/yuin/gopher-lua v1.1.1 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace (
	github.com/consentflow/consentflow/pkg => ../../pkg
	github.com/consentflow/consentflow/schemas => ../../schemas
)
