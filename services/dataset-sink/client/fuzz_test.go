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
	"sync"
	"testing"
	"time"

	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// content is what the fuzz server answers for a file: derived from its path, so
// a seed can carry the right sha256.
func content(p string) []byte { return []byte("parquet bytes of " + p) }

func shaOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// FuzzPullManifest pulls a snapshot whose manifest is arbitrary bytes from a
// server that answers any file: Pull never panics, never writes outside the
// target folder (whatever the manifest's paths, ids or names), and when it
// succeeds every listed file is in the folder with its sha256.
//
//	go test ./services/dataset-sink/client -run '^$' -fuzz FuzzPullManifest -fuzztime 30s
func FuzzPullManifest(f *testing.F) {
	var mu sync.Mutex
	var served []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const prefix = "/v1/datasets/ds/snapshots/"
		p := r.URL.Path
		switch {
		case strings.Contains(p, "/files/"):
			_, file, _ := strings.Cut(p, "/files/")
			http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(content(file))))
		case strings.HasSuffix(p, "/README.md") || strings.HasSuffix(p, "/croissant.json"):
			_, _ = w.Write([]byte("{}"))
		case strings.HasPrefix(p, prefix):
			mu.Lock()
			b := served
			mu.Unlock()
			_, _ = w.Write(b)
		default:
			http.NotFound(w, r)
		}
	}))
	f.Cleanup(srv.Close)
	seed := func(files ...string) []byte {
		m := manifest.Manifest{ID: "s1", Dataset: "ds"}
		for _, p := range files {
			m.Files = append(m.Files, manifest.File{Path: p, Size: int64(len(content(p))), SHA256: shaOf(content(p))})
		}
		b, _ := json.Marshal(m)
		return b
	}
	for _, s := range [][]byte{
		seed("data/dt=2025-01-01/a+0+0-9.parquet", "data/b.parquet"),
		seed("../escape.parquet"), seed("/etc/passwd"), seed("a/../../b"), seed("data/./x"), seed(""),
		seed("manifest.json"), seed("data/x.parquet.part"), seed("a\\..\\b"), seed("..%2Fx"),
		[]byte(`{"id":"../../x","files":[{"path":"ok","size":-1,"sha256":"zz"}]}`),
		[]byte(`{"id":"s1","files":[{"path":"data","size":1},{"path":"data/x","size":1}]}`),
		[]byte(`not json`), []byte(`{"files":null}`),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, m []byte) {
		mu.Lock()
		served = m
		mu.Unlock()
		parent := t.TempDir()
		dir := filepath.Join(parent, "snapshot")
		c := New(srv.URL, "tok", srv.Client())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := c.Pull(ctx, "ds", "latest", dir, nil)
		entries, rerr := os.ReadDir(parent)
		if rerr != nil {
			t.Fatal(rerr)
		}
		for _, e := range entries {
			if e.Name() != "snapshot" {
				t.Fatalf("Pull wrote %q next to the target folder (manifest %q)", e.Name(), m)
			}
		}
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type()&os.ModeSymlink != 0 {
				t.Fatalf("Pull made a symlink %s", p)
			}
			return nil
		})
		if err != nil {
			return
		}
		for _, mf := range res.Manifest.Files {
			if perr := checkManifestFile(mf); perr != nil {
				t.Fatalf("Pull succeeded with path %q it refuses: %v", mf.Path, perr)
			}
			p := filepath.Join(dir, filepath.FromSlash(mf.Path))
			b, rerr := os.ReadFile(p)
			if rerr != nil || shaOf(b) != mf.SHA256 {
				t.Fatalf("pulled %s: %v, sha256 %s, manifest says %s", mf.Path, rerr, shaOf(b), mf.SHA256)
			}
		}
	})
}
