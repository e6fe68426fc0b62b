//go:build !nos3

package storage_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
)

func newFakeS3(t testing.TB) *storage.S3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("datasets"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	st, err := storage.NewS3(storage.S3Options{Endpoint: srv.URL, Region: "us-east-1", Bucket: "datasets", Prefix: "cf",
		AccessKey: "test", SecretKey: "test", PathStyle: true, StagingDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestStorageContract runs the same checks on local and S3-compatible storage:
// exclusive (conditional) creates, listing, ranged reads, delete.
func TestStorageContract(t *testing.T) {
	fs, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]storage.Storage{"fs": fs, "s3": newFakeS3(t)} {
		t.Run(name, func(t *testing.T) { storageContract(t, st) })
	}
}

// storageContract checks one storage: exclusive (conditional) creates, listing,
// ranged reads, delete.
func storageContract(t *testing.T, st storage.Storage) {
	t.Helper()
	ctx := context.Background()
	key := "ds/data/dt=2025-11-28/t+0+0-1.parquet"
	f, err := st.Stage(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("0123456789")
	if err := st.Publish(ctx, f, key); err != nil {
		t.Fatal(err)
	}
	g, _ := st.Stage(ctx, key)
	g.WriteString("other")
	if err := st.Publish(ctx, g, key); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second publish: %v", err)
	}
	if err := st.Put(ctx, key, []byte("x")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("put over: %v", err)
	}
	objs, err := st.List(ctx, "ds/data/")
	if err != nil || len(objs) != 1 || objs[0].Key != key || objs[0].Size != 10 {
		t.Fatalf("list: %+v %v", objs, err)
	}
	o, err := st.Open(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := o.ReadAt(buf, 3); err != nil || string(buf) != "3456" {
		t.Fatalf("readat %q %v", buf, err)
	}
	o.Seek(8, io.SeekStart)
	rest, _ := io.ReadAll(o)
	o.Close()
	if string(rest) != "89" {
		t.Fatalf("seek+read %q", rest)
	}
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("stat deleted: %v", err)
	}
}
