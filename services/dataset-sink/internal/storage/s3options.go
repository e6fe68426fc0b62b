package storage

import "net/http"

// S3Options configure S3-compatible storage.
type S3Options struct {
	Endpoint  string // empty: AWS
	Region    string
	Bucket    string
	Prefix    string
	AccessKey string
	SecretKey string
	PathStyle bool
	// StagingDir holds files before they are uploaded.
	StagingDir string
	// HTTPClient overrides the HTTP client (tests).
	HTTPClient *http.Client
}
