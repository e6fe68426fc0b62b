package writer

import (
	"encoding/binary"
	"hash/maphash"
)

// idHash is the 16-byte fingerprint of an event_id kept in a dedupe window: two
// 64-bit maphash values under independent per-process seeds (the window is rebuilt
// from the table at every start, so the seeds need not be stable).
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
