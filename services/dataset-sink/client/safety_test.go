package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// hostile serves a manifest naming path with size bytes whose file endpoint
// sends body.
func hostile(t *testing.T, path string, size int64, body []byte, sha string) *httptest.Server {
	t.Helper()
	m := manifest.Manifest{ID: "s1", Dataset: "ai_training", Files: []manifest.File{{Path: path, Size: size, SHA256: sha}},
		Totals: manifest.Totals{Files: 1, Bytes: size}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/datasets/ai_training/snapshots/s1", func(w http.ResponseWriter, r *http.Request) { _ = json.NewEncoder(w).Encode(m) })
	mux.HandleFunc("GET /v1/datasets/ai_training/snapshots/s1/files/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	mux.HandleFunc("GET /v1/datasets/ai_training/snapshots/s1/README.md", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("#")) })
	mux.HandleFunc("GET /v1/datasets/ai_training/snapshots/s1/croissant.json", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{}")) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// A hostile or broken server cannot make a pull write outside its directory.
func TestPullNeverWritesOutsideItsDirectory(t *testing.T) {
	body := []byte("payload")
	for _, p := range []string{"../escape.parquet", "data/../../escape.parquet", "/tmp/escape.parquet", "", "./a", "data//a", `data\..\..\x`, "manifest.json"} {
		parent := t.TempDir()
		out := filepath.Join(parent, "snap")
		srv := hostile(t, p, int64(len(body)), body, sum(body))
		_, err := New(srv.URL, "", nil).Pull(context.Background(), "ai_training", "s1", out, nil)
		if err == nil || !strings.Contains(err.Error(), "manifest") {
			t.Fatalf("path %q: pull did not refuse: %v", p, err)
		}
		if _, err := os.Stat(filepath.Join(parent, "escape.parquet")); err == nil {
			t.Fatalf("path %q: wrote outside the directory", p)
		}
	}
	// A symlink planted in the directory does not lead out of it either.
	parent := t.TempDir()
	out := filepath.Join(parent, "snap")
	outside := filepath.Join(parent, "outside")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(out, "data")); err != nil {
		t.Fatal(err)
	}
	srv := hostile(t, "data/x.parquet", int64(len(body)), body, sum(body))
	if _, err := New(srv.URL, "", nil).Pull(context.Background(), "ai_training", "s1", out, nil); err == nil {
		t.Fatal("pull followed a symlink out of its directory")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("wrote through the symlink: %v", entries)
	}
}

// A server that sends more than the manifest's size cannot fill the disk:
// at most size+1 bytes are read, and the pull fails.
func TestPullReadsAtMostTheManifestSize(t *testing.T) {
	big := []byte(strings.Repeat("x", 1<<20))
	out := t.TempDir()
	srv := hostile(t, "data/f.parquet", 10, big, sum(big[:10]))
	res, err := New(srv.URL, "", nil).Pull(context.Background(), "ai_training", "s1", out, nil)
	if err == nil {
		t.Fatal("an oversized body was accepted")
	}
	if res.Downloaded > 11 {
		t.Fatalf("read %d bytes for a 10-byte file", res.Downloaded)
	}
	if st, err := os.Stat(filepath.Join(out, "data", "f.parquet.part")); err == nil && st.Size() > 11 {
		t.Fatalf("kept %d bytes", st.Size())
	}
}

// A body that stops flowing fails after the idle timeout instead of hanging.
func TestPullBodyIdleTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		_, _ = w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	hc := NewHTTPClient()
	hc.Transport = idleBodies{hc.Transport.(idleBodies).next, 200 * time.Millisecond}
	resp, err := hc.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	buf := make([]byte, 200)
	for {
		if _, err = resp.Body.Read(buf); err != nil {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("body never timed out")
		}
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("took %s", time.Since(start))
	}
}
