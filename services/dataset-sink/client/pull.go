package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// Progress is told how many bytes a pull will download and has downloaded
// (schollz/progressbar satisfies it).
type Progress interface {
	ChangeMax64(int64)
	Add64(int64) error
}

type noProgress struct{}

func (noProgress) ChangeMax64(int64) {}
func (noProgress) Add64(int64) error { return nil }

// PullResult reports a pull.
type PullResult struct {
	Manifest   manifest.Manifest
	Downloaded int64 // bytes transferred
	Reused     int   // files already present and verified
	Resumed    int   // files continued from a .part
}

// Pull downloads snapshot id ("latest" allowed) of dataset into dir: data files
// under their manifest paths, then README.md, croissant.json and manifest.json.
// Files already present with the right sha256 are kept; a <file>.part left by an
// interrupted pull is resumed with a Range request; every file is verified.
func (c *Client) Pull(ctx context.Context, dataset, id, dir string, progress Progress) (PullResult, error) {
	if progress == nil {
		progress = noProgress{}
	}
	m, err := c.Manifest(ctx, dataset, id)
	if err != nil {
		return PullResult{}, err
	}
	res := PullResult{Manifest: m}
	for _, f := range m.Files {
		if err := checkManifestFile(f); err != nil {
			return res, err
		}
	}
	// Every file is written through root: no path of the manifest (and no
	// symlink placed in dir) can make a pull write outside dir.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("create %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return res, fmt.Errorf("open %s: %w", dir, err)
	}
	defer root.Close()
	progress.ChangeMax64(m.Totals.Bytes)
	base := c.snapPath(dataset, m.ID)
	for _, f := range m.Files {
		target := filepath.FromSlash(f.Path)
		if ok, _ := fileMatches(root, target, f.Size, f.SHA256); ok {
			res.Reused++
			progress.Add64(f.Size)
			continue
		}
		n, resumed, err := c.download(ctx, root, base+"/files/"+escapePath(f.Path), target, f, progress)
		res.Downloaded += n
		if resumed {
			res.Resumed++
		}
		if err != nil {
			return res, err
		}
	}
	for _, name := range []string{"README.md", "croissant.json"} {
		if err := c.fetchSmall(ctx, root, base+"/"+name, name); err != nil {
			return res, err
		}
	}
	body, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return res, fmt.Errorf("encode manifest: %w", err)
	}
	if err := writeAtomic(root, "manifest.json", append(body, '\n')); err != nil {
		return res, err
	}
	return res, nil
}

// MaxMetadataBytes bounds the manifest, dataset card and Croissant file a
// pull reads.
const MaxMetadataBytes = 64 << 20

