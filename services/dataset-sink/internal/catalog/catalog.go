// Package catalog is the dataset's snapshots for ML teams: Iceberg tags on the
// dataset table, each with a manifest (its Parquet data files with sizes,
// sha256 and row counts), a dataset card and Croissant metadata stored beside
// the table; and the purge that enforces retention and the erasure deadline —
// tags holding erased rows are re-cut, old snapshots expired, orphan files
// removed, so the erased bytes leave storage.
package catalog

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go/table"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/erasure"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// ErrExpired is returned for a snapshot that has a tombstone.
var ErrExpired = errors.New("snapshot expired")

// ErrEmpty is returned when a snapshot is asked of a table without data.
var ErrEmpty = errors.New("the dataset has no data yet")

// Options configure a Catalog.
type Options struct {
	Dataset string
	// Topic is the events topic (the files' lineage).
	Topic string
	// Retention: a tag expires this long after it is taken (the newest kept).
	Retention time.Duration
	// History: snapshots of the main branch are kept this long for time travel
	// (shorter when an erasure is due).
	History time.Duration
	// OrphanAge: files not referenced by the table are deleted once this old
	// (younger ones may belong to a commit in flight).
	OrphanAge time.Duration
}

// Catalog takes, lists and purges the snapshots (tags) of one dataset table.
type Catalog struct {
	lake    *lake.Lake
	ledger  *ledger.Ledger
	applier *erasure.Applier
	store   storage.Storage
	opts    Options
	now     func() time.Time
	m       *Metrics
	log     *zap.Logger
	// Flush, when set, commits everything consumed so far before a snapshot.
	Flush func(ctx context.Context) error

	mu      sync.Mutex
	sums    map[string]string // sha256 of immutable data files, by relative path
	checked map[string]bool   // tag@snapshot:due watermark found clean

	verifyMu sync.Mutex
	verified map[string]verifiedSum
}

type verifiedSum struct {
	size    int64
	modTime time.Time
	sha     string
}

// New returns the catalog of a dataset table; store holds the table's files
// (its keys are <dataset>/<path relative to the table location>) and the
// snapshots' metadata.
func New(lk *lake.Lake, l *ledger.Ledger, a *erasure.Applier, store storage.Storage, opts Options, now func() time.Time, m *Metrics, log *zap.Logger) *Catalog {
	return &Catalog{lake: lk, ledger: l, applier: a, store: store, opts: opts, now: now, m: m, log: log,
		sums: map[string]string{}, checked: map[string]bool{}, verified: map[string]verifiedSum{}}
}

// Snapshot object names inside <dataset>/snapshots/<id>/<iceberg snapshot id>/.
const (
	ManifestName  = "manifest.json"
	CardName      = "README.md"
	CroissantName = "croissant.json"
	tombstoneName = "expired.json"
)

var idPattern = regexp.MustCompile(`^\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}$`)

// newSnapshotID returns a sortable, path-safe id (also the tag's name): UTC time
// to the millisecond plus random hex.
func newSnapshotID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

func (c *Catalog) sidecarKey(id string, snapshot int64, name string) string {
	return fmt.Sprintf("%s/snapshots/%s/%d/%s", c.opts.Dataset, id, snapshot, name)
}

func (c *Catalog) tombstoneKey(id string) string {
	return c.opts.Dataset + "/snapshots/" + id + "/" + tombstoneName
}

