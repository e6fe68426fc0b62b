// Package catalog takes, lists and purges the snapshots of a dataset: immutable
// manifests over the current data files, with erasures applied copy-on-write, a
// dataset card and Croissant metadata, retention and the erasure purge deadline.
package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// ErrExpired is returned for a snapshot that has a tombstone.
var ErrExpired = errors.New("snapshot expired")

// Options configure a Catalog.
type Options struct {
	Dataset      string
	Retention    time.Duration
	RowGroupRows int64
}

// Catalog takes, lists and purges the snapshots of one dataset. Snapshots, purges
// and garbage collection are serialised; the writer runs concurrently (it only
// adds new offset ranges, the catalog only rewrites or deletes existing ones).
type Catalog struct {
	store  storage.Storage
	ledger *ledger.Ledger
	opts   Options
	now    func() time.Time
	m      *Metrics
	log    *zap.Logger

	mu sync.Mutex
	// clean[key] = ledger position the file is known to be clean against.
	clean map[string]int64
	// facts and sums of immutable files, by key.
	facts map[string]table.Facts
	sums  map[string]string

	verifyMu sync.Mutex
	verified map[string]verifiedSum
}

type verifiedSum struct {
	size    int64
	modTime time.Time
	sha     string
}

// New returns the catalog of opts.Dataset in store.
func New(store storage.Storage, l *ledger.Ledger, opts Options, now func() time.Time, m *Metrics, log *zap.Logger) *Catalog {
	return &Catalog{store: store, ledger: l, opts: opts, now: now, m: m, log: log,
		clean: map[string]int64{}, facts: map[string]table.Facts{}, sums: map[string]string{}, verified: map[string]verifiedSum{}}
}

// SnapshotKey is where object name of snapshot id is stored.
func (c *Catalog) SnapshotKey(id, name string) string {
	return c.opts.Dataset + "/snapshots/" + id + "/" + name
}

// Snapshot applies the erasure ledger (rewriting files that hold covered rows),
// then writes an immutable manifest of every current file, with its dataset card
// and Croissant metadata.
func (c *Catalog) Snapshot(ctx context.Context) (manifest.Manifest, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.snapshot(ctx)
}

func (c *Catalog) snapshot(ctx context.Context) (manifest.Manifest, error) {
	created := c.now().UTC()
	pos := c.ledger.Position()
	current, _, err := c.currentFiles(ctx)
	if err != nil {
		return manifest.Manifest{}, err
	}
	matcher := c.ledger.Matcher(pos)
	for i, f := range current {
		nf, err := c.applyErasures(ctx, f, pos, matcher)
		if err != nil {
			return manifest.Manifest{}, err
		}
		current[i] = nf
	}
	snaps, err := c.list(ctx)
	if err != nil {
		return manifest.Manifest{}, err
	}
	m := manifest.Manifest{
		ID: newSnapshotID(created), Dataset: c.opts.Dataset, CreatedAt: created,
		ExpiresAt: created.Add(c.opts.Retention), Format: "parquet", Compression: "zstd",
		Schema: table.Columns, ErasureLedgerPosition: pos, Files: []manifest.File{}, PolicyVersions: []string{},
	}
	if len(snaps) > 0 {
		m.Parent = snaps[len(snaps)-1].ID
	}
	policies := map[string]struct{}{}
	var newest *table.Stored
	for i := range current {
		f := &current[i]
		facts, err := c.fileFacts(ctx, f.Info.Key)
		if err != nil {
			return manifest.Manifest{}, err
		}
		if facts.Rows == 0 {
			continue
		}
		sum, err := c.fileSum(ctx, f.Info.Key)
		if err != nil {
			return manifest.Manifest{}, err
		}
		m.Files = append(m.Files, manifest.File{Path: f.Info.Key, Size: f.Info.Size, SHA256: sum, Rows: facts.Rows,
			Topic: f.File.Topic, Partition: f.File.Partition, FirstOffset: f.File.First, LastOffset: f.File.Last})
		m.Totals.Files++
		m.Totals.Rows += facts.Rows
		m.Totals.Bytes += f.Info.Size
		for _, p := range facts.PolicyVersions {
			policies[p] = struct{}{}
		}
		if newest == nil || f.File.Day > newest.File.Day || (f.File.Day == newest.File.Day && f.Info.ModTime.After(newest.Info.ModTime)) {
			newest = f
			if len(facts.PolicyVersions) > 0 {
				m.PolicyVersion = facts.PolicyVersions[len(facts.PolicyVersions)-1]
			}
		}
	}
	m.PolicyVersions = table.SortedKeys(policies)
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })

	cr, err := croissant(&m)
	if err != nil {
		return manifest.Manifest{}, fmt.Errorf("render croissant: %w", err)
	}
	body, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return manifest.Manifest{}, fmt.Errorf("encode manifest: %w", err)
	}
	// The manifest goes last: a snapshot exists once its manifest does.
	for _, o := range []struct {
		name string
		data []byte
	}{{CardName, datasetCard(&m)}, {CroissantName, cr}, {ManifestName, append(body, '\n')}} {
		if err := c.store.Put(ctx, c.SnapshotKey(m.ID, o.name), o.data); err != nil {
			return manifest.Manifest{}, fmt.Errorf("write snapshot %s: %w", m.ID, err)
		}
	}
	c.m.Snapshots.Inc()
	c.m.LastSnapshot.Set(float64(created.UnixMilli()) / 1000)
	c.log.Info("snapshot taken", zap.String("id", m.ID), zap.Int("files", m.Totals.Files),
		zap.Int64("rows", m.Totals.Rows), zap.Int64("erasure_ledger_position", pos))
	return m, nil
}

