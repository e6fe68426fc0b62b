package table

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Builder turns rows into Arrow record batches of an Arrow schema derived from
// the table's Iceberg schema (table.SchemaToArrowSchema, with field ids), whose
// fields are those of Columns in that order.
type Builder struct {
	b     *array.RecordBuilder
	rows  int
	bytes int64
}

// NewBuilder returns a builder for schema.
func NewBuilder(schema *arrow.Schema) (*Builder, error) {
	if schema.NumFields() != len(Columns) {
		return nil, fmt.Errorf("arrow schema has %d fields, the dataset %d", schema.NumFields(), len(Columns))
	}
	for i, c := range Columns {
		if schema.Field(i).Name != c.Name {
			return nil, fmt.Errorf("arrow field %d is %q, want %q", i, schema.Field(i).Name, c.Name)
		}
	}
	return newBuilder(memory.DefaultAllocator, schema), nil
}

func newBuilder(mem memory.Allocator, schema *arrow.Schema) *Builder {
	return &Builder{b: array.NewRecordBuilder(mem, schema)}
}

func str(b array.Builder, v string, nullable bool) {
	sb := b.(*array.StringBuilder)
	if v == "" && nullable {
		sb.AppendNull()
		return
	}
	sb.Append(v)
}

func ts(b array.Builder, t time.Time, nullable bool) {
	tb := b.(*array.TimestampBuilder)
	if t.IsZero() && nullable {
		tb.AppendNull()
		return
	}
	tb.Append(arrow.Timestamp(t.UnixMicro()))
}

// Append adds a row.
func (b *Builder) Append(r *Row) {
	f := b.b.Fields()
	str(f[0], r.EventID, false)
	str(f[1], r.EventType, false)
	str(f[2], r.Subject, false)
	str(f[3], r.Tenant, false)
	str(f[4], r.Session, true)
	ts(f[5], r.ReceivedAt, false)
	ts(f[6], r.OccurredAt, true)
	str(f[7], r.Jurisdiction, true)
	f[8].(*array.BooleanBuilder).Append(r.GPC)
	str(f[9], r.IPPrefix, true)
	str(f[10], r.Locale, true)
	str(f[11], r.Region, true)
	str(f[12], r.Text, true)
	lb := f[13].(*array.ListBuilder)
	lb.Append(true)
	sb := lb.ValueBuilder().(*array.StructBuilder)
	for _, p := range r.Properties {
		sb.Append(true)
		sb.FieldBuilder(0).(*array.StringBuilder).Append(p.Key)
		sb.FieldBuilder(1).(*array.StringBuilder).Append(p.Value)
		b.bytes += int64(len(p.Key) + len(p.Value))
	}
	str(f[14], r.Source, false)
	str(f[15], r.Purpose, false)
	str(f[16], r.ConsentVersion, true)
	str(f[17], r.PolicyVersion, false)
	str(f[18], r.TenantConsentVersion, true)
	f[19].(*array.Int32Builder).Append(r.KafkaPartition)
	f[20].(*array.Int64Builder).Append(r.KafkaOffset)
	b.rows++
	b.bytes += int64(len(r.EventID)+len(r.EventType)+len(r.Subject)+len(r.Tenant)+len(r.Session)+len(r.Jurisdiction)+
		len(r.IPPrefix)+len(r.Locale)+len(r.Region)+len(r.Text)+len(r.Source)+len(r.Purpose)+len(r.ConsentVersion)+
		len(r.PolicyVersion)+len(r.TenantConsentVersion)) + 40
}

// AppendRows adds rows, with every column's buffers sized for them first: a
// builder starts empty after each NewBatch, and growing it row by row
// reallocated and copied each buffer about a dozen times per batch.
func (b *Builder) AppendRows(rows []*Row) {
	f := b.b.Fields()
	n := len(rows)
	var data [len(stringCols)]int
	props, propData := 0, [2]int{}
	for _, r := range rows {
		for c, get := range stringCols {
			data[c] += len(get(r))
		}
		props += len(r.Properties)
		for _, p := range r.Properties {
			propData[0] += len(p.Key)
			propData[1] += len(p.Value)
		}
	}
	for i := range f {
		f[i].Reserve(n)
	}
	for c, i := range stringColIdx {
		f[i].(*array.StringBuilder).ReserveData(data[c])
	}
	sb := f[13].(*array.ListBuilder).ValueBuilder().(*array.StructBuilder)
	sb.Reserve(props)
	sb.FieldBuilder(0).(*array.StringBuilder).ReserveData(propData[0])
	sb.FieldBuilder(1).(*array.StringBuilder).ReserveData(propData[1])
	for _, r := range rows {
		b.Append(r)
	}
}

// stringCols are the string columns of a row, at stringColIdx in Columns.
var (
	stringCols = [...]func(*Row) string{
		func(r *Row) string { return r.EventID }, func(r *Row) string { return r.EventType },
		func(r *Row) string { return r.Subject }, func(r *Row) string { return r.Tenant },
		func(r *Row) string { return r.Session }, func(r *Row) string { return r.Jurisdiction },
		func(r *Row) string { return r.IPPrefix }, func(r *Row) string { return r.Locale },
		func(r *Row) string { return r.Region }, func(r *Row) string { return r.Text },
		func(r *Row) string { return r.Source }, func(r *Row) string { return r.Purpose },
		func(r *Row) string { return r.ConsentVersion }, func(r *Row) string { return r.PolicyVersion },
		func(r *Row) string { return r.TenantConsentVersion },
	}
	stringColIdx = [len(stringCols)]int{0, 1, 2, 3, 4, 7, 9, 10, 11, 12, 14, 15, 16, 17, 18}
)

