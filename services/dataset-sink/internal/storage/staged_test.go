//go:build !nos3

package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
)

// TestStagedFilesRemovedForEveryStorage: what a crash leaves staged (local
// staging next to the object, or S3's local staging directory) is removed at
// start; other files stay.
func TestStagedFilesRemovedForEveryStorage(t *testing.T) {
	ctx := context.Background()
	fsDir := t.TempDir()
	fs, err := storage.NewFS(fsDir)
	if err != nil {
		t.Fatal(err)
	}
	stagingDir := t.TempDir()
	s3, err := storage.NewS3(storage.S3Options{Bucket: "b", Region: "us-east-1", StagingDir: stagingDir})
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]storage.Storage{"fs": fs, "s3": s3} {
		f, err := st.Stage(ctx, "ai_training/data/x.parquet")
		if err != nil {
			t.Fatal(err)
		}
		f.Close() // the crash: never published nor discarded
		keep := filepath.Join(filepath.Dir(f.Name()), "keep.txt")
		if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := st.RemoveStaged("ai_training"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(f.Name()); !os.IsNotExist(err) {
			t.Errorf("%s: staged file %s left behind", name, f.Name())
		}
		if _, err := os.Stat(keep); err != nil {
			t.Errorf("%s: removed a file that was not staged", name)
		}
	}
}