// currentFiles returns the newest version of every offset range, and every
// stored data file.
func (c *Catalog) currentFiles(ctx context.Context) ([]table.Stored, []table.Stored, error) {
	all, err := table.List(ctx, c.store, c.opts.Dataset)
	if err != nil {
		return nil, nil, err
	}
	byBase := map[string]table.Stored{}
	for _, f := range all {
		if cur, ok := byBase[f.File.Base()]; !ok || f.File.Erased > cur.File.Erased {
			byBase[f.File.Base()] = f
		}
	}
	out := make([]table.Stored, 0, len(byBase))
	for _, f := range byBase {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info.Key < out[j].Info.Key })
	return out, all, nil
}

// applyErasures returns f, or its copy-on-write rewrite without the rows that
// matcher covers. The original stays until no live snapshot references it.
func (c *Catalog) applyErasures(ctx context.Context, f table.Stored, pos int64, matcher *ledger.Matcher) (table.Stored, error) {
	if f.File.Erased >= pos || c.clean[f.Info.Key] >= pos || matcher.Empty() {
		return f, nil
	}
	rows, err := table.ReadRows(ctx, c.store, c.opts.Dataset+"/"+f.Info.Key)
	if err != nil {
		return f, err
	}
	kept := rows[:0]
	for i := range rows {
		if !matcher.Covered(&rows[i]) {
			kept = append(kept, rows[i])
		}
	}
	if len(kept) == len(rows) {
		c.clean[f.Info.Key] = pos
		return f, nil
	}
	nf := f.File
	nf.Erased = pos
	key := c.opts.Dataset + "/" + nf.Key()
	staged, err := c.store.Stage(ctx, key)
	if err != nil {
		return f, err
	}
	pf := table.NewFile(staged, c.opts.RowGroupRows)
	if err := pf.Write(kept); err != nil {
		c.store.Discard(staged)
		return f, err
	}
	if err := pf.Finish(pos); err != nil {
		c.store.Discard(staged)
		return f, err
	}
	if err := c.store.Publish(ctx, staged, key); err != nil && !errors.Is(err, storage.ErrExists) {
		return f, err
	}
	info, err := c.store.Stat(ctx, key)
	if err != nil {
		return f, err
	}
	info.Key = nf.Key()
	c.m.FilesRewritten.Inc()
	c.log.Info("file rewritten to apply erasures", zap.String("from", f.Info.Key), zap.String("to", info.Key),
		zap.Int("rows_removed", len(rows)-len(kept)))
	return table.Stored{File: nf, Info: info}, nil
}

func (c *Catalog) fileFacts(ctx context.Context, key string) (table.Facts, error) {
	if f, ok := c.facts[key]; ok {
		return f, nil
	}
	obj, err := c.store.Open(ctx, c.opts.Dataset+"/"+key)
	if err != nil {
		return table.Facts{}, err
	}
	defer obj.Close()
	f, err := table.ReadFacts(obj)
	if err != nil {
		return table.Facts{}, err
	}
	c.facts[key] = f
	return f, nil
}

func (c *Catalog) fileSum(ctx context.Context, key string) (string, error) {
	if s, ok := c.sums[key]; ok {
		return s, nil
	}
	obj, err := c.store.Open(ctx, c.opts.Dataset+"/"+key)
	if err != nil {
		return "", err
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj); err != nil {
		return "", fmt.Errorf("hash %s: %w", key, err)
	}
	s := hex.EncodeToString(h.Sum(nil))
	c.sums[key] = s
	return s, nil
}

// snapshotEntry is a stored snapshot.
type snapshotEntry struct {
	ID        string
	Manifest  *manifest.Manifest
	Tombstone *manifest.Tombstone
}

