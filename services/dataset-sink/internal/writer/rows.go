package writer

import (
	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// chunkRows is how many rows one piece of an open file's buffer holds (about
// 1.5 MiB). A file's rows grow by whole pieces: nothing is copied as it grows
// (a single slice of up to SINK_ROTATE_ROWS rows was reallocated and copied at
// every doubling, and held old and new arrays at once while it did), and the
// pieces of committed files are reused by the next ones.
const chunkRows = 4096

// freeChunks bounds the pieces kept for reuse (~24 MiB): more than a
// partition's file needs between two commits at the rates measured, less than
// the memory the rotation bounds allow.
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
