//go:build nos3

package storage_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
)

// TestS3NotInThisBinary: a binary built without the AWS SDK (make demo) refuses
// S3 storage, saying why and what to use instead.
func TestS3NotInThisBinary(t *testing.T) {
	_, err := storage.NewS3(storage.S3Options{Bucket: "b", Region: "us-east-1", StagingDir: t.TempDir()})
	require.ErrorContains(t, err, "S3 storage is not in this binary (built with the tag nos3")
}