// Rows is the number of rows appended since the last NewBatch.
func (b *Builder) Rows() int { return b.rows }

// Bytes estimates the uncompressed size of everything appended so far.
func (b *Builder) Bytes() int64 { return b.bytes }

// NewBatch returns the rows appended since the last call as a record batch
// (the caller releases it) and resets the row count.
func (b *Builder) NewBatch() arrow.RecordBatch {
	b.rows = 0
	return b.b.NewRecordBatch()
}

// Release frees the builder.
func (b *Builder) Release() { b.b.Release() }

// stringCol reads a string column whatever its Arrow string type.
type stringCol interface {
	IsNull(int) bool
	Value(int) string
}

// Cols gives row-wise access to the columns of a record batch read from the
// table (any projection that holds them).
type Cols struct {
	rec arrow.RecordBatch
}

// ColsOf wraps rec.
func ColsOf(rec arrow.RecordBatch) Cols { return Cols{rec} }

func (c Cols) col(name string) arrow.Array {
	idx := c.rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil
	}
	return c.rec.Column(idx[0])
}

// String returns string column name ("" when absent or null).
func (c Cols) String(name string) func(i int) string {
	a, ok := c.col(name).(stringCol)
	if !ok {
		return func(int) string { return "" }
	}
	return func(i int) string {
		if a.IsNull(i) {
			return ""
		}
		return a.Value(i)
	}
}

// Int64 returns an integer column (kafka_offset, kafka_partition) as int64.
func (c Cols) Int64(name string) func(i int) int64 {
	switch a := c.col(name).(type) {
	case *array.Int64:
		return func(i int) int64 { return a.Value(i) }
	case *array.Int32:
		return func(i int) int64 { return int64(a.Value(i)) }
	}
	return func(int) int64 { return -1 }
}

// Filter returns the rows of rec for which keep is true (rec itself, retained,
// when it keeps all), and how many it dropped.
func Filter(ctx context.Context, rec arrow.RecordBatch, keep func(i int) bool) (arrow.RecordBatch, int, error) {
	n := int(rec.NumRows())
	mask := array.NewBooleanBuilder(memory.DefaultAllocator)
	defer mask.Release()
	dropped := 0
	for i := range n {
		k := keep(i)
		if !k {
			dropped++
		}
		mask.Append(k)
	}
	if dropped == 0 {
		rec.Retain()
		return rec, 0, nil
	}
	m := mask.NewBooleanArray()
	defer m.Release()
	out, err := compute.FilterRecordBatch(ctx, rec, m, compute.DefaultFilterOptions())
	if err != nil {
		return nil, 0, fmt.Errorf("filter rows: %w", err)
	}
	return out, dropped, nil
}

// RowsOf decodes every row of rec (tests and small reads; rec must hold every
// column).
func RowsOf(rec arrow.RecordBatch) []Row {
	c := ColsOf(rec)
	s := func(n string) func(int) string { return c.String(n) }
	eventID, eventType, subject, tenant, session := s("event_id"), s("event_type"), s("subject"), s("tenant"), s("session")
	jur, ip, locale, region, text := s("jurisdiction"), s("ip_prefix"), s("locale"), s("region"), s("text")
	source, purpose, cv, pv, tcv := s("source"), s("purpose"), s("consent_version"), s("policy_version"), s("tenant_consent_version")
	part, off := c.Int64("kafka_partition"), c.Int64("kafka_offset")
	tsCol := func(name string) func(int) time.Time {
		a, ok := c.col(name).(*array.Timestamp)
		if !ok {
			return func(int) time.Time { return time.Time{} }
		}
		unit := a.DataType().(*arrow.TimestampType).Unit
		return func(i int) time.Time {
			if a.IsNull(i) {
				return time.Time{}
			}
			return a.Value(i).ToTime(unit).UTC()
		}
	}
	recv, occ := tsCol("received_at"), tsCol("occurred_at")
	gpc, _ := c.col("gpc").(*array.Boolean)
	props, _ := c.col("properties").(*array.List)
	out := make([]Row, rec.NumRows())
	for i := range out {
		r := Row{EventID: eventID(i), EventType: eventType(i), Subject: subject(i), Tenant: tenant(i), Session: session(i),
			ReceivedAt: recv(i), OccurredAt: occ(i), Jurisdiction: jur(i), IPPrefix: ip(i), Locale: locale(i), Region: region(i),
			Text: text(i), Source: source(i), Purpose: purpose(i), ConsentVersion: cv(i), PolicyVersion: pv(i),
			TenantConsentVersion: tcv(i), KafkaPartition: int32(part(i)), KafkaOffset: off(i), Properties: []Property{}}
		if gpc != nil {
			r.GPC = gpc.Value(i)
		}
		if props != nil && !props.IsNull(i) {
			st := props.ListValues().(*array.Struct)
			k, _ := st.Field(0).(stringCol)
			v, _ := st.Field(1).(stringCol)
			start, end := props.ValueOffsets(i)
			for j := int(start); j < int(end); j++ {
				r.Properties = append(r.Properties, Property{Key: k.Value(j), Value: v.Value(j)})
			}
		}
		out[i] = r
	}
	return out
}
