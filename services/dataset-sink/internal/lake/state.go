package lake

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go/table"
)

// Summary properties the sink writes into every snapshot it commits, and the
// table property that records erasure progress between data commits.
const (
	// KeyOffsets: per topic and partition, the highest Kafka offset whose
	// record is durable in the table (written, or dropped on purpose). A sink
	// resumes after it.
	KeyOffsets = "consentflow.kafka-offsets"
	// KeyRange: the offset ranges this commit covers, topic/partition:first-last.
	KeyRange = "consentflow.kafka-range"
	// KeyErasures: per erasure-ledger topic and partition, the highest ledger
	// offset applied: no row of this snapshot is covered by a ledger entry at or
	// below it.
	KeyErasures = "consentflow.erasures-applied"
	// KeyKeys: the pseudonym key ids that rows of this snapshot may use (a
	// superset; exact after a key is retired).
	KeyKeys = "consentflow.pseudonym-keys"
	// KeyCommitID identifies a commit across its attempts.
	KeyCommitID = "consentflow.commit-id"
	// KeyOperation is what the sink did: append, erasure, recut, compaction.
	KeyOperation = "consentflow.operation"
	// PropErasures is a table property: erasures applied as of a snapshot
	// without changing data (no row was covered), {"snapshot": id, "applied": {...}}.
	PropErasures = "consentflow.erasures-applied"
)

// Watermarks are offsets per topic and partition.
type Watermarks map[string]map[int]int64

// Get returns the offset of topic/partition, or -1.
func (w Watermarks) Get(topic string, partition int) int64 {
	if o, ok := w[topic][partition]; ok {
		return o
	}
	return -1
}

// Raise sets topic/partition to offset when that is higher.
func (w Watermarks) Raise(topic string, partition int, offset int64) {
	if w[topic] == nil {
		w[topic] = map[int]int64{}
	}
	if cur, ok := w[topic][partition]; !ok || offset > cur {
		w[topic][partition] = offset
	}
}

// Merge raises w to every offset of o.
func (w Watermarks) Merge(o Watermarks) {
	for t, ps := range o {
		for p, off := range ps {
			w.Raise(t, p, off)
		}
	}
}

// Covers reports whether w is at or above every offset of o.
func (w Watermarks) Covers(o Watermarks) bool {
	for t, ps := range o {
		for p, off := range ps {
			if w.Get(t, p) < off {
				return false
			}
		}
	}
	return true
}

// Clone copies w.
func (w Watermarks) Clone() Watermarks {
	out := Watermarks{}
	for t, ps := range w {
		out[t] = maps.Clone(ps)
	}
	return out
}

// Encode renders w as JSON.
func (w Watermarks) Encode() string { return w.encode() }

func (w Watermarks) encode() string {
	m := map[string]map[string]int64{}
	for t, ps := range w {
		m[t] = map[string]int64{}
		for p, o := range ps {
			m[t][strconv.Itoa(p)] = o
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeWatermarks(s string) (Watermarks, error) {
	w := Watermarks{}
	if s == "" {
		return w, nil
	}
	var m map[string]map[string]int64
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	for t, ps := range m {
		for ps, o := range ps {
			p, err := strconv.Atoi(ps)
			if err != nil {
				return nil, fmt.Errorf("partition %q: %w", ps, err)
			}
			w.Raise(t, p, o)
		}
	}
	return w, nil
}

// State is what the sink keeps in the table: where each Kafka partition is,
// which erasures the rows are clean of, which pseudonym keys they use.
type State struct {
	Offsets  Watermarks
	Erasures Watermarks
	Keys     []string
}

// NewState is the state of an empty table.
func NewState() State { return State{Offsets: Watermarks{}, Erasures: Watermarks{}} }

// Clone copies s.
func (s State) Clone() State {
	return State{Offsets: s.Offsets.Clone(), Erasures: s.Erasures.Clone(), Keys: slices.Clone(s.Keys)}
}

// AddKeys adds key ids.
func (s *State) AddKeys(keys ...string) {
	for _, k := range keys {
		if k != "" && !slices.Contains(s.Keys, k) {
			s.Keys = append(s.Keys, k)
		}
	}
	sort.Strings(s.Keys)
}

// RemoveKey drops a key id (its rows are gone).
func (s *State) RemoveKey(k string) {
	s.Keys = slices.DeleteFunc(s.Keys, func(x string) bool { return x == k })
}

func (s State) props() map[string]string {
	return map[string]string{
		KeyOffsets:  s.Offsets.encode(),
		KeyErasures: s.Erasures.encode(),
		KeyKeys:     strings.Join(s.Keys, ","),
	}
}

// stateOfSummary reads the state from a snapshot summary; ok is false when the
// snapshot was not written by the sink.
func stateOfSummary(props map[string]string) (State, bool, error) {
	raw, ok := props[KeyOffsets]
	if !ok {
		return State{}, false, nil
	}
	st := NewState()
	var err error
	if st.Offsets, err = decodeWatermarks(raw); err != nil {
		return st, true, fmt.Errorf("summary %s: %w", KeyOffsets, err)
	}
	if st.Erasures, err = decodeWatermarks(props[KeyErasures]); err != nil {
		return st, true, fmt.Errorf("summary %s: %w", KeyErasures, err)
	}
	if k := props[KeyKeys]; k != "" {
		st.Keys = strings.Split(k, ",")
	}
	return st, true, nil
}

// StateOfSnapshot is the state of snapshot id: its own summary's, or, for a
// snapshot another writer made, its nearest ancestor's.
func StateOfSnapshot(t *table.Table, id int64) (State, error) {
	meta := t.Metadata()
	for s := meta.SnapshotByID(id); s != nil; {
		if s.Summary != nil {
			st, ok, err := stateOfSummary(s.Summary.Properties)
			if err != nil || ok {
				return st, err
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	return NewState(), nil
}

// StateOf is the state of the table's current snapshot, with erasure progress
// recorded since (PropErasures) merged in.
func StateOf(t *table.Table) (State, error) {
	cur := t.CurrentSnapshot()
	if cur == nil {
		return NewState(), nil
	}
	st, err := StateOfSnapshot(t, cur.SnapshotID)
	if err != nil {
		return st, err
	}
	if raw := t.Properties()[PropErasures]; raw != "" {
		var p struct {
			Snapshot int64           `json:"snapshot"`
			Applied  json.RawMessage `json:"applied"`
			Keys     []string        `json:"keys"`
		}
		if json.Unmarshal([]byte(raw), &p) == nil && p.Snapshot == cur.SnapshotID {
			w, err := decodeWatermarks(string(p.Applied))
			if err != nil {
				return st, fmt.Errorf("table property %s: %w", PropErasures, err)
			}
			st.Erasures.Merge(w)
			st.Keys = p.Keys
		}
	}
	return st, nil
}

// ErasuresProperty is the PropErasures value recording that snapshot is clean
// of the erasures in applied and that its rows use only keys.
func ErasuresProperty(snapshot int64, applied Watermarks, keys []string) string {
	k, _ := json.Marshal(append([]string{}, keys...))
	return fmt.Sprintf(`{"snapshot":%d,"applied":%s,"keys":%s}`, snapshot, applied.encode(), k)
}

// Ranges renders the ranges of one commit for KeyRange.
func Ranges(topic string, ranges map[int][2]int64) string {
	ps := slices.Sorted(maps.Keys(ranges))
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s/%d:%d-%d", topic, p, ranges[p][0], ranges[p][1])
	}
	return b.String()
}
