package writer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"

	"github.com/parquet-go/parquet-go"

	"github.com/consentflow/consentflow/services/dataset-sink/internal/storage"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// idHash is the 16-byte fingerprint of an event_id kept in a dedupe window: two
// 64-bit maphash values under independent per-process seeds (the window is rebuilt
// from the files at every start, so the seeds need not be stable).
type idHash [16]byte

var idSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func hashID(id []byte) idHash {
	var h idHash
	binary.LittleEndian.PutUint64(h[:8], maphash.Bytes(idSeeds[0], id))
	binary.LittleEndian.PutUint64(h[8:], maphash.Bytes(idSeeds[1], id))
	return h
}

func hashIDString(id string) idHash {
	var h idHash
	binary.LittleEndian.PutUint64(h[:8], maphash.String(idSeeds[0], id))
	binary.LittleEndian.PutUint64(h[8:], maphash.String(idSeeds[1], id))
	return h
}

// idWindow remembers the last limit distinct event_ids accepted on one partition:
// a ring of 16-byte hashes in arrival order, indexed by an open-addressing table
// (linear probing, load at most 1/2) of uint32 ring positions. Adding to a full
// window forgets the oldest id. Memory is 16 bytes per id in the ring plus 8 to 16
// in the index, about 25 MB per partition at the default 1,000,000 ids (a Go map
// would take over 50).
type idWindow struct {
	limit int
	ring  []idHash
	next  int      // when the ring is full, the slot of the oldest id
	index []uint32 // ring position + 1; 0 is an empty slot
}

func newIDWindow(limit int) *idWindow { return &idWindow{limit: limit} }

func (w *idWindow) home(h idHash) int {
	return int(binary.LittleEndian.Uint64(h[:8]) & uint64(len(w.index)-1))
}

// find returns the index slot holding h, or -1.
func (w *idWindow) find(h idHash) int {
	if len(w.index) == 0 {
		return -1
	}
	mask := len(w.index) - 1
	for i := w.home(h); w.index[i] != 0; i = (i + 1) & mask {
		if w.ring[w.index[i]-1] == h {
			return i
		}
	}
	return -1
}

// has reports whether h is in the window.
func (w *idWindow) has(h idHash) bool { return w.find(h) >= 0 }

// add puts h in the window (no-op if present or if the window is disabled).
func (w *idWindow) add(h idHash) {
	if w.limit <= 0 || w.has(h) {
		return
	}
	pos := w.next
	if len(w.ring) < w.limit {
		pos = len(w.ring)
		if len(w.ring) == cap(w.ring) { // grow by doubling, never past limit
			grown := make([]idHash, len(w.ring), min(w.limit, max(2*cap(w.ring), 1024)))
			copy(grown, w.ring)
			w.ring = grown
		}
		w.ring = append(w.ring, h)
		if 2*len(w.ring) > len(w.index) {
			w.rehash(2 * len(w.ring))
			return
		}
	} else {
		w.remove(w.find(w.ring[pos]))
		w.ring[pos] = h
		w.next = (w.next + 1) % w.limit
	}
	w.insert(pos)
}

func (w *idWindow) insert(pos int) {
	mask := len(w.index) - 1
	i := w.home(w.ring[pos])
	for w.index[i] != 0 {
		i = (i + 1) & mask
	}
	w.index[i] = uint32(pos + 1)
}

// remove empties slot j and shifts later entries of its probe run back, so that
// every entry stays reachable from its home slot.
func (w *idWindow) remove(j int) {
	mask := len(w.index) - 1
	w.index[j] = 0
	for k := (j + 1) & mask; w.index[k] != 0; k = (k + 1) & mask {
		home := w.home(w.ring[w.index[k]-1])
		// The entry at k may move to j unless its home lies cyclically in (j, k].
		if (j < k && (home <= j || home > k)) || (j > k && home <= j && home > k) {
			w.index[j], w.index[k] = w.index[k], 0
			j = k
		}
	}
}

// rehash rebuilds the index with at least n slots (a power of two).
func (w *idWindow) rehash(n int) {
	size := 1024
	for size < n {
		size *= 2
	}
	w.index = make([]uint32, size)
	for pos := range w.ring {
		w.insert(pos)
	}
}

// len is the number of ids held.
func (w *idWindow) len() int { return len(w.ring) }

// seedWindows fills one window per partition with the event_ids of the newest
// files of topic, newest file last, reading files backwards from the highest
// offset until each window is full or the partition's files run out. Of several
// versions of one offset range (erasure rewrites), the newest is read.
func seedWindows(ctx context.Context, store storage.Storage, dataset, topic string, limit int, files []table.Stored) (map[int]*idWindow, error) {
	windows := map[int]*idWindow{}
	if limit <= 0 {
		return windows, nil
	}
	current := map[string]table.Stored{}
	for _, f := range files {
		if f.File.Topic != topic {
			continue
		}
		if cur, ok := current[f.File.Base()]; !ok || f.File.Erased > cur.File.Erased {
			current[f.File.Base()] = f
		}
	}
	byPartition := map[int][]table.Stored{}
	for _, f := range current {
		byPartition[f.File.Partition] = append(byPartition[f.File.Partition], f)
	}
	for p, fs := range byPartition {
		sort.Slice(fs, func(i, j int) bool { return fs[i].File.Last > fs[j].File.Last })
		// Pick the newest files that together hold at least limit ids.
		var ids [][]idHash
		total := 0
		for _, f := range fs {
			if total >= limit {
				break
			}
			var hs []idHash
			err := forEachEventID(ctx, store, dataset+"/"+f.Info.Key, func(id []byte) { hs = append(hs, hashID(id)) })
			if err != nil {
				return nil, fmt.Errorf("seed dedupe window of partition %d: %w", p, err)
			}
			ids = append(ids, hs)
			total += len(hs)
		}
		w := newIDWindow(limit)
		for i := len(ids) - 1; i >= 0; i-- { // oldest file first
			for _, h := range ids[i] {
				w.add(h)
			}
		}
		windows[p] = w
	}
	return windows, nil
}

// forEachEventID calls fn with every value of the event_id column of a stored
// Parquet file, reading that column only. fn must not keep id.
func forEachEventID(ctx context.Context, store storage.Storage, key string, fn func(id []byte)) error {
	obj, err := store.Open(ctx, key)
	if err != nil {
		return err
	}
	defer obj.Close()
	f, err := parquet.OpenFile(obj, obj.Info().Size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("open parquet %s: %w", key, err)
	}
	col := f.Root().Column("event_id")
	if col == nil {
		return fmt.Errorf("parquet %s: no event_id column", key)
	}
	pages := col.Pages()
	defer pages.Close()
	buf := make([]parquet.Value, 1024)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read event_id pages of %s: %w", key, err)
		}
		values := page.Values()
		for {
			n, err := values.ReadValues(buf)
			for _, v := range buf[:n] {
				fn(v.ByteArray())
			}
			if errors.Is(err, io.EOF) || (n == 0 && err == nil) {
				break
			}
			if err != nil {
				parquet.Release(page)
				return fmt.Errorf("read event_id values of %s: %w", key, err)
			}
		}
		parquet.Release(page)
	}
}
