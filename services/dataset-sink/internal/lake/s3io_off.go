//go:build nos3

package lake

// RegisterS3 does nothing in a binary built with the tag nos3: its sink
// refuses SINK_STORAGE=s3 before a table is opened (storage.NewS3).
func RegisterS3() {}
