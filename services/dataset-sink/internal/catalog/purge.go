package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/services/dataset-sink/manifest"
)

// PurgeResult reports what a purge did.
type PurgeResult struct {
	// Snapshot is set when the purge took a snapshot to apply due erasures.
	Snapshot *manifest.Manifest
	// Expired lists the snapshots expired, by id, with the reason.
	Expired map[string]string
	// Deleted lists the data files deleted.
	Deleted []string
}

// Purge enforces the erasure deadline and retention, then deletes unreferenced
// files. An erasure appended at t must be out of every live snapshot by
// t+deadline; Purge acts on erasures due before now+margin (pass the check
// interval, so a periodic purge is never late):
//   - if the newest snapshot has not applied a due erasure, a new snapshot is
//     taken (files holding covered rows are rewritten copy-on-write);
//   - an older live snapshot that has not applied a due erasure and holds a file
//     the new snapshot no longer has (the file was rewritten because it held rows
//     of an erasure it has not applied) is expired with a tombstone;
//
// snapshots past their expiry are expired (the newest live one is kept); then data
// files that are neither the current version of their offset range nor in a live
// snapshot are deleted.
func (c *Catalog) Purge(ctx context.Context, deadline, margin time.Duration) (PurgeResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := PurgeResult{Expired: map[string]string{}}
	now := c.now().UTC()
	pos := c.ledger.Position()
	entries := c.ledger.Entries(0, pos)
	// dueFrom(p) reports whether an entry after position p is due.
	dueAfter := func(p int64) bool {
		for _, e := range entries[min(p, int64(len(entries))):] {
			if !e.AppendedAt.Add(deadline).After(now.Add(margin)) {
				return true
			}
		}
		return false
	}
	snaps, err := c.list(ctx)
	if err != nil {
		return res, err
	}
	live := liveSnapshots(snaps)
	if len(live) > 0 && dueAfter(live[len(live)-1].Manifest.ErasureLedgerPosition) || len(live) == 0 && len(snaps) > 0 && dueAfter(0) {
		m, err := c.snapshot(ctx)
		if err != nil {
			return res, fmt.Errorf("purge snapshot: %w", err)
		}
		res.Snapshot = &m
		if snaps, err = c.list(ctx); err != nil {
			return res, err
		}
		live = liveSnapshots(snaps)
	}
	if len(live) > 0 {
		newest := live[len(live)-1].Manifest
		inNewest := map[string]bool{}
		for _, f := range newest.Files {
			inNewest[f.Path] = true
		}
		for _, s := range live[:len(live)-1] {
			m := s.Manifest
			reason := ""
			if m.ErasureLedgerPosition < newest.ErasureLedgerPosition && dueAfter(m.ErasureLedgerPosition) {
				for _, f := range m.Files {
					if !inNewest[f.Path] {
						reason = "erasure"
						break
					}
				}
			}
			if reason == "" && !m.ExpiresAt.After(now) {
				reason = "retention"
			}
			if reason == "" {
				continue
			}
			if err := c.expire(ctx, m.ID, reason, now); err != nil {
				return res, err
			}
			res.Expired[m.ID] = reason
		}
	}
	deleted, err := c.collect(ctx)
	res.Deleted = deleted
	return res, err
}

func liveSnapshots(snaps []snapshotEntry) []snapshotEntry {
	var out []snapshotEntry
	for _, s := range snaps {
		if s.Tombstone == nil {
			out = append(out, s)
		}
	}
	return out
}

func (c *Catalog) expire(ctx context.Context, id, reason string, now time.Time) error {
	body, err := json.Marshal(manifest.Tombstone{ID: id, ExpiredAt: now, Reason: reason})
	if err != nil {
		return fmt.Errorf("encode tombstone: %w", err)
	}
	if err := c.store.Put(ctx, c.SnapshotKey(id, tombstoneName), body); err != nil {
		return fmt.Errorf("expire snapshot %s: %w", id, err)
	}
	c.m.SnapshotsExpired.WithLabelValues(reason).Inc()
	c.log.Info("snapshot expired", zap.String("id", id), zap.String("reason", reason))
	return nil
}

// collect deletes data files that are superseded by a rewrite and referenced by
// no live snapshot.
func (c *Catalog) collect(ctx context.Context) ([]string, error) {
	snaps, err := c.list(ctx)
	if err != nil {
		return nil, err
	}
	referenced := map[string]bool{}
	for _, s := range liveSnapshots(snaps) {
		for _, f := range s.Manifest.Files {
			referenced[f.Path] = true
		}
	}
	current, all, err := c.currentFiles(ctx)
	if err != nil {
		return nil, err
	}
	isCurrent := map[string]bool{}
	for _, f := range current {
		isCurrent[f.Info.Key] = true
	}
	var deleted []string
	for _, f := range all {
		if isCurrent[f.Info.Key] || referenced[f.Info.Key] {
			continue
		}
		if err := c.store.Delete(ctx, c.opts.Dataset+"/"+f.Info.Key); err != nil {
			return deleted, err
		}
		delete(c.clean, f.Info.Key)
		delete(c.facts, f.Info.Key)
		delete(c.sums, f.Info.Key)
		c.m.FilesDeleted.Inc()
		deleted = append(deleted, f.Info.Key)
	}
	return deleted, nil
}
