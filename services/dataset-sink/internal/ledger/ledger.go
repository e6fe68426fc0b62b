// Package ledger is the dataset sink's append-only erasure ledger and the rule
// that decides which rows its erasures cover (Matcher).
package ledger

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// Entry is one line of the erasure ledger.
type Entry struct {
	// Position is the entry's 1-based line number; "ledger position N applied"
	// means entries 1..N.
	Position   int64          `json:"position"`
	Partition  int            `json:"partition"`
	Offset     int64          `json:"offset"`
	AppendedAt time.Time      `json:"appended_at"`
	Erasure    schema.Erasure `json:"erasure"`
}

// Ledger is the append-only erasure ledger: JSON lines in a local file, each line
// fsynced before the Kafka offset of its erasure is committed. Like the data files,
// it is its own log: an erasure whose (partition, offset) is already in it is not
// appended again.
type Ledger struct {
	mu        sync.RWMutex
	f         *os.File
	entries   []Entry
	maxOffset map[int]int64
	live      *Matcher
}

// Open opens or creates the ledger at path. A torn last line (crash during
// append, never fsynced, never committed) is truncated away.
func Open(path string) (*Ledger, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create ledger dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open erasure ledger %s: %w", path, err)
	}
	l := &Ledger{f: f, maxOffset: map[int]int64{}, live: NewMatcher()}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read erasure ledger %s: %w", path, err)
	}
	good := 0
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if good+len(line) >= len(data) { // no newline: torn write
			break
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			f.Close()
			return nil, fmt.Errorf("erasure ledger %s line %d: %w", path, len(l.entries)+1, err)
		}
		l.add(e)
		good += len(line) + 1
	}
	if good < len(data) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, fmt.Errorf("truncate torn ledger line: %w", err)
		}
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seek ledger end: %w", err)
	}
	return l, nil
}

func (l *Ledger) add(e Entry) {
	l.entries = append(l.entries, e)
	if prev, ok := l.maxOffset[e.Partition]; !ok || e.Offset > prev {
		l.maxOffset[e.Partition] = e.Offset
	}
	l.live.Add(&e.Erasure)
}

// Append appends an erasure consumed at (partition, offset) and fsyncs. It returns
// false without writing when that offset is already in the ledger. A negative
// partition appends unconditionally (erasures not from Kafka).
func (l *Ledger) Append(partition int, offset int64, at time.Time, e schema.Erasure) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.maxOffset[partition]; ok && partition >= 0 && offset <= prev {
		return false, nil
	}
	entry := Entry{Position: int64(len(l.entries)) + 1, Partition: partition, Offset: offset, AppendedAt: at.UTC(), Erasure: e}
	line, err := json.Marshal(entry)
	if err != nil {
		return false, fmt.Errorf("encode ledger entry: %w", err)
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return false, fmt.Errorf("append to erasure ledger: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return false, fmt.Errorf("fsync erasure ledger: %w", err)
	}
	l.add(entry)
	return true, nil
}

// Position is the number of entries.
func (l *Ledger) Position() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return int64(len(l.entries))
}

// Entries returns entries with from < position <= to.
func (l *Ledger) Entries(from, to int64) []Entry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	to = min(to, int64(len(l.entries)))
	if from >= to {
		return nil
	}
	return append([]Entry(nil), l.entries[from:to]...)
}

// Covered reports whether row is covered by any entry in the ledger now.
func (l *Ledger) Covered(r *table.Row) bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.live.Covered(r)
}

// Matcher returns a matcher over entries 1..upto.
func (l *Ledger) Matcher(upto int64) *Matcher {
	m := NewMatcher()
	for _, e := range l.Entries(0, upto) {
		m.Add(&e.Erasure)
	}
	return m
}

// Close closes the ledger file.
func (l *Ledger) Close() error { return l.f.Close() }

// Matcher decides whether a row is covered by a set of erasures. A SUBJECT
// erasure covers rows whose subject is one of its pseudonyms, a TENANT erasure
// rows whose tenant is, in both cases for the erasure's purpose, and only rows
// whose decision did not rest on a later consent change than the erased one.
//
// Coverage is decided by consent versions, not time (received_at is coarsened to
// the hour, so a row received just after a re-grant would look older than the
// denial). An erasure carries the version ("p:o" on consent.changes) of the change
// that caused it; a row carries consent_version (the consent state position its
// decision was made at on its subject's partition: every change below it was seen,
// see docs/ARCHITECTURE.md, Identity, "Versions") and tenant_consent_version (the
// tenant's record in force, empty without one). All changes of one subject and of
// one tenant share a partition, so:
//
//   - a SUBJECT erasure E covers R iff
//     !ParseVersion(R.consent_version).NewerThan(ParseVersion(E.consent_version));
//   - a TENANT erasure E covers R iff
//     !ParseVersion(R.tenant_consent_version).NewerThan(ParseVersion(E.consent_version)).
//
// So a row that rested on the same or an older record, or on none, is covered; a
// row decided on a later re-grant is kept. An erasure whose version does not parse
// covers every row of its pseudonyms, and a row whose version is on another
// partition (not ordered) or does not parse is covered: doubt errs towards
// erasure. effective_at stays in the ledger for information only.
type Matcher struct {
	subjects map[string]*erased // purpose + "\x00" + pseudonym
	tenants  map[string]*erased
}

// erased is what a pseudonym's erasures cover: everything (all), or per
// partition of consent.changes the rows whose version is at or below the highest
// erased offset.
type erased struct {
	all bool
	max map[int]int64
}

func (e *erased) add(version string) {
	v, ok := schema.ParseVersion(version)
	if !ok {
		e.all = true
		return
	}
	if cur, seen := e.max[v.Partition]; !seen || v.Offset > cur {
		e.max[v.Partition] = v.Offset
	}
}

// covers reports whether a row whose decision rested on version is covered: some
// erasure's version is not older than it (or is not comparable with it).
func (e *erased) covers(version string) bool {
	if e == nil {
		return false
	}
	if e.all {
		return true
	}
	v, ok := schema.ParseVersion(version)
	if !ok { // no record (or a malformed one): the decision predates any re-grant
		return true
	}
	for p, o := range e.max {
		if !v.NewerThan(schema.Version{Partition: p, Offset: o}) {
			return true
		}
	}
	return false
}

// NewMatcher returns a matcher that covers nothing yet.
func NewMatcher() *Matcher {
	return &Matcher{subjects: map[string]*erased{}, tenants: map[string]*erased{}}
}

// Add adds an erasure to the matcher.
func (m *Matcher) Add(e *schema.Erasure) {
	target := m.subjects
	if e.Scope == schema.ScopeTenant {
		target = m.tenants
	}
	for _, p := range e.Pseudonyms {
		k := e.Purpose + "\x00" + p
		if target[k] == nil {
			target[k] = &erased{max: map[int]int64{}}
		}
		target[k].add(e.ConsentVersion)
	}
}

// Empty reports whether the matcher covers nothing.
func (m *Matcher) Empty() bool { return len(m.subjects) == 0 && len(m.tenants) == 0 }

// Covered reports whether the matcher's erasures cover r.
func (m *Matcher) Covered(r *table.Row) bool {
	return m.subjects[r.Purpose+"\x00"+r.Subject].covers(r.ConsentVersion) ||
		m.tenants[r.Purpose+"\x00"+r.Tenant].covers(r.TenantConsentVersion)
}
