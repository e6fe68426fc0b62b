// Package erasure applies the erasure ledger (and the retirement of pseudonym
// keys) to the dataset's Iceberg table: copy-on-write commits that rewrite
// exactly the data files holding covered rows, on the main branch (Apply) or on
// the snapshot of a tag (Recut, for the purge deadline).
//
// Iceberg's own Delete cannot express the coverage rule (consent versions are
// compared per Kafka partition of consent.changes) and, without column bounds
// for pseudonyms, would rewrite every data file. So the applier scans the
// pseudonym and version columns of every file, decides row by row with
// ledger.Matcher, and rewrites only the files that hold a covered row.
package erasure

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/ledger"
	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// Metrics are the applier's series.
type Metrics struct {
	Commits      *prometheus.CounterVec
	RowsRemoved  *prometheus.CounterVec
	FilesRewrite *prometheus.CounterVec
	Seconds      *prometheus.HistogramVec
	Pending      prometheus.Gauge
}

// NewMetrics returns the applier's metrics, registered with reg unless nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Commits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_erasure_commits_total",
			Help: "Copy-on-write commits that removed covered rows, by target (main, tag)."}, []string{"target"}),
		RowsRemoved: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_erased_rows_total",
			Help: "Rows removed from the table by erasures and key retirement, by target (main, tag)."}, []string{"target"}),
		FilesRewrite: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dataset_sink_files_rewritten_total",
			Help: "Data files rewritten copy-on-write to remove covered rows, by target (main, tag)."}, []string{"target"}),
		Seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dataset_sink_erasure_apply_seconds",
			Help: "One application of pending erasures: scan, rewrite and commit.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"target"}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dataset_sink_erasures_pending",
			Help: "Ledger entries the table's current snapshot has not applied yet."}),
	}
	if reg != nil {
		reg.MustRegister(m.Commits, m.RowsRemoved, m.FilesRewrite, m.Seconds, m.Pending)
	}
	return m
}

// Applier applies the ledger to the table.
type Applier struct {
	Lake   *lake.Lake
	Ledger *ledger.Ledger
	// Retiring are key ids being retired: rows using them are removed.
	Retiring []string
	Now      func() time.Time
	M        *Metrics
	Log      *zap.Logger

	mu sync.Mutex
}

// Result reports one application.
type Result struct {
	// Snapshot is the snapshot the pending entries landed in (0: nothing was
	// pending).
	Snapshot     int64
	Entries      int
	RowsRemoved  int64
	FilesRewrite int
}

// covered reports, for the rows of a record batch, whether they must go.
func (a *Applier) covered(rec arrow.RecordBatch) func(i int) bool {
	c := tbl.ColsOf(rec)
	purpose, subject, tenant, session := c.String("purpose"), c.String("subject"), c.String("tenant"), c.String("session")
	cv, tcv := c.String("consent_version"), c.String("tenant_consent_version")
	retiring := a.Retiring
	return func(i int) bool {
		if len(retiring) > 0 {
			for _, p := range []string{subject(i), tenant(i), session(i)} {
				if k, _, ok := strings.Cut(p, ":"); ok && slices.Contains(retiring, k) {
					return true
				}
			}
		}
		r := tbl.Row{Purpose: purpose(i), Subject: subject(i), Tenant: tenant(i), ConsentVersion: cv(i), TenantConsentVersion: tcv(i)}
		return a.Ledger.Covered(&r)
	}
}

var scanColumns = []string{"purpose", "subject", "tenant", "session", "consent_version", "tenant_consent_version"}

