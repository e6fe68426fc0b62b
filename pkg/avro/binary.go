package avro

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// The hot records (InteractionEvent, CuratedEvent, ConsentDecision) are read and
// written once per event by every stage. goavro's generic codec goes through
// map[string]any (one allocation per field, union wrappers, boxed values) and
// dominated the stages' CPU profiles; the functions below read and write the
// same bytes for exactly the schemas in schemas/*.avsc, field by field. goavro
// stays the authority: a Codec uses these only for records written with the
// very schema it registered from the schema file (same registry id), everything
// else (older writer schemas, other registries' ids) goes through goavro, and
// binary_test.go proves the two byte-identical over random records.

// errShort is the error of a record that ends inside a value.
var errShort = io.ErrShortBuffer

// binReader reads Avro binary values from a byte slice, remembering the first
// error; after an error every read returns a zero value.
type binReader struct {
	b   []byte
	err error
}

func (r *binReader) fail(field string, err error) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %w", field, err)
	}
}

// long reads a zig-zag varint, as goavro does (no bound on the byte count
// beyond the 64 bits it shifts into).
func (r *binReader) long(field string) int64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	var shift uint
	for i, c := range r.b {
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			r.b = r.b[i+1:]
			return int64(v>>1) ^ -int64(v&1)
		}
		shift += 7
	}
	r.fail(field, errShort)
	return 0
}

func (r *binReader) bytes(field string) []byte {
	n := r.long(field)
	if r.err != nil {
		return nil
	}
	if n < 0 {
		r.fail(field, fmt.Errorf("negative length %d", n))
		return nil
	}
	if n > int64(len(r.b)) {
		r.fail(field, errShort)
		return nil
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

func (r *binReader) str(field string) string { return string(r.bytes(field)) }

// skipStr checks a string's length against the record without copying it.
func (r *binReader) skipStr(field string) { r.bytes(field) }

// branch reads a ["null", X] union index: false for null, true for X.
func (r *binReader) branch(field string) bool {
	switch i := r.long(field); {
	case r.err != nil:
		return false
	case i == 0:
		return false
	case i == 1:
		return true
	default:
		r.fail(field, fmt.Errorf("union index %d out of range", i))
		return false
	}
}

func (r *binReader) optStr(field string) string {
	if r.branch(field) {
		return r.str(field)
	}
	return ""
}

// optBytes reads a ["null","bytes"] union: nil for null, a copy otherwise
// (empty but not nil for zero bytes, as goavro).
func (r *binReader) optBytes(field string) []byte {
	if r.branch(field) {
		if b := r.bytes(field); r.err == nil {
			return append([]byte{}, b...)
		}
	}
	return nil
}

func (r *binReader) skipOptStr(field string) {
	if r.branch(field) {
		r.skipStr(field)
	}
}

func (r *binReader) boolean(field string) bool {
	if r.err != nil {
		return false
	}
	if len(r.b) < 1 {
		r.fail(field, errShort)
		return false
	}
	c := r.b[0]
	r.b = r.b[1:]
	switch c {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail(field, fmt.Errorf("boolean byte %d", c))
	return false
}

// millis reads a timestamp-millis as goavro's reader, after the typed records'
// conversion, would: UTC.
func (r *binReader) millis(field string) time.Time {
	ms := r.long(field)
	if r.err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (r *binReader) optMillis(field string) time.Time {
	if r.branch(field) {
		return r.millis(field)
	}
	return time.Time{}
}

// blockCount reads an array/map block header: the item count (a negative count
// is followed by the block's byte size, which is read and ignored), bounded like
// goavro's.
func (r *binReader) blockCount(field string) int64 {
	n := r.long(field)
	if r.err != nil {
		return 0
	}
	if n < 0 {
		if n == math.MinInt64 {
			r.fail(field, fmt.Errorf("block count %d", n))
			return 0
		}
		n = -n
		r.long(field)
	}
	if n > maxCollectionItems {
		r.fail(field, fmt.Errorf("block count %d exceeds %d", n, maxCollectionItems))
		return 0
	}
	return n
}

// strMap reads a map of strings; an empty map is nil (as the typed records
// read it). A key that repeats is an error, as in goavro. With skip the map is
// checked (keys compared in place, sorted) but not built.
func (r *binReader) strMap(field string, skip bool) map[string]string {
	var m map[string]string
	var keys [][]byte
	for n := r.blockCount(field); n != 0 && r.err == nil; n = r.blockCount(field) {
		if m == nil && !skip {
			m = make(map[string]string, n)
		}
		for ; n > 0 && r.err == nil; n-- {
			k := r.bytes(field)
			v := r.bytes(field)
			switch {
			case r.err != nil:
			case skip:
				keys = append(keys, k)
			default:
				if _, dup := m[string(k)]; dup {
					r.fail(field, fmt.Errorf("duplicate key %q", k))
					break
				}
				m[string(k)] = string(v)
			}
		}
	}
	if len(keys) > 1 && r.err == nil {
		slices.SortFunc(keys, bytes.Compare)
		for i := 1; i < len(keys); i++ {
			if bytes.Equal(keys[i-1], keys[i]) {
				r.fail(field, fmt.Errorf("duplicate key %q", keys[i]))
				break
			}
		}
	}
	return m
}

func (r *binReader) end() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%d trailing bytes", len(r.b))
	}
	return nil
}

// appendLong appends a zig-zag varint.
func appendLong(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}

func appendStr(b []byte, s string) []byte {
	b = appendLong(b, int64(len(s)))
	return append(b, s...)
}

// appendOptStr appends a ["null","string"] union: null for "" (the typed
// records' rule).
func appendOptStr(b []byte, s string) []byte {
	if s == "" {
		return append(b, 0)
	}
	return appendStr(append(b, 2), s)
}

// appendOptBytes appends a ["null","bytes"] union: null for nil (as
// schema's optBytes), the bytes otherwise, even when empty.
func appendOptBytes(b []byte, v []byte) []byte {
	if v == nil {
		return append(b, 0)
	}
	b = appendLong(append(b, 2), int64(len(v)))
	return append(b, v...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// appendMillis appends t as goavro does (seconds·1000 + whole milliseconds).
func appendMillis(b []byte, t time.Time) []byte {
	return appendLong(b, t.Unix()*1e3+int64(t.Nanosecond()/1e6))
}

func appendOptMillis(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	return appendMillis(append(b, 2), t)
}

// appendStrMap appends a map of strings in blocks of at most
// maxCollectionItems entries, as goavro does, with the keys in sorted order
// (goavro writes Go's random map order; readers ignore the order, and sorted
// keys make one record always the same bytes).
func appendStrMap(b []byte, m map[string]string) []byte {
	// The entries are sorted in a small array on the stack (a map of up to 16
	// entries allocates nothing) and written without looking them up again.
	var small [16]strEntry
	entries := small[:0]
	for k, v := range m {
		entries = append(entries, strEntry{k, v})
	}
	if len(entries) > 1 {
		slices.SortFunc(entries, func(x, y strEntry) int { return strings.Compare(x.k, y.k) })
	}
	for len(entries) > 0 {
		block := entries[:min(len(entries), maxCollectionItems)]
		entries = entries[len(block):]
		b = appendLong(b, int64(len(block)))
		for _, e := range block {
			b = appendStr(appendStr(b, e.k), e.v)
		}
	}
	return append(b, 0)
}

type strEntry struct{ k, v string }

var errEnum = errors.New("not a symbol of the enum")
