// Package ledger is the dataset sink's erasure ledger and the rule that decides
// which rows its erasures cover (Matcher).
//
// The ledger lives with the dataset: a table of the dataset's SQL catalog
// database (sqlite or PostgreSQL), shared by every sink instance of the
// dataset. An entry is keyed by (dataset, topic, partition, offset) of the
// Erasure record it came from. The same key with a different content means the
// erasure topic was deleted and recreated (its offsets start again): the entry
// goes under the next generation of the topic ("dataset.erasures#2"), so a
// recreated topic never has its erasures dropped as duplicates.
package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/lake"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// TableName is the ledger's table in the catalog database.
const TableName = "consentflow_erasure_ledger"

// Entry is one erasure of the ledger.
type Entry struct {
	// Topic is the topic key: the erasure topic's name, with "#<generation>"
	// after a recreation.
	Topic      string         `json:"topic"`
	Partition  int            `json:"partition"`
	Offset     int64          `json:"offset"`
	AppendedAt time.Time      `json:"appended_at"`
	Erasure    schema.Erasure `json:"erasure"`
	// LandedSnapshot is the Iceberg snapshot the erasure was applied in (0:
	// not yet; for an erasure that covered no row, the snapshot it was checked
	// against).
	LandedSnapshot int64     `json:"landed_snapshot,omitempty"`
	LandedAt       time.Time `json:"landed_at,omitzero"`
}

// TopicName strips the generation from a topic key.
func TopicName(key string) string {
	name, _, _ := strings.Cut(key, "#")
	return name
}

func topicKey(name string, gen int) string {
	if gen <= 1 {
		return name
	}
	return name + "#" + strconv.Itoa(gen)
}

func generation(key string) int {
	_, g, ok := strings.Cut(key, "#")
	if !ok {
		return 1
	}
	n, err := strconv.Atoi(g)
	if err != nil {
		return 1
	}
	return n
}

// Ledger is a view of the dataset's erasure ledger: the entries loaded so far,
// refreshed on demand (Refresh), and the matcher over them.
type Ledger struct {
	db      *sql.DB
	dialect string
	dataset string

	mu      sync.RWMutex
	entries []Entry
	wm      lake.Watermarks
	gen     map[string]int // topic name → highest generation seen
	matcher *Matcher
}

