package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/api"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/catalog"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/sinktest"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/writer"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

const (
	readToken  = "read-token-0123456789"
	writeToken = "write-token-0123456789"
	// tenantToken is bound to tenant acme: snapshots hold every tenant's rows.
	tenantToken = "tenant-token-0123456789"
)

// testTokens are a reader (given by hash) and a writer (plaintext form).
func testTokens(t *testing.T) *auth.Tokens {
	t.Helper()
	h := sha256.Sum256([]byte(readToken))
	tokens, err := auth.ParseTokens("reader:sha256:" + hex.EncodeToString(h[:]) + "=" + api.ScopeRead +
		", writer:plain:" + writeToken + "=" + api.ScopeRead + "|" + api.ScopeWrite +
		", acme:plain:" + tenantToken + "=" + api.ScopeRead + ";tenant=acme")
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

func apiFixture(t *testing.T) (*sinktest.Parts, *httptest.Server, manifest.Manifest, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	clock := sinktest.NewClock()
	p := sinktest.NewParts(t, dir, clock, 10)
	for i := range 25 {
		ev := sinktest.Event(i, "k1:s", clock.Now())
		row := table.RowFromEvent(&ev)
		p.Writer.Append(ctx, writer.Record{Partition: 0, Offset: int64(i), Row: &row})
	}
	p.Writer.CloseAll(ctx)
	m, err := p.Catalog.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(map[string]*catalog.Catalog{"ai_training": p.Catalog}, testTokens(t), zap.NewNop()).Handler())
	t.Cleanup(srv.Close)
	return p, srv, m, dir
}

