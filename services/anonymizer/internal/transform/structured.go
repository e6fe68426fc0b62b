package transform

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/schema"
)

// Structured property values. Ingest keeps a nested property value (a Segment
// property that is an object or an array) as its JSON text, with the escapes
// the client wrote: Python's json.dumps writes "J\u00fcrgen M\u00fcller".
// Redacting that text as it is misses what any JSON reader decodes back. So a
// value that is a JSON object, array or string is decoded, every string in it — keys,
// values, and JSON encoded again inside a string — redacted and scrubbed as
// free text, and the value written again as compact JSON with no escape but
// those JSON requires (quotation mark, backslash, control characters): no
// \uXXXX spelling of a letter and no \/ survives for a reader to undo.

// maxJSONDepth bounds the nesting a structured value may have (objects,
// arrays, and JSON inside a string); a deeper value is redacted as text.
const maxJSONDepth = 32

// errTooDeep stops the walk of a value nested deeper than maxJSONDepth.
var errTooDeep = errors.New("nested too deep")

// redactValue redacts one allowlisted property value: structured (a JSON
// object, array or string) leaf by leaf, anything else as free text.
func (t *Transformer) redactValue(v string, e *schema.InteractionEvent, ns []needle) string {
	if out, ok := t.redactJSON(v, e, ns, 0); ok {
		return out
	}
	return t.redactText(v, e, ns)
}

// looksStructured reports whether s may be a JSON object, array or string
// (a string holding a JSON string is text encoded twice).
func looksStructured(s string) bool {
	s = strings.TrimLeft(s, " \t\r\n")
	return s != "" && (s[0] == '{' || s[0] == '[' || s[0] == '"')
}

// redactJSON decodes s as one JSON object, array or string and writes it
// again with every string redacted; ok is false when s is not one.
func (t *Transformer) redactJSON(s string, e *schema.InteractionEvent, ns []needle, depth int) (string, bool) {
	if !looksStructured(s) || depth >= maxJSONDepth {
		return "", false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var b strings.Builder
	b.Grow(len(s))
	w := jsonWalk{t: t, e: e, ns: ns, dec: dec, b: &b, depth: depth}
	if err := w.value(0); err != nil {
		return "", false
	}
	// exactly one value: trailing data means it is not a JSON value
	if _, err := dec.Token(); err != io.EOF {
		return "", false
	}
	return b.String(), true
}

type jsonWalk struct {
	t     *Transformer
	e     *schema.InteractionEvent
	ns    []needle
	dec   *json.Decoder
	b     *strings.Builder
	depth int
}

// value copies one JSON value from the decoder to the builder.
func (w *jsonWalk) value(level int) error {
	if w.depth+level > maxJSONDepth {
		return errTooDeep
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			w.b.WriteByte('{')
			for i := 0; w.dec.More(); i++ {
				if i > 0 {
					w.b.WriteByte(',')
				}
				k, err := w.dec.Token()
				if err != nil {
					return err
				}
				key, ok := k.(string)
				if !ok {
					return errors.New("object key is not a string")
				}
				writeJSONString(w.b, w.leaf(key, level))
				w.b.WriteByte(':')
				if err := w.value(level + 1); err != nil {
					return err
				}
			}
			w.b.WriteByte('}')
		case '[':
			w.b.WriteByte('[')
			for i := 0; w.dec.More(); i++ {
				if i > 0 {
					w.b.WriteByte(',')
				}
				if err := w.value(level + 1); err != nil {
					return err
				}
			}
			w.b.WriteByte(']')
		default:
			return errors.New("unexpected delimiter")
		}
		_, err := w.dec.Token() // the closing delimiter
		return err
	case string:
		writeJSONString(w.b, w.leaf(v, level))
	case json.Number:
		w.b.WriteString(v.String())
	case bool:
		if v {
			w.b.WriteString("true")
		} else {
			w.b.WriteString("false")
		}
	case nil:
		w.b.WriteString("null")
	}
	return nil
}

// leaf redacts one decoded string: JSON encoded inside it is walked in turn.
func (w *jsonWalk) leaf(s string, level int) string {
	if inner, ok := w.t.redactJSON(s, w.e, w.ns, w.depth+level+1); ok {
		return inner
	}
	return w.t.redactText(s, w.e, w.ns)
}

// writeJSONString writes s as a JSON string with only the escapes JSON
// requires: quotation mark, backslash and control characters (and invalid
// UTF-8 as U+FFFD). Everything else, including non-ASCII letters, <, > and &,
// is written as itself.
func writeJSONString(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString("\uFFFD")
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteByte('"')
}
