package writer

import (
	"strconv"
	"testing"

	tbl "github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// An open file's rows come back in order across pieces, and a piece given back
// is reused emptied: a later file holds only its own rows, and a kept piece
// holds no row's strings any more.
func TestRowBufKeepsOrderAndReusesEmptiedPieces(t *testing.T) {
	var pool chunkPool
	fill := func(b *rowBuf, prefix string, n int) {
		for i := range n {
			r := tbl.Row{EventID: prefix + strconv.Itoa(i), Text: "text of " + prefix}
			got := b.add(&r, &pool)
			got.KafkaOffset = int64(i) // the writer sets lineage on the stored copy
		}
	}
	check := func(b *rowBuf, prefix string, n int) {
		t.Helper()
		if b.len() != n {
			t.Fatalf("len %d, want %d", b.len(), n)
		}
		i := 0
		b.each(func(r *tbl.Row) {
			if r.EventID != prefix+strconv.Itoa(i) || r.KafkaOffset != int64(i) || r.Text != "text of "+prefix {
				t.Fatalf("row %d is %q at %d, want %q", i, r.EventID, r.KafkaOffset, prefix+strconv.Itoa(i))
			}
			i++
		})
		if i != n {
			t.Fatalf("each gave %d rows, want %d", i, n)
		}
	}
	var a rowBuf
	n := 2*chunkRows + 17
	fill(&a, "a", n)
	check(&a, "a", n)
	a.release(&pool)
	if a.len() != 0 || len(pool.free) != 3 {
		t.Fatalf("after release: %d rows, %d pieces kept (want 0, 3)", a.len(), len(pool.free))
	}
	for _, c := range pool.free {
		if len(c) != 0 || cap(c) != chunkRows {
			t.Fatalf("kept piece has len %d cap %d", len(c), cap(c))
		}
		for _, r := range c[:cap(c)] {
			if r.EventID != "" || r.Text != "" {
				t.Fatalf("kept piece still holds row %q", r.EventID)
			}
		}
	}
	var b rowBuf
	fill(&b, "b", chunkRows+1)
	check(&b, "b", chunkRows+1)
	if len(pool.free) != 1 {
		t.Fatalf("%d pieces left in the pool after taking 2 of 3", len(pool.free))
	}
	for range 2 * freeChunks {
		pool.put(make([]tbl.Row, 0, chunkRows))
	}
	if len(pool.free) != freeChunks {
		t.Fatalf("pool keeps %d pieces, bound %d", len(pool.free), freeChunks)
	}
}