// Snapshot takes a snapshot now: everything consumed is committed (Flush),
// every erasure in the ledger is applied, and the table's current snapshot is
// tagged, with its manifest, dataset card and Croissant metadata.
func (c *Catalog) Snapshot(ctx context.Context) (manifest.Manifest, error) {
	if c.Flush != nil {
		if err := c.Flush(ctx); err != nil {
			return manifest.Manifest{}, err
		}
	}
	if _, err := c.applier.Apply(ctx); err != nil {
		return manifest.Manifest{}, fmt.Errorf("apply erasures: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, err := c.lake.Load(ctx)
	if err != nil {
		return manifest.Manifest{}, err
	}
	cur := t.CurrentSnapshot()
	if cur == nil {
		return manifest.Manifest{}, ErrEmpty
	}
	created := c.now().UTC()
	id := newSnapshotID(created)
	tags, err := c.tags(t)
	if err != nil {
		return manifest.Manifest{}, err
	}
	parent := ""
	if len(tags) > 0 {
		parent = tags[len(tags)-1].name
	}
	m, err := c.writeSidecars(ctx, t, id, parent, created, cur.SnapshotID)
	if err != nil {
		return manifest.Manifest{}, err
	}
	// The tag goes last: a snapshot exists once its tag does.
	retention := c.opts.Retention.Milliseconds()
	if _, err := c.lake.CommitUpdates(ctx, "tag", func(ctx context.Context, a *lake.Attempt) ([]table.Requirement, []table.Update, error) {
		return nil, []table.Update{table.NewSetSnapshotRefUpdate(id, cur.SnapshotID, table.TagRef, retention, -1, -1)}, nil
	}); err != nil {
		return manifest.Manifest{}, fmt.Errorf("tag snapshot %s: %w", id, err)
	}
	c.m.Snapshots.Inc()
	c.m.LastSnapshot.Set(float64(created.UnixMilli()) / 1000)
	c.log.Info("snapshot taken", zap.String("id", id), zap.Int64("iceberg_snapshot", cur.SnapshotID),
		zap.Int("files", m.Totals.Files), zap.Int64("rows", m.Totals.Rows))
	return m, nil
}

// writeSidecars renders and stores the manifest, card and Croissant of tag id
// at snapshot.
func (c *Catalog) writeSidecars(ctx context.Context, t *table.Table, id, parent string, created time.Time, snapshot int64) (manifest.Manifest, error) {
	st, err := lake.StateOfSnapshot(t, snapshot)
	if err != nil {
		return manifest.Manifest{}, err
	}
	m := manifest.Manifest{
		ID: id, Dataset: c.opts.Dataset, Parent: parent, CreatedAt: created, ExpiresAt: created.Add(c.opts.Retention),
		Format: "parquet", Compression: "zstd", Schema: tbl.Columns, Files: []manifest.File{}, PolicyVersions: []string{},
		Table: c.lake.CatalogName() + "." + c.lake.Name(), IcebergSnapshotID: snapshot,
	}
	for _, e := range c.ledger.Entries() {
		if e.Offset <= st.Erasures.Get(e.Topic, e.Partition) {
			m.ErasureLedgerPosition++
		}
	}
	tasks, err := t.Scan(table.WithSnapshotID(snapshot)).PlanFiles(ctx)
	if err != nil {
		return m, fmt.Errorf("plan files of snapshot %d: %w", snapshot, err)
	}
	sc := t.Schema()
	fid := func(name string) int {
		f, _ := sc.FindFieldByName(name)
		return f.ID
	}
	partID, offID, pvID := fid("kafka_partition"), fid("kafka_offset"), fid("policy_version")
	policies := map[string]struct{}{}
	for _, task := range tasks {
		df := task.File
		rel := c.lake.Rel(df.FilePath())
		if rel == "" {
			return m, fmt.Errorf("data file %s is outside the table location %s", df.FilePath(), c.lake.Location())
		}
		sum, err := c.fileSum(ctx, rel)
		if err != nil {
			return m, err
		}
		f := manifest.File{Path: rel, Size: df.FileSizeBytes(), SHA256: sum, Rows: df.Count(), Partition: -1}
		lo, hi := df.LowerBoundValues(), df.UpperBoundValues()
		if lp, hp := lo[partID], hi[partID]; len(lp) == 4 && len(hp) == 4 && string(lp) == string(hp) {
			f.Topic, f.Partition = c.opts.Topic, int(int32(binary.LittleEndian.Uint32(lp)))
		}
		if lo8, hi8 := lo[offID], hi[offID]; len(lo8) == 8 && len(hi8) == 8 {
			f.FirstOffset, f.LastOffset = int64(binary.LittleEndian.Uint64(lo8)), int64(binary.LittleEndian.Uint64(hi8))
		}
		if lv, hv := lo[pvID], hi[pvID]; len(lv) > 0 {
			policies[string(lv)] = struct{}{}
			policies[string(hv)] = struct{}{}
			if string(hv) > m.PolicyVersion {
				m.PolicyVersion = string(hv)
			}
		}
		m.Files = append(m.Files, f)
		m.Totals.Files++
		m.Totals.Rows += f.Rows
		m.Totals.Bytes += f.Size
	}
	for p := range policies {
		m.PolicyVersions = append(m.PolicyVersions, p)
	}
	sort.Strings(m.PolicyVersions)
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	cr, err := croissant(&m)
	if err != nil {
		return m, fmt.Errorf("render croissant: %w", err)
	}
	body, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("encode manifest: %w", err)
	}
	for _, o := range []struct {
		name string
		data []byte
	}{{CardName, datasetCard(&m)}, {CroissantName, cr}, {ManifestName, append(body, '\n')}} {
		if err := c.store.Put(ctx, c.sidecarKey(id, snapshot, o.name), o.data); err != nil && !errors.Is(err, storage.ErrExists) {
			return m, fmt.Errorf("write snapshot %s: %w", id, err)
		}
	}
	return m, nil
}

func (c *Catalog) fileSum(ctx context.Context, rel string) (string, error) {
	if s, ok := c.sums[rel]; ok {
		return s, nil
	}
	obj, err := c.store.Open(ctx, c.opts.Dataset+"/"+rel)
	if err != nil {
		return "", err
	}
	defer obj.Close()
	h := sha256.New()
	if _, err := io.Copy(h, obj); err != nil {
		return "", fmt.Errorf("hash %s: %w", rel, err)
	}
	s := hex.EncodeToString(h.Sum(nil))
	c.sums[rel] = s
	return s, nil
}

// tag is a snapshot tag of the table.
type tag struct {
	name     string
	snapshot int64
	ts       time.Time // creation, from the name
}

// tags lists the table's snapshot tags, oldest first.
func (c *Catalog) tags(t *table.Table) ([]tag, error) {
	var out []tag
	for name, ref := range t.Metadata().Refs() {
		if ref.SnapshotRefType != table.TagRef || !idPattern.MatchString(name) {
			continue
		}
		ts, err := time.Parse("20060102T150405.000Z", name[:strings.IndexByte(name, '-')])
		if err != nil {
			continue
		}
		out = append(out, tag{name: name, snapshot: ref.SnapshotID, ts: ts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
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

// manifestOf loads (or, after a re-cut by another instance, renders) the
// manifest of a live tag.
func (c *Catalog) manifestOf(ctx context.Context, t *table.Table, tg tag, parent string) (manifest.Manifest, error) {
	var m manifest.Manifest
	err := c.readJSON(ctx, c.sidecarKey(tg.name, tg.snapshot, ManifestName), &m)
	if errors.Is(err, storage.ErrNotFound) {
		c.mu.Lock()
		m, err = c.writeSidecars(ctx, t, tg.name, parent, tg.ts, tg.snapshot)
		c.mu.Unlock()
	}
	return m, err
}

// expiredSnapshots are the tombstoned snapshots: their last manifest and why.
func (c *Catalog) expiredSnapshots(ctx context.Context) (map[string]*manifest.Tombstone, map[string]manifest.Manifest, error) {
	objs, err := c.store.List(ctx, c.opts.Dataset+"/snapshots/")
	if err != nil {
		return nil, nil, err
	}
	tombs := map[string]*manifest.Tombstone{}
	last := map[string]manifest.Manifest{}
	lastSnap := map[string]string{}
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, c.opts.Dataset+"/snapshots/")
		parts := strings.Split(rest, "/")
		switch {
		case len(parts) == 2 && parts[1] == tombstoneName:
			var ts manifest.Tombstone
			if err := c.readJSON(ctx, o.Key, &ts); err != nil {
				return nil, nil, err
			}
			tombs[parts[0]] = &ts
		case len(parts) == 3 && parts[2] == ManifestName:
			if parts[1] > lastSnap[parts[0]] || lastSnap[parts[0]] == "" {
				lastSnap[parts[0]] = o.Key
			}
		}
	}
	for id := range tombs {
		if key := lastSnap[id]; key != "" {
			var m manifest.Manifest
			if err := c.readJSON(ctx, key, &m); err == nil {
				last[id] = m
			}
		}
	}
	return tombs, last, nil
}

// Snapshots lists the snapshots, oldest first, expired ones included.
func (c *Catalog) Snapshots(ctx context.Context) ([]manifest.SnapshotInfo, error) {
	t, err := c.lake.Load(ctx)
	if err != nil {
		return nil, err
	}
	tags, err := c.tags(t)
	if err != nil {
		return nil, err
	}
	tombs, last, err := c.expiredSnapshots(ctx)
	if err != nil {
		return nil, err
	}
	var out []manifest.SnapshotInfo
	parent := ""
	for _, tg := range tags {
		m, err := c.manifestOf(ctx, t, tg, parent)
		if err != nil {
			return nil, err
		}
		out = append(out, m.Info())
		parent = tg.name
	}
	for id, ts := range tombs {
		m, ok := last[id]
		if !ok {
			m = manifest.Manifest{ID: id, Dataset: c.opts.Dataset}
		}
		info := m.Info()
		info.Expired = ts
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Manifest returns snapshot id ("latest": the newest live one). An expired
// snapshot returns its manifest with ErrExpired.
func (c *Catalog) Manifest(ctx context.Context, id string) (manifest.Manifest, error) {
	t, err := c.lake.Load(ctx)
	if err != nil {
		return manifest.Manifest{}, err
	}
	tags, err := c.tags(t)
	if err != nil {
		return manifest.Manifest{}, err
	}
	if id == "latest" {
		if len(tags) == 0 {
			return manifest.Manifest{}, fmt.Errorf("no live snapshot of %s: %w", c.opts.Dataset, storage.ErrNotFound)
		}
		id = tags[len(tags)-1].name
	}
	parent := ""
	for _, tg := range tags {
		if tg.name == id {
			return c.manifestOf(ctx, t, tg, parent)
		}
		parent = tg.name
	}
	tombs, last, err := c.expiredSnapshots(ctx)
	if err != nil {
		return manifest.Manifest{}, err
	}
	if ts, ok := tombs[id]; ok {
		return last[id], fmt.Errorf("snapshot %s (%s): %w", id, ts.Reason, ErrExpired)
	}
	return manifest.Manifest{}, fmt.Errorf("snapshot %s of %s: %w", id, c.opts.Dataset, storage.ErrNotFound)
}

// SnapshotObject opens a metadata object (README.md, croissant.json,
// manifest.json) of manifest m.
func (c *Catalog) SnapshotObject(ctx context.Context, m manifest.Manifest, name string) (storage.Object, error) {
	return c.store.Open(ctx, c.sidecarKey(m.ID, m.IcebergSnapshotID, name))
}

// ErrCorrupt is returned for a file whose size or sha256 no longer match the
// manifest.
var ErrCorrupt = errors.New("file does not match its manifest")

// OpenVerified opens a data file of a manifest after checking its size and
// sha256 against the manifest (sha256 is cached by size and modification time).
func (c *Catalog) OpenVerified(ctx context.Context, f manifest.File) (storage.Object, error) {
	if path.Clean("/" + f.Path)[1:] != f.Path || !strings.HasPrefix(f.Path, "data/") {
		return nil, fmt.Errorf("%s: not a data file path: %w", f.Path, storage.ErrNotFound)
	}
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

// refSnapshot is the snapshot a ref points to (-1: no such ref).
func refSnapshot(t *table.Table, name string) int64 {
	for n, r := range t.Metadata().Refs() {
		if n == name {
			return r.SnapshotID
		}
	}
	return -1
}
