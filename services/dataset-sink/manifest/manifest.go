// Package manifest holds the dataset sink's contract with its readers: the
// snapshot manifest, its files, the dataset's columns and the listings of the
// HTTP API. It depends on the standard library only, so that a program that
// pulls snapshots (package client) links nothing of the server.
package manifest

import "time"

// Manifest is a snapshot: an Iceberg tag of the dataset table; its file list is
// the complete dataset at that tag (the Parquet data files of the tag's table
// snapshot, paths relative to the table location). Stored as
// <dataset>/snapshots/<id>/<iceberg snapshot id>/manifest.json next to README.md
// (dataset card) and croissant.json; an expired snapshot gets an expired.json
// tombstone, its tag is dropped and its files may be deleted.
type Manifest struct {
	ID          string    `json:"id"`
	Dataset     string    `json:"dataset"`
	Parent      string    `json:"parent,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	Format      string    `json:"format"`
	Compression string    `json:"compression"`
	Schema      []Column  `json:"schema"`
	// Files are relative to the dataset directory (and to a pulled snapshot).
	Files  []File `json:"files"`
	Totals Totals `json:"totals"`
	// PolicyVersion is the consent policy version of the newest rows;
	// PolicyVersions lists every version found in the rows.
	PolicyVersion  string   `json:"policy_version"`
	PolicyVersions []string `json:"policy_versions"`
	// ErasureLedgerPosition is the number of erasure-ledger entries applied:
	// no row they cover is in any file.
	ErasureLedgerPosition int64 `json:"erasure_ledger_position"`
	// Table is the Iceberg table (catalog.namespace.table) and
	// IcebergSnapshotID the table snapshot this snapshot's tag points to; a
	// re-cut for an erasure moves the tag to a new table snapshot.
	Table             string `json:"table,omitempty"`
	IcebergSnapshotID int64  `json:"iceberg_snapshot_id,omitempty"`
}

// File is one Parquet file of a snapshot.
type File struct {
	Path        string `json:"path"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Rows        int64  `json:"rows"`
	Topic       string `json:"topic"`
	Partition   int    `json:"partition"`
	FirstOffset int64  `json:"first_offset"`
	LastOffset  int64  `json:"last_offset"`
}

// Totals sums a snapshot's files.
type Totals struct {
	Files int   `json:"files"`
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
}

// Tombstone marks an expired snapshot (expired.json).
type Tombstone struct {
	ID        string    `json:"id"`
	ExpiredAt time.Time `json:"expired_at"`
	// Reason is retention or erasure (purged within the erasure deadline).
	Reason string `json:"reason"`
}

// SnapshotInfo summarises a snapshot for listings.
type SnapshotInfo struct {
	ID                    string     `json:"id"`
	Parent                string     `json:"parent,omitempty"`
	CreatedAt             time.Time  `json:"created_at"`
	ExpiresAt             time.Time  `json:"expires_at"`
	Totals                Totals     `json:"totals"`
	PolicyVersion         string     `json:"policy_version"`
	ErasureLedgerPosition int64      `json:"erasure_ledger_position"`
	Expired               *Tombstone `json:"expired,omitempty"`
}

// Info summarises m.
func (m *Manifest) Info() SnapshotInfo {
	return SnapshotInfo{ID: m.ID, Parent: m.Parent, CreatedAt: m.CreatedAt, ExpiresAt: m.ExpiresAt,
		Totals: m.Totals, PolicyVersion: m.PolicyVersion, ErasureLedgerPosition: m.ErasureLedgerPosition}
}

// File returns the manifest entry for path.
func (m *Manifest) File(path string) (File, bool) {
	for _, f := range m.Files {
		if f.Path == path {
			return f, true
		}
	}
	return File{}, false
}

// Column describes one dataset column.
type Column struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Nullable    bool   `json:"nullable"`
	Description string `json:"description"`
	// Fields are the fields of a list<struct<...>> column's elements.
	Fields []Column `json:"fields,omitempty"`
}

// DatasetInfo describes a dataset in GET /v1/datasets.
type DatasetInfo struct {
	Name      string        `json:"name"`
	Latest    *SnapshotInfo `json:"latest,omitempty"`
	Snapshots int           `json:"snapshots"`
}