// list loads every snapshot, oldest first.
func (c *Catalog) list(ctx context.Context) ([]snapshotEntry, error) {
	objs, err := c.store.List(ctx, c.opts.Dataset+"/snapshots/")
	if err != nil {
		return nil, err
	}
	byID := map[string]*snapshotEntry{}
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, c.opts.Dataset+"/snapshots/")
		id, name := path.Split(rest)
		id = strings.TrimSuffix(id, "/")
		if id == "" || strings.Contains(id, "/") || (name != ManifestName && name != tombstoneName) {
			continue
		}
		e := byID[id]
		if e == nil {
			e = &snapshotEntry{ID: id}
			byID[id] = e
		}
		switch name {
		case ManifestName:
			var m manifest.Manifest
			if err := c.readJSON(ctx, o.Key, &m); err != nil {
				return nil, err
			}
			e.Manifest = &m
		case tombstoneName:
			var t manifest.Tombstone
			if err := c.readJSON(ctx, o.Key, &t); err != nil {
				return nil, err
			}
			e.Tombstone = &t
		}
	}
	out := make([]snapshotEntry, 0, len(byID))
	for _, e := range byID {
		if e.Manifest != nil {
			out = append(out, *e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Manifest.CreatedAt.Equal(out[j].Manifest.CreatedAt) {
			return out[i].Manifest.CreatedAt.Before(out[j].Manifest.CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func (c *Catalog) readJSON(ctx context.Context, key string, v any) error {
	obj, err := c.store.Open(ctx, key)
	if err != nil {
		return err
	}
	defer obj.Close()
	if err := json.NewDecoder(obj).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}

// Snapshots lists the snapshots, oldest first, expired ones included.
func (c *Catalog) Snapshots(ctx context.Context) ([]manifest.SnapshotInfo, error) {
	snaps, err := c.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]manifest.SnapshotInfo, 0, len(snaps))
	for _, s := range snaps {
		info := s.Manifest.Info()
		info.Expired = s.Tombstone
		out = append(out, info)
	}
	return out, nil
}

// Manifest returns snapshot id ("latest": the newest live one). An expired
// snapshot returns its manifest with ErrExpired.
func (c *Catalog) Manifest(ctx context.Context, id string) (manifest.Manifest, error) {
	snaps, err := c.list(ctx)
	if err != nil {
		return manifest.Manifest{}, err
	}
	if id == "latest" {
		for i := len(snaps) - 1; i >= 0; i-- {
			if snaps[i].Tombstone == nil {
				return *snaps[i].Manifest, nil
			}
		}
		return manifest.Manifest{}, fmt.Errorf("no live snapshot of %s: %w", c.opts.Dataset, storage.ErrNotFound)
	}
	for _, s := range snaps {
		if s.ID == id {
			if s.Tombstone != nil {
				return *s.Manifest, fmt.Errorf("snapshot %s (%s): %w", id, s.Tombstone.Reason, ErrExpired)
			}
			return *s.Manifest, nil
		}
	}
	return manifest.Manifest{}, fmt.Errorf("snapshot %s of %s: %w", id, c.opts.Dataset, storage.ErrNotFound)
}

// SnapshotObject opens a metadata object (README.md, croissant.json,
// manifest.json) of a live snapshot.
func (c *Catalog) SnapshotObject(ctx context.Context, id, name string) (storage.Object, error) {
	return c.store.Open(ctx, c.SnapshotKey(id, name))
}

// ErrCorrupt is returned for a file whose size or sha256 no longer match the
// manifest.
var ErrCorrupt = errors.New("file does not match its manifest")

// OpenVerified opens a file of manifest m after checking its size and sha256
// against the manifest (sha256 is cached by size and modification time).
func (c *Catalog) OpenVerified(ctx context.Context, f manifest.File) (storage.Object, error) {
	obj, err := c.store.Open(ctx, c.opts.Dataset+"/"+f.Path)
	if err != nil {
		return nil, err
	}
	info := obj.Info()
	if info.Size != f.Size {
		obj.Close()
		return nil, fmt.Errorf("%s: size %d, manifest says %d: %w", f.Path, info.Size, f.Size, ErrCorrupt)
	}
	c.verifyMu.Lock()
	v, ok := c.verified[f.Path]
	c.verifyMu.Unlock()
	if !ok || v.size != info.Size || !v.modTime.Equal(info.ModTime) {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(obj, 0, info.Size)); err != nil {
			obj.Close()
			return nil, fmt.Errorf("hash %s: %w", f.Path, err)
		}
		v = verifiedSum{size: info.Size, modTime: info.ModTime, sha: hex.EncodeToString(h.Sum(nil))}
		c.verifyMu.Lock()
		c.verified[f.Path] = v
		c.verifyMu.Unlock()
	}
	if v.sha != f.SHA256 {
		obj.Close()
		return nil, fmt.Errorf("%s: sha256 %s, manifest says %s: %w", f.Path, v.sha, f.SHA256, ErrCorrupt)
	}
	return obj, nil
}

// newSnapshotID returns a sortable, path-safe id: UTC time to the millisecond
// plus random hex.
func newSnapshotID(t time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return t.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

// Snapshot object names inside <dataset>/snapshots/<id>/.
const (
	ManifestName  = "manifest.json"
	CardName      = "README.md"
	CroissantName = "croissant.json"
	tombstoneName = "expired.json"
)
