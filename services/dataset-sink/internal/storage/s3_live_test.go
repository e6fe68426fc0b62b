//go:build !nos3

package storage_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
)

// gofakes3Install is how the live suite gets its S3-compatible server: a
// standalone binary from the Go module proxy (MIT licensed; no Docker).
const gofakes3Install = "GOBIN=${CONSENTFLOW_CACHE:-$HOME/.cache/consentflow}/bin go install github.com/johannesboyne/gofakes3/cmd/gofakes3@v1.2.0"

// gofakes3Binary finds the gofakes3 command on PATH or in $CONSENTFLOW_CACHE/bin
// (default ~/.cache/consentflow/bin).
func gofakes3Binary() (string, bool) {
	if p, err := exec.LookPath("gofakes3"); err == nil {
		return p, true
	}
	cache := os.Getenv("CONSENTFLOW_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false
		}
		cache = filepath.Join(home, ".cache", "consentflow")
	}
	p := filepath.Join(cache, "bin", "gofakes3")
	if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
		return p, true
	}
	return "", false
}

var gofakes3Port = regexp.MustCompile(`using port: (\d+)`)

// startS3Server runs the gofakes3 binary on 127.0.0.1 (a port it picks) with its
// filesystem backend in a temp dir and a bucket "datasets"; it returns the
// endpoint URL. The process is killed when t ends.
func startS3Server(t *testing.T) string {
	t.Helper()
	bin, ok := gofakes3Binary()
	if !ok {
		t.Skip("gofakes3 binary not on PATH nor in $CONSENTFLOW_CACHE/bin; install it with: " + gofakes3Install)
	}
	cmd := exec.Command(bin, "-host", "127.0.0.1:0", "-backend", "fs", "-fs.path", t.TempDir(), "-fs.create",
		"-initialbucket", "datasets", "-quiet")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := gofakes3Port.FindStringSubmatch(sc.Text()); m != nil {
				port <- m[1]
			}
		}
	}()
	select {
	case p := <-port:
		return "http://127.0.0.1:" + p
	case <-time.After(10 * time.Second):
		t.Fatal("gofakes3 did not report its port within 10s")
		return ""
	}
}

// TestS3ServerLive runs the storage contract, then a writer + snapshot round
// (dedupe across a restart, an erasure rewrite, verified downloads) against a real
// S3-compatible server process.
func TestS3ServerLive(t *testing.T) {
	testenv.RequireLive(t)
	endpoint := startS3Server(t)
	open := func(prefix string) *storage.S3 {
		st, err := storage.NewS3(storage.S3Options{Endpoint: endpoint, Region: "us-east-1", Bucket: "datasets", Prefix: prefix,
			AccessKey: "test", SecretKey: "test", PathStyle: true, StagingDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	t.Run("contract", func(t *testing.T) { storageContract(t, open("contract")) })

	ctx := context.Background()
	clock := sinktest.NewClock()
	st := open("round")
	s3cfg := lake.S3Config{Endpoint: endpoint, Region: "us-east-1", AccessKey: "test", SecretKey: "test", PathStyle: true, StagingDir: t.TempDir()}
	lake.RegisterS3()
	location := "s3://datasets/round/" + sinktest.Dataset
	catalogPath := filepath.Join(t.TempDir(), "catalog.db")
	opts := writer.Options{Topic: "events.curated", RotateRows: 10, RotateBytes: 64 << 20, RotateInterval: time.Hour, DedupeWindow: 1000}
	feed := func(w *writer.Writer, from int64, ids ...int) {
		t.Helper()
		for i, id := range ids {
			subject := "k1:keep"
			if id%5 == 0 {
				subject = "k1:gone"
			}
			ev := sinktest.Event(id, subject, clock.Now())
			row := table.RowFromEvent(&ev)
			if _, err := w.Append(ctx, writer.Record{Partition: 0, Offset: from + int64(i), Row: &row}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.CloseAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	p := sinktest.NewPartsOn(t, st, location, lake.S3Props(s3cfg), catalogPath, clock, opts)
	ids := make([]int, 25)
	for i := range ids {
		ids[i] = i
	}
	feed(p.Writer, 0, ids...)
	// Restart over S3: resume after offset 24 from the table, window seeded by
	// reading the table back.
	p2 := sinktest.NewPartsOn(t, st, location, lake.S3Props(s3cfg), catalogPath, clock, opts)
	if p2.Writer.Resume()[0] != 24 {
		t.Fatalf("resume %v", p2.Writer.Resume())
	}
	feed(p2.Writer, 20, 20, 21, 22, 23, 24, 3, 25) // redelivered, then a duplicate id, then a new one
	if st := p2.Writer.Stats(); st.RowsWritten != 1 || st.DuplicatesDropped != 1 {
		t.Fatalf("after restart: %+v", st)
	}
	s1, err := p2.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows := sinktest.AllRows(t, p2.Lake, s1); len(rows) != 26 || s1.Totals.Rows != 26 {
		t.Fatalf("snapshot 1: %d rows, manifest %d", len(rows), s1.Totals.Rows)
	}
	clock.Add(time.Minute)
	if _, err := p2.Ledger.Record(ctx, "dataset.erasures", 0, 0, clock.Now(), schema.Erasure{Pseudonyms: []string{"k1:gone"}, Purpose: "ai_training",
		EffectiveAt: clock.Now(), Scope: schema.ScopeSubject}); err != nil {
		t.Fatal(err)
	}
	s2, err := p2.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := sinktest.AllRows(t, p2.Lake, s2)
	for _, r := range rows {
		if r.Subject == "k1:gone" {
			t.Fatalf("erased row %s in snapshot 2", r.EventID)
		}
	}
	if len(rows) != 20 {
		t.Fatalf("snapshot 2: %d rows, want 20", len(rows))
	}
	for _, f := range s2.Files {
		obj, err := p2.Catalog.OpenVerified(ctx, f)
		if err != nil {
			t.Fatalf("verify %s: %v", f.Path, err)
		}
		obj.Close()
	}
}
