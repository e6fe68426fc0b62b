package client

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// fakeSink serves one snapshot with one file; cut makes the next file download
// abort halfway, as a dropped connection would.
type fakeSink struct {
	m       manifest.Manifest
	data    []byte
	cut     atomic.Bool
	ranges  atomic.Int32
	corrupt atomic.Bool
}

func newFakeSink(t *testing.T) (*fakeSink, *httptest.Server) {
	data := make([]byte, 1<<20)
	rand.Read(data)
	sum := sha256.Sum256(data)
	f := &fakeSink{data: data}
	path := "data/dt=2025-11-28/events.curated+0+0-9.parquet"
	f.m = manifest.Manifest{ID: "s1", Dataset: "ai_training", Files: []manifest.File{{Path: path, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Rows: 10}},
		Totals: manifest.Totals{Files: 1, Rows: 10, Bytes: int64(len(data))}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/datasets/ai_training/snapshots/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, `{"error":"missing or invalid bearer token"}`, http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(f.m)
	})
	mux.HandleFunc("GET /v1/datasets/ai_training/snapshots/s1/files/"+path, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Range") != "" {
			f.ranges.Add(1)
		}
		w.Header().Set("ETag", `"`+f.m.Files[0].SHA256+`"`)
		body := f.data
		if f.corrupt.Load() {
			body = append([]byte{}, f.data...)
			body[10] ^= 1
		}
		if f.cut.Swap(false) {
			w.Header().Set("Content-Length", "1048576")
			w.WriteHeader(200)
			w.Write(body[:len(body)/2])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(body)))
	})
	for _, name := range []string{"README.md", "croissant.json"} {
		mux.HandleFunc("GET /v1/datasets/ai_training/snapshots/s1/"+name, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func TestPullResumesVerifiesAndReuses(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeSink(t)
	out := t.TempDir()
	c := New(srv.URL, "tok", nil)

	f.cut.Store(true)
	if _, err := c.Pull(ctx, "ai_training", "latest", out, nil); err == nil {
		t.Fatal("pull over a dropped connection succeeded")
	}
	part := filepath.Join(out, filepath.FromSlash(f.m.Files[0].Path)) + ".part"
	st, err := os.Stat(part)
	if err != nil || st.Size() == 0 || st.Size() >= int64(len(f.data)) {
		t.Fatalf("no partial file kept: %v", err)
	}
	res, err := c.Pull(ctx, "ai_training", "latest", out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 1 || f.ranges.Load() != 1 || res.Downloaded != int64(len(f.data))-st.Size() {
		t.Fatalf("resume: %+v ranges %d", res, f.ranges.Load())
	}
	got, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(f.m.Files[0].Path)))
	if string(got) != string(f.data) {
		t.Fatal("resumed file differs")
	}
	for _, name := range []string{"manifest.json", "README.md", "croissant.json"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Fatal(err)
		}
	}
	res, err = c.Pull(ctx, "ai_training", "s1", out, nil)
	if err != nil || res.Reused != 1 || res.Downloaded != 0 {
		t.Fatalf("second pull: %+v %v", res, err)
	}
}

func TestPullRejectsBadChecksumAndReportsAuth(t *testing.T) {
	ctx := context.Background()
	f, srv := newFakeSink(t)
	f.corrupt.Store(true)
	_, err := New(srv.URL, "tok", nil).Pull(ctx, "ai_training", "latest", t.TempDir(), nil)
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("corrupt download: %v", err)
	}
	_, err = New(srv.URL, "", nil).Pull(ctx, "ai_training", "latest", t.TempDir(), nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(err.Error(), "--token") {
		t.Fatalf("auth error: %v", err)
	}
}