// rewrite scans snapshot id of t and rewrites the files holding covered rows:
// the files to replace and their replacements.
func (a *Applier) rewrite(ctx context.Context, t *table.Table, id int64) (old, repl []iceberg.DataFile, removed int64, err error) {
	tasks, err := t.Scan(table.WithSnapshotID(id)).PlanFiles(ctx)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("plan files: %w", err)
	}
	probe := t.Scan(table.WithSnapshotID(id), table.WithSelectedFields(scanColumns...))
	var hit []table.FileScanTask
	for _, task := range tasks {
		_, recs, err := probe.ReadTasks(ctx, []table.FileScanTask{task})
		if err != nil {
			return nil, nil, 0, fmt.Errorf("read %s: %w", task.File.FilePath(), err)
		}
		found := false
		for rec, err := range recs {
			if err != nil {
				return nil, nil, 0, fmt.Errorf("read %s: %w", task.File.FilePath(), err)
			}
			if !found {
				cov := a.covered(rec)
				for i := range int(rec.NumRows()) {
					if cov(i) {
						found = true
						break
					}
				}
			}
			rec.Release()
		}
		if found {
			hit = append(hit, task)
		}
	}
	if len(hit) == 0 {
		return nil, nil, 0, nil
	}
	full := t.Scan(table.WithSnapshotID(id))
	sc, err := table.SchemaToArrowSchema(t.Schema(), nil, true, false)
	if err != nil {
		return nil, nil, 0, err
	}
	fs, err := t.FS(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	cleanup := func() {
		for _, df := range repl {
			_ = fs.Remove(df.FilePath())
		}
	}
	for _, task := range hit {
		_, recs, err := full.ReadTasks(ctx, []table.FileScanTask{task})
		if err != nil {
			cleanup()
			return nil, nil, 0, fmt.Errorf("read %s: %w", task.File.FilePath(), err)
		}
		var kept []arrow.RecordBatch
		for rec, err := range recs {
			if err != nil {
				cleanup()
				return nil, nil, 0, fmt.Errorf("read %s: %w", task.File.FilePath(), err)
			}
			cov := a.covered(rec)
			out, dropped, err := tbl.Filter(ctx, rec, func(i int) bool { return !cov(i) })
			rec.Release()
			if err != nil {
				cleanup()
				return nil, nil, 0, err
			}
			removed += int64(dropped)
			if out.NumRows() == 0 {
				out.Release()
				continue
			}
			kept = append(kept, out)
		}
		old = append(old, task.File)
		if len(kept) == 0 {
			continue // every row of the file goes: delete it, add nothing
		}
		seq := func(yield func(arrow.RecordBatch, error) bool) {
			for i, rec := range kept {
				if !yield(rec, nil) {
					for _, r := range kept[i+1:] {
						r.Release()
					}
					return
				}
			}
		}
		for df, err := range table.WriteRecords(ctx, t, sc, seq, table.WithMaxWriteWorkers(1)) {
			if err != nil {
				cleanup()
				return nil, nil, 0, fmt.Errorf("rewrite %s: %w", task.File.FilePath(), err)
			}
			repl = append(repl, df)
		}
	}
	return old, repl, removed, nil
}

// Apply applies every ledger entry the main branch has not applied, and
// retires keys, in one copy-on-write commit (redone on the reloaded table when
// another writer commits first), and records in the ledger the snapshot the
// entries landed in.
func (a *Applier) Apply(ctx context.Context) (Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := a.Now()
	if err := a.Ledger.Refresh(ctx); err != nil {
		return Result{}, err
	}
	var res Result
	var pending []ledger.Entry
	var repl []iceberg.DataFile
	t, err := a.Lake.Commit(ctx, "erasure", func(ctx context.Context, at *lake.Attempt) (*table.Transaction, error) {
		cleanupFiles(ctx, at.Base, repl)
		repl = nil
		st := at.State
		if !a.Ledger.Watermarks().Covers(st.Erasures) {
			if err := a.Ledger.Refresh(ctx); err != nil {
				return nil, err
			}
		}
		pending = a.Ledger.Pending(st.Erasures)
		retire := retiringIn(st, a.Retiring)
		a.M.Pending.Set(float64(len(pending)))
		cur := at.Base.CurrentSnapshot()
		if len(pending) == 0 && len(retire) == 0 || cur == nil {
			return nil, nil
		}
		next := st.Clone()
		next.Erasures.Merge(a.Ledger.Watermarks())
		for _, k := range retire {
			next.RemoveKey(k)
		}
		old, nw, removed, err := a.rewrite(ctx, at.Base, cur.SnapshotID)
		if err != nil {
			return nil, err
		}
		repl = nw
		res = Result{Entries: len(pending), RowsRemoved: removed, FilesRewrite: len(old)}
		tx := at.Base.NewTransaction()
		if len(old) == 0 {
			// No row was covered: record the progress without a new snapshot.
			return tx, tx.SetProperties(iceberg.Properties{lake.PropErasures: lake.ErasuresProperty(cur.SnapshotID, next.Erasures, next.Keys)})
		}
		return tx, tx.ReplaceDataFilesWithDataFiles(ctx, old, nw, at.Props(next, nil))
	})
	if err != nil {
		return res, err
	}
	if cur := t.CurrentSnapshot(); cur != nil && len(pending) > 0 {
		res.Snapshot = cur.SnapshotID
		if err := a.Ledger.Landed(ctx, pending, cur.SnapshotID, a.Now()); err != nil {
			return res, err
		}
	}
	a.M.Pending.Set(0)
	if res.FilesRewrite > 0 {
		a.M.Commits.WithLabelValues("main").Inc()
		a.M.RowsRemoved.WithLabelValues("main").Add(float64(res.RowsRemoved))
		a.M.FilesRewrite.WithLabelValues("main").Add(float64(res.FilesRewrite))
	}
	if res.Entries > 0 {
		a.M.Seconds.WithLabelValues("main").Observe(a.Now().Sub(start).Seconds())
		a.Log.Info("erasures applied", zap.Int("entries", res.Entries), zap.Int64("rows_removed", res.RowsRemoved),
			zap.Int("files_rewritten", res.FilesRewrite), zap.Int64("snapshot", res.Snapshot))
	}
	return res, nil
}

