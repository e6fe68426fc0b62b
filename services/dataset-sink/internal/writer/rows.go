package writer

import (
	"unsafe"

	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// chunkRows is how many rows one piece of an open file's buffer holds (about
// 340 KiB). A file's rows grow by whole pieces: nothing is copied as it grows
// (a single slice of up to SINK_ROTATE_ROWS rows was reallocated and copied at
// every doubling, and held old and new arrays at once while it did), and the
// pieces of committed files are reused by the next ones. Pieces of 4,096 rows
// (1.4 MiB) held 8 MiB of empty slots per generation at 1,000 events/s on six
// partitions (a few hundred rows per file with 5 s rotation), and the free list kept 22
// MiB of them between commits, all of it live heap that Go's pacing doubles.
const chunkRows = 1024

// freeChunks bounds the pieces kept for reuse (~5 MiB).
const freeChunks = 16

// rowBuf holds an open file's rows in pieces of chunkRows.
type rowBuf struct {
	chunks [][]tbl.Row
	n      int
}

// add appends a copy of r, taking a piece from pool when the last is full.
func (b *rowBuf) add(r *tbl.Row, pool *chunkPool) *tbl.Row {
	if b.n == len(b.chunks)*chunkRows {
		b.chunks = append(b.chunks, pool.get())
	}
	c := &b.chunks[len(b.chunks)-1]
	*c = append(*c, *r)
	b.n++
	return &(*c)[len(*c)-1]
}

// len is how many rows the buffer holds.
func (b *rowBuf) len() int { return b.n }

// each calls f with every row in order.
func (b *rowBuf) each(f func(*tbl.Row)) {
	for _, c := range b.chunks {
		for i := range c {
			f(&c[i])
		}
	}
}

// release gives the pieces back to pool; the buffer is empty afterwards.
func (b *rowBuf) release(pool *chunkPool) {
	for _, c := range b.chunks {
		pool.put(c)
	}
	b.chunks, b.n = nil, 0
}

// chunkPool keeps emptied pieces for reuse. Not safe for concurrent use (the
// writer's mutex guards it).
type chunkPool struct{ free [][]tbl.Row }

func (p *chunkPool) get() []tbl.Row {
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		return c
	}
	return make([]tbl.Row, 0, chunkRows)
}

// put keeps c for reuse, emptied (its strings no longer held), unless the
// pool is full.
func (p *chunkPool) put(c []tbl.Row) {
	if len(p.free) >= freeChunks || cap(c) != chunkRows {
		return
	}
	clear(c)
	p.free = append(p.free, c[:0])
}

// pieceBytes is the memory of one piece of an open file's buffer, counted
// when the file takes it: a piece is chunkRows row slots whether they are
// filled or not.
const pieceBytes = chunkRows * int64(unsafe.Sizeof(tbl.Row{}))

// rowBytes is the Go heap a buffered row holds besides its slot in a piece,
// what SINK_ROTATE_BYTES bounds with the pieces: each string as the
// allocation it was decoded into (its length rounded up to Go's size class),
// the properties' array and strings. Counted per row: two rows sharing a
// string (none do off the wire) count it twice. The former estimate (200
// bytes plus the strings' lengths) saw two thirds of a decoded row's memory,
// so a full default buffer held ~96 MiB.
func rowBytes(r *tbl.Row) int64 {
	var n int64
	for _, s := range [...]string{r.EventID, r.EventType, r.Subject, r.Tenant, r.Session, r.Jurisdiction, r.IPPrefix,
		r.Locale, r.Region, r.Text, r.Source, r.Purpose, r.ConsentVersion, r.PolicyVersion, r.TenantConsentVersion} {
		n += allocBytes(len(s))
	}
	if cap(r.Properties) > 0 {
		n += allocBytes(cap(r.Properties) * int(unsafe.Sizeof(tbl.Property{})))
	}
	for _, p := range r.Properties {
		n += allocBytes(len(p.Key)) + allocBytes(len(p.Value))
	}
	return n
}

// sizeClasses are the Go runtime's allocation size classes up to 32 KiB
// (runtime/sizeclasses.go): a small allocation takes the smallest that fits.
var sizeClasses = [...]int{8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320,
	352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072,
	3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384,
	18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768}

// classOf8 is the size class of every size up to 1 KiB, by 8-byte steps.
var classOf8 = func() (c [1024/8 + 1]int32) {
	k := 0
	for i := range c {
		for sizeClasses[k] < i*8 {
			k++
		}
		c[i] = int32(sizeClasses[k])
	}
	return c
}()

// allocBytes is the heap an allocation of n pointer-free bytes (a string's)
// takes: under 16 bytes the runtime packs them into shared 16-byte blocks,
// larger ones take their size class, above 32 KiB whole 8 KiB pages.
func allocBytes(n int) int64 {
	switch {
	case n < 16:
		return int64(n)
	case n <= 1024:
		return int64(classOf8[(n+7)/8])
	case n <= sizeClasses[len(sizeClasses)-1]:
		for _, c := range sizeClasses {
			if c >= n {
				return int64(c)
			}
		}
	}
	return int64((n + 8191) &^ 8191)
}
