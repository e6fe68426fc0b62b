package table

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go/table"
)

// countingAllocator counts growths of a buffer a builder has (not the
// shrink-to-fit of a finished array).
type countingAllocator struct {
	memory.Allocator
	reallocs int
}

func (c *countingAllocator) Reallocate(size int, b []byte) []byte {
	if size > len(b) {
		c.reallocs++
	}
	return c.Allocator.Reallocate(size, b)
}

func arrowSchema(t *testing.T) *arrow.Schema {
	t.Helper()
	sc, err := table.SchemaToArrowSchema(Schema(), nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// variedRows are rows with every column set or empty in turn, and zero to
// three properties of varying lengths.
func variedRows(n int) []*Row {
	base := time.Date(2025, 11, 28, 12, 0, 0, 0, time.UTC)
	rows := make([]*Row, n)
	for i := range rows {
		s := strconv.Itoa(i)
		r := &Row{EventID: "ev-" + s, EventType: "t" + strings.Repeat("x", i%7), Subject: "k1:s" + s, Tenant: "k1:t" + strconv.Itoa(i%3),
			ReceivedAt: base.Add(time.Duration(i) * time.Second), GPC: i%2 == 0, Text: strings.Repeat("word ", i%40),
			Source: "api", Purpose: "ai_training", PolicyVersion: "p1", KafkaPartition: int32(i % 4), KafkaOffset: int64(i)}
		if i%3 != 0 {
			r.Session, r.Jurisdiction, r.IPPrefix, r.Locale, r.Region = "k1:sess"+s, "DE", "10.0.0.0/24", "de-DE", "DE"
			r.OccurredAt = base.Add(-time.Duration(i) * time.Millisecond)
			r.ConsentVersion, r.TenantConsentVersion = "0:"+s, "1:"+s
		}
		for j := range i % 4 {
			r.Properties = append(r.Properties, Property{Key: "k" + strconv.Itoa(j), Value: strings.Repeat("v", i%13)})
		}
		rows[i] = r
	}
	return rows
}

// AppendRows builds the same record batch as appending row by row, and sizes
// every buffer once: no buffer of the batch is reallocated.
func TestAppendRowsReservesEveryBuffer(t *testing.T) {
	sc := arrowSchema(t)
	rows := variedRows(3000)

	one := newBuilder(memory.DefaultAllocator, sc)
	defer one.Release()
	for _, r := range rows {
		one.Append(r)
	}
	want := one.NewBatch()
	defer want.Release()

	mem := &countingAllocator{Allocator: memory.NewGoAllocator()}
	all := newBuilder(mem, sc)
	defer all.Release()
	for range 2 { // the second batch starts from a builder emptied by NewBatch
		mem.reallocs = 0
		all.AppendRows(rows)
		got := all.NewBatch()
		if !array.RecordEqual(got, want) {
			t.Fatalf("AppendRows built another batch than Append:\n%v\nwant\n%v", got, want)
		}
		if back := RowsOf(got); len(back) != len(rows) || back[7].Text != rows[7].Text || len(back[7].Properties) != 3 {
			t.Fatalf("rows read back differ: %+v", back[7])
		}
		got.Release()
		if mem.reallocs > 0 {
			t.Errorf("%d buffers grew while appending %d rows (want none)", mem.reallocs, len(rows))
		}
	}
}
