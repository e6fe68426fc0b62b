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
	progress.ChangeMax64(m.Totals.Bytes)
	base := c.snapPath(dataset, m.ID)
	for _, f := range m.Files {
		target, err := localPath(dir, f.Path)
		if err != nil {
			return res, err
		}
		if ok, _ := fileMatches(target, f.Size, f.SHA256); ok {
			res.Reused++
			progress.Add64(f.Size)
			continue
		}
		n, resumed, err := c.download(ctx, base+"/files/"+escapePath(f.Path), target, f, progress)
		res.Downloaded += n
		if resumed {
			res.Resumed++
		}
		if err != nil {
			return res, err
		}
	}
	for _, name := range []string{"README.md", "croissant.json"} {
		if err := c.fetchSmall(ctx, base+"/"+name, filepath.Join(dir, name)); err != nil {
			return res, err
		}
	}
	body, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return res, fmt.Errorf("encode manifest: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, "manifest.json"), append(body, '\n')); err != nil {
		return res, err
	}
	return res, nil
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// localPath maps a manifest path into dir, refusing paths that escape it and
// names the pull itself writes (the metadata files, which would overwrite a data
// file after it was verified, and the .part files of resumable downloads).
func localPath(dir, p string) (string, error) {
	clean := path.Clean("/" + p)[1:]
	if clean != p || strings.HasPrefix(clean, "../") || clean == "" {
		return "", fmt.Errorf("manifest path %q is not a plain relative path", p)
	}
	switch {
	case clean == "manifest.json" || clean == "README.md" || clean == "croissant.json":
		return "", fmt.Errorf("manifest path %q is the name of a metadata file of the pull", p)
	case strings.HasSuffix(clean, ".part"):
		return "", fmt.Errorf("manifest path %q ends in .part, the suffix of partial downloads", p)
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

func fileMatches(p string, size int64, sha string) (bool, error) {
	st, err := os.Stat(p)
	if err != nil || st.Size() != size {
		return false, err
	}
	got, err := hashFile(p)
	return got == sha, err
}

func hashFile(p string) (string, error) {
	f, err := os.Open(p)
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
func (c *Client) download(ctx context.Context, urlPath, target string, f manifest.File, progress Progress) (int64, bool, error) {
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return 0, false, fmt.Errorf("create %s: %w", filepath.Dir(target), err)
	}
	part := target + ".part"
	var have int64
	if st, err := os.Stat(part); err == nil && st.Size() < f.Size {
		have = st.Size()
	} else if err == nil {
		os.Remove(part) // as large as the file or larger, yet not at target: start over
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
	out, err := os.OpenFile(part, flags, 0o644)
	if err != nil {
		return 0, resumed, fmt.Errorf("open %s: %w", part, err)
	}
	n, copyErr := io.Copy(out, io.TeeReader(resp.Body, progressWriter{progress}))
	if err := out.Sync(); err != nil && copyErr == nil {
		copyErr = err
	}
	if err := out.Close(); err != nil && copyErr == nil {
		copyErr = err
	}
	if copyErr != nil {
		return n, resumed, fmt.Errorf("download %s (partial file kept for resume): %w", f.Path, copyErr)
	}
	got, err := hashFile(part)
	if err != nil {
		return n, resumed, err
	}
	if got != f.SHA256 {
		os.Remove(part)
		return n, resumed, fmt.Errorf("%s: downloaded sha256 %s, manifest says %s (partial file removed; pull again): %w", f.Path, got, f.SHA256, ErrChecksum)
	}
	if err := os.Rename(part, target); err != nil {
		return n, resumed, fmt.Errorf("rename %s: %w", part, err)
	}
	return n, resumed, nil
}

type progressWriter struct{ p Progress }

func (w progressWriter) Write(b []byte) (int, error) {
	w.p.Add64(int64(len(b)))
	return len(b), nil
}

func (c *Client) fetchSmall(ctx context.Context, urlPath, target string) error {
	resp, err := c.request(ctx, http.MethodGet, urlPath, nil)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return apiError(resp)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read %s: %w", urlPath, err)
	}
	return writeAtomic(target, body)
}

func writeAtomic(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(p), err)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}