func do(t *testing.T, method, url, token string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestAPIStatusCodesRangeAndETag(t *testing.T) {
	_, srv, m, _ := apiFixture(t)
	base := srv.URL + "/v1/datasets"
	file := m.Files[0]
	fileURL := base + "/ai_training/snapshots/latest/files/" + file.Path
	for _, c := range []struct {
		method, url, token string
		want               int
	}{
		{"GET", base, "", 401},
		{"GET", base, "wrong-token-0123456789", 401},
		{"GET", base, readToken, 200},
		{"POST", base + "/ai_training/snapshots", readToken, 403},
		{"POST", base + "/ai_training/snapshots", writeToken, 201},
		{"GET", base + "/nope/snapshots", readToken, 404},
		{"GET", base + "/ai_training/snapshots", readToken, 200},
		{"GET", base + "/ai_training/snapshots/" + m.ID, readToken, 200},
		{"GET", base + "/ai_training/snapshots/latest", readToken, 200},
		{"GET", base + "/ai_training/snapshots/20990101T000000.000Z-000000", readToken, 404},
		{"GET", base + "/ai_training/snapshots/latest/files/data/dt=2025-11-28/none.parquet", readToken, 404},
		{"GET", base + "/ai_training/snapshots/" + m.ID + "/README.md", readToken, 200},
		{"GET", base + "/ai_training/snapshots/" + m.ID + "/croissant.json", readToken, 200},
		{"GET", fileURL, "", 401},
	} {
		resp, body := do(t, c.method, c.url, c.token, nil)
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.url, resp.StatusCode, body, c.want)
		}
	}
	// Full download: ETag is the sha256, body matches.
	resp, body := do(t, "GET", base+"/ai_training/snapshots/"+m.ID+"/files/"+file.Path, readToken, nil)
	sum := sha256.Sum256(body)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"`+file.SHA256+`"` || hex.EncodeToString(sum[:]) != file.SHA256 {
		t.Fatalf("download: %d etag %s", resp.StatusCode, resp.Header.Get("ETag"))
	}
	resp, part := do(t, "GET", fileURL, readToken, map[string]string{"Range": "bytes=4-9"})
	if resp.StatusCode != 206 || string(part) != string(body[4:10]) {
		t.Fatalf("range: %d %q", resp.StatusCode, part)
	}
	resp, _ = do(t, "GET", fileURL, readToken, map[string]string{"If-None-Match": `"` + file.SHA256 + `"`})
	if resp.StatusCode != 304 {
		t.Fatalf("If-None-Match: %d", resp.StatusCode)
	}
	// The card points Hugging Face at the files.
	_, card := do(t, "GET", base+"/ai_training/snapshots/"+m.ID+"/README.md", readToken, nil)
	if !strings.HasPrefix(string(card), "---\n") || !strings.Contains(string(card), "data_files:") || !strings.Contains(string(card), file.Path) {
		t.Fatalf("card:\n%s", card)
	}
	_, cr := do(t, "GET", base+"/ai_training/snapshots/"+m.ID+"/croissant.json", readToken, nil)
	var doc map[string]any
	if err := json.Unmarshal(cr, &doc); err != nil || doc["conformsTo"] != "http://mlcommons.org/croissant/1.0" {
		t.Fatalf("croissant: %v %s", err, cr)
	}
}

func TestAPIWithoutTokensIsOpen(t *testing.T) {
	p, _, _, _ := apiFixture(t)
	srv := httptest.NewServer(api.New(map[string]*catalog.Catalog{"ai_training": p.Catalog}, nil, zap.NewNop()).Handler())
	defer srv.Close()
	if resp, body := do(t, "GET", srv.URL+"/v1/datasets", "", nil); resp.StatusCode != 200 {
		t.Fatalf("open API: %d %s", resp.StatusCode, body)
	}
}

func TestManifestChecksumsVerifyAndCorruptFilesAreNotServed(t *testing.T) {
	_, srv, m, dir := apiFixture(t)
	for _, f := range m.Files {
		b, err := os.ReadFile(filepath.Join(dir, "ai_training", filepath.FromSlash(f.Path)))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if int64(len(b)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Fatalf("%s does not match its manifest", f.Path)
		}
	}
	url := srv.URL + "/v1/datasets/ai_training/snapshots/" + m.ID + "/files/"
	// Corrupt one byte of the first file (same size), truncate the second.
	p0 := filepath.Join(dir, "ai_training", filepath.FromSlash(m.Files[0].Path))
	b, _ := os.ReadFile(p0)
	do(t, "GET", url+m.Files[0].Path, readToken, nil) // warm the verification cache
	b[len(b)/2] ^= 0xff
	os.WriteFile(p0, b, 0o644)
	if resp, body := do(t, "GET", url+m.Files[0].Path, readToken, nil); resp.StatusCode != 500 || !strings.Contains(string(body), "sha256") {
		t.Fatalf("corrupt file served: %d %s", resp.StatusCode, body)
	}
	p1 := filepath.Join(dir, "ai_training", filepath.FromSlash(m.Files[1].Path))
	os.Truncate(p1, m.Files[1].Size/2)
	if resp, body := do(t, "GET", url+m.Files[1].Path, readToken, nil); resp.StatusCode != 500 || !strings.Contains(string(body), "size") {
		t.Fatalf("partial file served: %d %s", resp.StatusCode, body)
	}
}

// A dataset token bound to a tenant reads nothing: every snapshot holds every
// tenant's rows. 403, with the reason.
func TestAPIRefusesTenantBoundTokens(t *testing.T) {
	_, srv, m, _ := apiFixture(t)
	for _, path := range []string{"/v1/datasets", "/v1/datasets/ai_training/snapshots", "/v1/datasets/ai_training/snapshots/" + m.ID,
		"/v1/datasets/ai_training/snapshots/" + m.ID + "/files/" + m.Files[0].Path} {
		resp, body := do(t, "GET", srv.URL+path, tenantToken, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `bound to tenant \"acme\"`) {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	resp, _ := do(t, "GET", srv.URL+"/v1/datasets", readToken, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("unbound reader: %d", resp.StatusCode)
	}
}
