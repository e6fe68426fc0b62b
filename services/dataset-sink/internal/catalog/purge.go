package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// PurgeResult reports what a purge did.
type PurgeResult struct {
	// Recut lists the tags moved to a snapshot without erased rows, with the
	// table snapshot they left.
	Recut map[string]int64
	// Expired lists the snapshots (tags) expired, by id, with the reason.
	Expired map[string]string
	// SnapshotsExpired counts the table snapshots removed.
	SnapshotsExpired int
	// OrphansDeleted lists the files no snapshot referenced, deleted.
	OrphansDeleted []string
}

// Purge enforces the erasure deadline and retention. An erasure recorded at t
// must be out of every snapshot the table keeps by t+deadline; Purge acts on
// erasures due before now+margin (pass the check interval, so a periodic purge
// is never late):
//   - the main branch gets every pending erasure (a copy-on-write commit);
//   - a tag whose snapshot has not applied a due erasure, or still uses a
//     retiring key, is re-cut: a copy-on-write commit at its snapshot, and the
//     tag moves there;
//   - tags past their retention are dropped (the newest one is kept) with a
//     tombstone;
//   - snapshots of the main branch older than the history retention — and,
//     when an erasure is due, every one older than the commit it landed in —
//     are expired, and the data files only they referenced are deleted;
//   - files under the table location that no snapshot references and that are
//     older than the orphan age (commits that lost, crashes) are deleted.
func (c *Catalog) Purge(ctx context.Context, deadline, margin time.Duration) (PurgeResult, error) {
	res := PurgeResult{Recut: map[string]int64{}, Expired: map[string]string{}}
	if _, err := c.applier.Apply(ctx); err != nil {
		return res, fmt.Errorf("apply erasures: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now().UTC()
	entries := c.ledger.Entries()
	due := lake.Watermarks{}
	landed := map[int64]bool{} // the snapshots due erasures landed in
	for _, e := range entries {
		if e.AppendedAt.Add(deadline).After(now.Add(margin)) {
			continue
		}
		due.Raise(e.Topic, e.Partition, e.Offset)
		if e.LandedSnapshot != 0 {
			landed[e.LandedSnapshot] = true
		}
	}
	t, err := c.lake.Load(ctx)
	if err != nil {
		return res, err
	}
	tags, err := c.tags(t)
	if err != nil {
		return res, err
	}
	// Tags holding rows of due erasures or retiring keys: re-cut.
	for _, tg := range tags {
		st, err := lake.StateOfSnapshot(t, tg.snapshot)
		if err != nil {
			return res, err
		}
		retiring := false
		for _, k := range c.applier.Retiring {
			for _, have := range st.Keys {
				retiring = retiring || k == have
			}
		}
		key := fmt.Sprintf("%s@%d:%s", tg.name, tg.snapshot, due.Encode())
		if (st.Erasures.Covers(due) && !retiring) || c.checked[key] {
			continue
		}
		moved, ok, err := c.applier.Recut(ctx, tg.name)
		if err != nil {
			return res, fmt.Errorf("re-cut %s: %w", tg.name, err)
		}
		if !ok {
			c.checked[key] = true
			continue
		}
		res.Recut[tg.name] = tg.snapshot
		if t, err = c.lake.Load(ctx); err != nil {
			return res, err
		}
		if _, err := c.writeSidecars(ctx, t, tg.name, "", tg.ts, moved); err != nil {
			return res, err
		}
	}
	// Retention of tags (the newest live one is kept).
	for i, tg := range tags {
		if i == len(tags)-1 || tg.ts.Add(c.opts.Retention).After(now) {
			continue
		}
		if err := c.expireTag(ctx, tg.name, "retention", now); err != nil {
			return res, err
		}
		res.Expired[tg.name] = "retention"
	}
	// History of the main branch: snapshots older than the history retention,
	// and every one older than the commit a due erasure landed in (they hold
	// its rows). Snapshot times are the table's (wall clock), so the age is too.
	age := c.opts.History
	if t, err = c.lake.Load(ctx); err != nil {
		return res, err
	}
	for id := range landed {
		if s := t.SnapshotByID(id); s != nil {
			age = min(age, time.Since(time.UnixMilli(s.TimestampMs)))
		}
	}
	n, err := c.expireSnapshots(ctx, max(age, 0))
	if err != nil {
		return res, err
	}
	res.SnapshotsExpired = n
	deleted, err := c.deleteOrphans(ctx)
	res.OrphansDeleted = deleted
	return res, err
}

func (c *Catalog) expireTag(ctx context.Context, id, reason string, now time.Time) error {
	body, err := json.Marshal(manifest.Tombstone{ID: id, ExpiredAt: now, Reason: reason})
	if err != nil {
		return fmt.Errorf("encode tombstone: %w", err)
	}
	if err := c.store.Put(ctx, c.tombstoneKey(id), body); err != nil && !strings.Contains(err.Error(), "exists") {
		return fmt.Errorf("expire snapshot %s: %w", id, err)
	}
	if _, err := c.lake.CommitUpdates(ctx, "tag", func(ctx context.Context, a *lake.Attempt) ([]table.Requirement, []table.Update, error) {
		if refSnapshot(a.Base, id) < 0 {
			return nil, nil, nil
		}
		return nil, []table.Update{table.NewRemoveSnapshotRefUpdate(id)}, nil
	}); err != nil {
		return fmt.Errorf("drop tag %s: %w", id, err)
	}
	c.m.SnapshotsExpired.WithLabelValues(reason).Inc()
	c.log.Info("snapshot expired", zap.String("id", id), zap.String("reason", reason))
	return nil
}

// expireSnapshots removes the main branch's snapshots older than age that no
// tag references (the current one is always kept); the files only they
// referenced are deleted.
func (c *Catalog) expireSnapshots(ctx context.Context, age time.Duration) (int, error) {
	before := 0
	t, err := c.lake.Commit(ctx, "expire", func(ctx context.Context, a *lake.Attempt) (*table.Transaction, error) {
		before = len(a.Base.Metadata().Snapshots())
		oldest := a.Base.Metadata().Snapshots()
		stale := false
		cutoff := time.Now().Add(-age).UnixMilli()
		cur := a.Base.CurrentSnapshot()
		for _, s := range oldest {
			if s.TimestampMs < cutoff && (cur == nil || s.SnapshotID != cur.SnapshotID) {
				stale = true
				break
			}
		}
		if !stale {
			return nil, nil
		}
		tx := a.Base.NewTransaction()
		return tx, tx.ExpireSnapshots(table.WithOlderThan(age), table.WithRetainLast(1))
	})
	if err != nil {
		return 0, fmt.Errorf("expire snapshots: %w", err)
	}
	n := before - len(t.Metadata().Snapshots())
	if n > 0 {
		c.m.TableSnapshotsExpired.Add(float64(n))
		c.log.Info("table snapshots expired", zap.Int("snapshots", n), zap.Duration("older_than", age))
	}
	return max(n, 0), nil
}

// deleteOrphans deletes data and metadata files under the table location that
// no snapshot references and that are older than the orphan age, and the
// sidecars of snapshots no tag points to any more.
func (c *Catalog) deleteOrphans(ctx context.Context) ([]string, error) {
	t, err := c.lake.Load(ctx)
	if err != nil {
		return nil, err
	}
	var deleted []string
	for _, dir := range []string{"data", "metadata"} {
		r, err := t.DeleteOrphanFiles(ctx, table.WithLocation(c.lake.Location()+"/"+dir), table.WithFilesOlderThan(c.opts.OrphanAge))
		if err != nil {
			if strings.Contains(err.Error(), "no such file") {
				continue
			}
			return deleted, fmt.Errorf("delete orphan files under %s: %w", dir, err)
		}
		deleted = append(deleted, r.DeletedFiles...)
	}
	if len(deleted) > 0 {
		c.m.FilesDeleted.Add(float64(len(deleted)))
		c.log.Info("orphan files deleted", zap.Int("files", len(deleted)))
	}
	// Sidecars of table snapshots that tags left (re-cut).
	tags, err := c.tags(t)
	if err != nil {
		return deleted, err
	}
	live := map[string]int64{}
	for _, tg := range tags {
		live[tg.name] = tg.snapshot
	}
	objs, err := c.store.List(ctx, c.opts.Dataset+"/snapshots/")
	if err != nil {
		return deleted, err
	}
	for _, o := range objs {
		parts := strings.Split(strings.TrimPrefix(o.Key, c.opts.Dataset+"/snapshots/"), "/")
		if len(parts) != 3 {
			continue
		}
		snap, ok := live[parts[0]]
		if ok && fmt.Sprint(snap) != parts[1] && o.ModTime.Before(c.now().Add(-c.opts.OrphanAge)) {
			if err := c.store.Delete(ctx, o.Key); err != nil {
				return deleted, err
			}
		}
	}
	return deleted, nil
}