// checkManifestFile refuses a manifest entry a pull must not act on: a path
// that is not a plain local relative path (absolute, "..", empty, a reserved
// name) or that would collide with the metadata files, and a negative size.
func checkManifestFile(f manifest.File) error {
	clean := path.Clean(f.Path)
	switch {
	case f.Path == "" || clean != f.Path || strings.Contains(f.Path, "\\") || !filepath.IsLocal(filepath.FromSlash(f.Path)):
		return fmt.Errorf("manifest path %q is not a plain relative path", f.Path)
	case f.Path == "manifest.json" || f.Path == "README.md" || f.Path == "croissant.json":
		return fmt.Errorf("manifest path %q is the name of a metadata file of the pull", f.Path)
	case strings.HasSuffix(f.Path, ".part") || strings.HasSuffix(f.Path, ".tmp"):
		return fmt.Errorf("manifest path %q ends in .part or .tmp, the suffixes of the pull's own partial files", f.Path)
	case f.Size < 0:
		return fmt.Errorf("manifest file %q: negative size %d", f.Path, f.Size)
	}
	return nil
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func fileMatches(root *os.Root, p string, size int64, sha string) (bool, error) {
	st, err := root.Stat(p)
	if err != nil || st.Size() != size || !st.Mode().IsRegular() {
		return false, err
	}
	got, err := hashFile(root, p)
	return got == sha, err
}

func hashFile(root *os.Root, p string) (string, error) {
	f, err := root.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", p, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// download fetches one file into target via target.part, resuming from the
// part's size when the server honours the Range (If-Range on the sha256 ETag).
// It never reads more than the manifest's size for the file.
func (c *Client) download(ctx context.Context, root *os.Root, urlPath, target string, f manifest.File, progress Progress) (int64, bool, error) {
	if dir := filepath.Dir(target); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return 0, false, fmt.Errorf("create %s: %w", dir, err)
		}
	}
	part := target + ".part"
	var have int64
	if st, err := root.Stat(part); err == nil && st.Size() < f.Size && st.Mode().IsRegular() {
		have = st.Size()
	} else if err == nil {
		root.Remove(part) // as large as the file or larger, yet not at target: start over
	}
	hdr := http.Header{}
	etag := `"` + f.SHA256 + `"`
	if have > 0 {
		hdr.Set("Range", fmt.Sprintf("bytes=%d-", have))
		hdr.Set("If-Range", etag)
	}
	resp, err := c.request(ctx, http.MethodGet, urlPath, hdr)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	resumed := false
	flags := os.O_CREATE | os.O_WRONLY
	switch resp.StatusCode {
	case http.StatusPartialContent:
		resumed = true
		flags |= os.O_APPEND
		progress.Add64(have)
	case http.StatusOK:
		flags |= os.O_TRUNC
		have = 0
	default:
		return 0, false, apiError(resp)
	}
	if got := resp.Header.Get("ETag"); got != "" && got != etag {
		return 0, resumed, fmt.Errorf("%s: server ETag %s does not match manifest sha256 %s: %w", f.Path, got, f.SHA256, ErrChecksum)
	}
	out, err := root.OpenFile(part, flags, 0o644)
	if err != nil {
		return 0, resumed, fmt.Errorf("open %s: %w", part, err)
	}
	// Read at most one byte more than the file can still hold: a server that
	// sends more is wrong, and must not fill the disk.
	n, copyErr := io.Copy(out, io.TeeReader(io.LimitReader(resp.Body, f.Size-have+1), progressWriter{progress}))
	if copyErr == nil && have+n > f.Size {
		copyErr = fmt.Errorf("server sent more than the manifest's %d bytes: %w", f.Size, ErrChecksum)
		_ = out.Truncate(0)
	}
	if err := out.Sync(); err != nil && copyErr == nil {
		copyErr = err
	}
	if err := out.Close(); err != nil && copyErr == nil {
		copyErr = err
	}
	if copyErr != nil {
		return n, resumed, fmt.Errorf("download %s (partial file kept for resume): %w", f.Path, copyErr)
	}
	got, err := hashFile(root, part)
	if err != nil {
		return n, resumed, err
	}
	if got != f.SHA256 {
		root.Remove(part)
		return n, resumed, fmt.Errorf("%s: downloaded sha256 %s, manifest says %s (partial file removed; pull again): %w", f.Path, got, f.SHA256, ErrChecksum)
	}
	if err := root.Rename(part, target); err != nil {
		return n, resumed, fmt.Errorf("rename %s: %w", part, err)
	}
	return n, resumed, nil
}

type progressWriter struct{ p Progress }

func (w progressWriter) Write(b []byte) (int, error) {
	w.p.Add64(int64(len(b)))
	return len(b), nil
}

func (c *Client) fetchSmall(ctx context.Context, root *os.Root, urlPath, target string) error {
	resp, err := c.request(ctx, http.MethodGet, urlPath, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", urlPath, err)
	}
	if len(body) > MaxMetadataBytes {
		return fmt.Errorf("%s: larger than %d bytes", urlPath, MaxMetadataBytes)
	}
	return writeAtomic(root, target, body)
}

func writeAtomic(root *os.Root, p string, data []byte) error {
	tmp := p + ".tmp"
	if err := root.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := root.Rename(tmp, p); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}