func retiringIn(st lake.State, retiring []string) []string {
	var out []string
	for _, k := range retiring {
		if slices.Contains(st.Keys, k) {
			out = append(out, k)
		}
	}
	return out
}

func cleanupFiles(ctx context.Context, t *table.Table, dfs []iceberg.DataFile) {
	if len(dfs) == 0 {
		return
	}
	fs, err := t.FS(ctx)
	if err != nil {
		return
	}
	for _, df := range dfs {
		_ = fs.Remove(df.FilePath())
	}
}

// Recut makes tag point to a snapshot without the rows the ledger covers (and
// without rows under retiring keys): a copy-on-write commit on a temporary
// branch at the tag's snapshot, then the tag moves there and the branch goes.
// It returns the tag's snapshot id (unchanged when nothing was covered) and
// whether it moved. The snapshot the tag left is no longer referenced by it;
// expiry removes it and its files once nothing else references them.
func (a *Applier) Recut(ctx context.Context, tag string) (int64, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := a.Now()
	if err := a.Ledger.Refresh(ctx); err != nil {
		return 0, false, err
	}
	t, err := a.Lake.Load(ctx)
	if err != nil {
		return 0, false, err
	}
	ref, ok := refOf(t, tag)
	if !ok {
		return 0, false, fmt.Errorf("tag %s: not found", tag)
	}
	old, nw, removed, err := a.rewrite(ctx, t, ref.SnapshotID)
	if err != nil {
		return 0, false, err
	}
	if len(old) == 0 {
		return ref.SnapshotID, false, nil
	}
	st, err := lake.StateOfSnapshot(t, ref.SnapshotID)
	if err != nil {
		cleanupFiles(ctx, t, nw)
		return 0, false, err
	}
	next := st.Clone()
	next.Erasures.Merge(a.Ledger.Watermarks())
	for _, k := range a.Retiring {
		next.RemoveKey(k)
	}
	branch := "recut-" + tag
	// 1. a branch at the tag's snapshot.
	if _, err := a.Lake.CommitUpdates(ctx, "recut", func(ctx context.Context, at *lake.Attempt) ([]table.Requirement, []table.Update, error) {
		cur, ok := refOf(at.Base, tag)
		if !ok || cur.SnapshotID != ref.SnapshotID {
			return nil, nil, fmt.Errorf("tag %s moved while it was re-cut", tag)
		}
		return nil, []table.Update{table.NewSetSnapshotRefUpdate(branch, ref.SnapshotID, table.BranchRef, -1, -1, -1)}, nil
	}); err != nil {
		cleanupFiles(ctx, t, nw)
		return 0, false, err
	}
	// 2. the copy-on-write commit on the branch.
	var moved int64
	_, err = a.Lake.Commit(ctx, "recut", func(ctx context.Context, at *lake.Attempt) (*table.Transaction, error) {
		tx, err := at.Base.NewTransactionOnBranchWithError(branch)
		if err != nil {
			return nil, err
		}
		return tx, tx.ReplaceDataFilesWithDataFiles(ctx, old, nw, at.Props(next, map[string]string{"consentflow.recut-of": tag}))
	})
	if err == nil {
		// 3. the tag to the branch's head, the branch removed.
		_, err = a.Lake.CommitUpdates(ctx, "recut", func(ctx context.Context, at *lake.Attempt) ([]table.Requirement, []table.Update, error) {
			b, ok := refOf(at.Base, branch)
			if !ok {
				return nil, nil, fmt.Errorf("branch %s vanished", branch)
			}
			moved = b.SnapshotID
			maxAge := int64(-1)
			if cur, ok := refOf(at.Base, tag); ok && cur.MaxRefAgeMs != nil {
				maxAge = *cur.MaxRefAgeMs
			}
			return []table.Requirement{table.AssertRefSnapshotID(tag, &ref.SnapshotID)}, []table.Update{
				table.NewSetSnapshotRefUpdate(tag, b.SnapshotID, table.TagRef, maxAge, -1, -1),
				table.NewRemoveSnapshotRefUpdate(branch),
			}, nil
		})
	}
	if err != nil {
		a.dropBranch(ctx, branch)
		return 0, false, err
	}
	a.M.Commits.WithLabelValues("tag").Inc()
	a.M.RowsRemoved.WithLabelValues("tag").Add(float64(removed))
	a.M.FilesRewrite.WithLabelValues("tag").Add(float64(len(old)))
	a.M.Seconds.WithLabelValues("tag").Observe(a.Now().Sub(start).Seconds())
	a.Log.Info("snapshot tag re-cut without erased rows", zap.String("tag", tag), zap.Int64("from", ref.SnapshotID),
		zap.Int64("to", moved), zap.Int64("rows_removed", removed), zap.Int("files_rewritten", len(old)))
	return moved, true, nil
}

