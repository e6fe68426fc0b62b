package lake

import (
	"fmt"

	"github.com/apache/iceberg-go"
)

// S3Config is the S3-compatible storage of a table at s3://bucket/prefix.
type S3Config struct {
	Endpoint, Region, AccessKey, SecretKey string
	PathStyle                              bool
	// StagingDir holds files written before they are uploaded.
	StagingDir string
}

// Catalog properties carrying S3Config to the table's file IO (iceberg-go
// opens a table's IO from the catalog's properties and its location's scheme).
const (
	propS3Endpoint  = "s3.endpoint"
	propS3Region    = "s3.region"
	propS3Access    = "s3.access-key-id"
	propS3Secret    = "s3.secret-access-key"
	propS3PathStyle = "s3.path-style-access"
	propS3Staging   = "consentflow.s3.staging-dir"
)

// S3Props are the catalog properties of c.
func S3Props(c S3Config) iceberg.Properties {
	return iceberg.Properties{propS3Endpoint: c.Endpoint, propS3Region: c.Region, propS3Access: c.AccessKey,
		propS3Secret: c.SecretKey, propS3PathStyle: fmt.Sprint(c.PathStyle), propS3Staging: c.StagingDir}
}
