//go:build nos3

package storage

import "errors"

// NewS3 refuses: this binary was built with the tag nos3 (make demo builds
// so), which leaves the AWS SDK out.
func NewS3(S3Options) (Storage, error) {
	return nil, errors.New("DATASET_STORAGE=s3: S3 storage is not in this binary (built with the tag nos3, as make demo does); use make build or the image")
}