func (a *Applier) dropBranch(ctx context.Context, branch string) {
	_, _ = a.Lake.CommitUpdates(ctx, "recut", func(ctx context.Context, at *lake.Attempt) ([]table.Requirement, []table.Update, error) {
		if _, ok := refOf(at.Base, branch); !ok {
			return nil, nil, nil
		}
		return nil, []table.Update{table.NewRemoveSnapshotRefUpdate(branch)}, nil
	})
}

func refOf(t *table.Table, name string) (table.SnapshotRef, bool) {
	for n, r := range t.Metadata().Refs() {
		if n == name {
			return r, true
		}
	}
	return table.SnapshotRef{}, false
}

// CompactResult reports a compaction.
type CompactResult struct {
	FilesBefore, FilesAfter int
	Rows                    int64
}

// Compact rewrites, per partition (day), the data files smaller than small
// into one file when there are at least minFiles of them: a streaming sink
// commits small files, and every copy-on-write erasure reads every file, so
// fewer files keep erasures cheap. The commit replaces the files (rows
// unchanged, the sink's state carried forward) and is redone on the reloaded
// table when another writer got in first.
func (a *Applier) Compact(ctx context.Context, minFiles int, small int64) (CompactResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var res CompactResult
	var written []iceberg.DataFile
	var writtenFor string
	_, err := a.Lake.Commit(ctx, "compaction", func(ctx context.Context, at *lake.Attempt) (*table.Transaction, error) {
		cur := at.Base.CurrentSnapshot()
		if cur == nil {
			return nil, nil
		}
		tasks, err := at.Base.Scan(table.WithSnapshotID(cur.SnapshotID)).PlanFiles(ctx)
		if err != nil {
			return nil, err
		}
		groups := map[string][]table.FileScanTask{}
		for _, task := range tasks {
			if task.File.FileSizeBytes() < small {
				k := fmt.Sprint(task.File.Partition())
				groups[k] = append(groups[k], task)
			}
		}
		var old []table.FileScanTask
		for _, g := range groups {
			if len(g) >= minFiles {
				old = append(old, g...)
			}
		}
		if len(old) == 0 {
			cleanupFiles(ctx, at.Base, written)
			written = nil
			return nil, nil
		}
		var key strings.Builder
		for _, task := range old {
			key.WriteString(task.File.FilePath())
		}
		if key.String() != writtenFor {
			cleanupFiles(ctx, at.Base, written)
			written = nil
			sc, err := table.SchemaToArrowSchema(at.Base.Schema(), nil, true, false)
			if err != nil {
				return nil, err
			}
			_, recs, err := at.Base.Scan(table.WithSnapshotID(cur.SnapshotID)).ReadTasks(ctx, old)
			if err != nil {
				return nil, err
			}
			for df, err := range table.WriteRecords(ctx, at.Base, sc, recs, table.WithMaxWriteWorkers(1)) {
				if err != nil {
					cleanupFiles(ctx, at.Base, written)
					written = nil
					return nil, fmt.Errorf("compact: %w", err)
				}
				written = append(written, df)
			}
			writtenFor = key.String()
		}
		res = CompactResult{FilesBefore: len(old), FilesAfter: len(written)}
		oldFiles := make([]iceberg.DataFile, len(old))
		for i, task := range old {
			oldFiles[i] = task.File
			res.Rows += task.File.Count()
		}
		tx := at.Base.NewTransaction()
		return tx, tx.ReplaceDataFilesWithDataFiles(ctx, oldFiles, written, at.Props(at.State, nil))
	})
	if err != nil {
		if len(written) > 0 {
			if t, lerr := a.Lake.Load(ctx); lerr == nil {
				cleanupFiles(ctx, t, written)
			}
		}
		return CompactResult{}, err
	}
	if res.FilesBefore > 0 {
		a.Log.Info("small data files compacted", zap.Int("files_before", res.FilesBefore), zap.Int("files_after", res.FilesAfter), zap.Int64("rows", res.Rows))
	}
	return res, nil
}