// Open opens the ledger of dataset in db (creating its table) and loads it.
func Open(ctx context.Context, db *sql.DB, dialect, dataset string) (*Ledger, error) {
	id := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if dialect == "postgres" {
		id = "BIGSERIAL PRIMARY KEY"
	}
	ddl := `CREATE TABLE IF NOT EXISTS ` + TableName + ` (
		id ` + id + `,
		dataset TEXT NOT NULL,
		topic TEXT NOT NULL,
		kpartition INTEGER NOT NULL,
		koffset BIGINT NOT NULL,
		digest TEXT NOT NULL,
		appended_at BIGINT NOT NULL,
		erasure TEXT NOT NULL,
		landed_snapshot BIGINT,
		landed_at BIGINT,
		UNIQUE (dataset, topic, kpartition, koffset))`
	for try := 0; ; try++ {
		_, err := db.ExecContext(ctx, ddl)
		if err == nil {
			break
		}
		// Instances creating it at once on PostgreSQL: one wins.
		if try == 10 || !lake.CreateRace(err) {
			return nil, fmt.Errorf("create erasure ledger table: %w", err)
		}
		time.Sleep(time.Duration(100*(try+1)) * time.Millisecond)
	}
	l := &Ledger{db: db, dialect: dialect, dataset: dataset, wm: lake.Watermarks{}, gen: map[string]int{}, matcher: NewMatcher()}
	if err := l.Refresh(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

func digest(e schema.Erasure) string {
	b, _ := json.Marshal(e)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// Record appends the erasure read at topic/partition/offset, durably (the
// database commits it before Record returns), and refreshes the ledger so that
// the writer of this instance drops covered rows from then on. It returns false
// when the entry is already in the ledger (a redelivery, or another instance
// recorded it).
func (l *Ledger) Record(ctx context.Context, topic string, partition int, offset int64, at time.Time, e schema.Erasure) (bool, error) {
	added, err := l.Insert(ctx, topic, partition, offset, at, e)
	if err != nil || !added {
		return added, err
	}
	return true, l.Refresh(ctx)
}

// Insert is Record without the refresh: the entry is durable when Insert
// returns, but Covered, Pending and the matcher see it only after the next
// Refresh. A stage recording a batch of erasures inserts each and refreshes
// once: a refresh reads the highest offset of every partition of the ledger,
// so a refresh per entry made recording n erasures cost O(n²).
func (l *Ledger) Insert(ctx context.Context, topic string, partition int, offset int64, at time.Time, e schema.Erasure) (bool, error) {
	l.mu.RLock()
	gen := max(l.gen[topic], 1)
	l.mu.RUnlock()
	d := digest(e)
	body, err := json.Marshal(e)
	if err != nil {
		return false, fmt.Errorf("encode erasure: %w", err)
	}
	for ; ; gen++ {
		key := topicKey(topic, gen)
		res, err := l.db.ExecContext(ctx, `INSERT INTO `+TableName+` (dataset, topic, kpartition, koffset, digest, appended_at, erasure)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, l.dataset, key, partition, offset, d, at.UnixMilli(), string(body))
		if err != nil {
			return false, fmt.Errorf("record erasure %s/%d:%d: %w", key, partition, offset, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			l.mu.Lock()
			l.gen[topic] = max(l.gen[topic], gen)
			l.mu.Unlock()
			return true, nil
		}
		var have string
		err = l.db.QueryRowContext(ctx, `SELECT digest FROM `+TableName+` WHERE dataset = $1 AND topic = $2 AND kpartition = $3 AND koffset = $4`,
			l.dataset, key, partition, offset).Scan(&have)
		if err != nil {
			return false, fmt.Errorf("read erasure %s/%d:%d: %w", key, partition, offset, err)
		}
		if have == d {
			return false, nil
		}
		// Same position, other content: the topic was recreated.
	}
}

// RecordAt appends an entry under an exact topic key (a rebuild of a given
// generation); it returns false when the key is taken.
func (l *Ledger) RecordAt(ctx context.Context, key string, partition int, offset int64, at time.Time, e schema.Erasure) (bool, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	res, err := l.db.ExecContext(ctx, `INSERT INTO `+TableName+` (dataset, topic, kpartition, koffset, digest, appended_at, erasure)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, l.dataset, key, partition, offset, digest(e), at.UnixMilli(), string(body))
	if err != nil {
		return false, fmt.Errorf("record erasure %s/%d:%d: %w", key, partition, offset, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Refresh loads the entries recorded since the last refresh. Within one topic
// key and partition entries are recorded in offset order (one consumer at a
// time owns a partition, and commits its offset only after recording; a new
// owner starts from there), so loading, per partition, the offsets above the
// highest one loaded misses none.
func (l *Ledger) Refresh(ctx context.Context) error {
	rows, err := l.db.QueryContext(ctx, `SELECT topic, kpartition, MAX(koffset) FROM `+TableName+` WHERE dataset = $1 GROUP BY topic, kpartition`, l.dataset)
	if err != nil {
		return fmt.Errorf("read erasure ledger: %w", err)
	}
	type tp struct {
		topic string
		p     int
	}
	var todo []tp
	l.mu.RLock()
	for rows.Next() {
		var t tp
		var maxOff int64
		if err := rows.Scan(&t.topic, &t.p, &maxOff); err != nil {
			rows.Close()
			l.mu.RUnlock()
			return fmt.Errorf("read erasure ledger: %w", err)
		}
		if maxOff > l.wm.Get(t.topic, t.p) {
			todo = append(todo, t)
		}
	}
	l.mu.RUnlock()
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read erasure ledger: %w", err)
	}
	if rows.Err() != nil {
		return fmt.Errorf("read erasure ledger: %w", rows.Err())
	}
	for _, t := range todo {
		l.mu.RLock()
		from := l.wm.Get(t.topic, t.p)
		l.mu.RUnlock()
		entries, err := l.query(ctx, `WHERE dataset = $1 AND topic = $2 AND kpartition = $3 AND koffset > $4 ORDER BY koffset`,
			l.dataset, t.topic, t.p, from)
		if err != nil {
			return err
		}
		l.mu.Lock()
		for _, e := range entries {
			if e.Offset <= l.wm.Get(e.Topic, e.Partition) {
				continue // a concurrent Refresh loaded it
			}
			l.entries = append(l.entries, e)
			l.wm.Raise(e.Topic, e.Partition, e.Offset)
			l.gen[TopicName(e.Topic)] = max(l.gen[TopicName(e.Topic)], generation(e.Topic))
			l.matcher.Add(&l.entries[len(l.entries)-1].Erasure)
		}
		l.mu.Unlock()
	}
	return nil
}

func (l *Ledger) query(ctx context.Context, where string, args ...any) ([]Entry, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT topic, kpartition, koffset, appended_at, erasure, landed_snapshot, landed_at FROM `+TableName+` `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read erasure ledger: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		var body string
		var landed, landedAt sql.NullInt64
		if err := rows.Scan(&e.Topic, &e.Partition, &e.Offset, &at, &body, &landed, &landedAt); err != nil {
			return nil, fmt.Errorf("read erasure ledger: %w", err)
		}
		if err := json.Unmarshal([]byte(body), &e.Erasure); err != nil {
			return nil, fmt.Errorf("erasure ledger entry %s/%d:%d: %w", e.Topic, e.Partition, e.Offset, err)
		}
		e.AppendedAt = time.UnixMilli(at).UTC()
		e.LandedSnapshot = landed.Int64
		if landedAt.Valid {
			e.LandedAt = time.UnixMilli(landedAt.Int64).UTC()
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Watermarks are the highest offsets loaded, per topic key and partition.
func (l *Ledger) Watermarks() lake.Watermarks {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.wm.Clone()
}

// Len is the number of entries loaded.
func (l *Ledger) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.entries)
}

// Covered reports whether row is covered by an entry loaded.
func (l *Ledger) Covered(r *table.Row) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.matcher.Covered(r)
}

// CoveredPair reports whether a row of subject/tenant with these versions is
// covered (the writer checks the distinct pairs of an open file).
func (l *Ledger) CoveredPair(purpose, subject, consentVersion, tenant, tenantConsentVersion string) bool {
	r := table.Row{Purpose: purpose, Subject: subject, ConsentVersion: consentVersion, Tenant: tenant, TenantConsentVersion: tenantConsentVersion}
	return l.Covered(&r)
}

// Pending returns the entries loaded that applied does not cover, in ledger
// order.
func (l *Ledger) Pending(applied lake.Watermarks) []Entry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []Entry
	for _, e := range l.entries {
		if e.Offset > applied.Get(e.Topic, e.Partition) {
			out = append(out, e)
		}
	}
	return out
}

// Entries returns every entry loaded.
func (l *Ledger) Entries() []Entry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return append([]Entry(nil), l.entries...)
}

// Landed records that entries were applied in snapshot (at time at); entries
// that already landed keep their first snapshot.
func (l *Ledger) Landed(ctx context.Context, entries []Entry, snapshot int64, at time.Time) error {
	if len(entries) == 0 {
		return nil
	}
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record landed erasures: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	for _, e := range entries {
		if _, err := tx.ExecContext(ctx, `UPDATE `+TableName+` SET landed_snapshot = $1, landed_at = $2
			WHERE dataset = $3 AND topic = $4 AND kpartition = $5 AND koffset = $6 AND landed_snapshot IS NULL`,
			snapshot, at.UnixMilli(), l.dataset, e.Topic, e.Partition, e.Offset); err != nil {
			return fmt.Errorf("record landed erasure: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record landed erasures: %w", err)
	}
	l.mu.Lock()
	idx := map[string]int{}
	for i, e := range l.entries {
		idx[key(e)] = i
	}
	for _, e := range entries {
		if i, ok := idx[key(e)]; ok && l.entries[i].LandedSnapshot == 0 {
			l.entries[i].LandedSnapshot, l.entries[i].LandedAt = snapshot, at.UTC()
		}
	}
	l.mu.Unlock()
	return nil
}

func key(e Entry) string { return fmt.Sprintf("%s/%d:%d", e.Topic, e.Partition, e.Offset) }

// Behind lists the topic keys and partitions where applied (the table's state)
// is ahead of the ledger: the table has applied erasures the ledger does not
// hold, so the ledger was lost or restored from an older copy.
func (l *Ledger) Behind(applied lake.Watermarks) []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var out []string
	for t, ps := range applied {
		for p, o := range ps {
			if l.wm.Get(t, p) < o {
				out = append(out, fmt.Sprintf("%s/%d: table applied up to offset %d, ledger holds up to %d", t, p, o, l.wm.Get(t, p)))
			}
		}
	}
	sort.Strings(out)
	return out
}

// ErrBehind is returned when the ledger holds fewer erasures than the table has
// applied.
var ErrBehind = errors.New("erasure ledger is behind the table")
