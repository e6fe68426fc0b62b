package producer

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// A request body is parsed once, by fastjson, into a tree of values that the
// decoders then walk. encoding/json stays the judge of the rare bodies fastjson
// handles differently, so that the decoders accept exactly what encoding/json
// accepts and decode names and strings as it does:
//
//   - A body fastjson does not validate or parse (a syntax error, trailing data,
//     nesting deeper than fastjson's MaxDepth of 300), or whose validity
//     fastjson.Validate cannot be trusted with (see escapesAndControls), goes
//     through json.Decoder once, as before, for its verdict and its wording of
//     the error; the value it finds is then parsed by fastjson.
//   - String values are decoded from their text: as is when it holds no escape
//     and is valid UTF-8, else by json.Unmarshal (invalid UTF-8 becomes U+FFFD).
//   - fastjson unescapes member names itself, best effort. A name that may have
//     come out differently from encoding/json (a backslash, U+FFFD or invalid
//     UTF-8 after unescaping) makes the decode start again on encoding/json's
//     values (jdoc.slow): rare, and then as slow as before.
//   - Nesting deeper than fastjson's limit but within encoding/json's (10000) is
//     also decoded on encoding/json's values.

var parserPool fastjson.ParserPool

// jdoc is the state of one decode.
type jdoc struct {
	parser  *fastjson.Parser
	top     []byte    // text of the body's JSON value
	slow    bool      // walk encoding/json's values rather than fastjson's
	redo    bool      // a name fastjson may have unescaped differently: decode again, slow
	scratch []byte    // text of the last scalar read
	mbuf    []jmember // members of the objects being walked
	names   [][]byte  // names of the objects being searched for duplicates
}

// jval is one JSON value of the body: a fastjson value, or (slow) its text.
// The zero jval is no value.
type jval struct {
	d   *jdoc
	fv  *fastjson.Value
	raw []byte
}

// jmember is a member of an object.
type jmember struct {
	key string
	val jval
}

func newDoc() *jdoc { return &jdoc{parser: parserPool.Get()} }

func (d *jdoc) release() {
	parserPool.Put(d.parser)
	d.parser = nil
}

// parse parses the body, which must be one JSON value, as json.Decoder's Decode,
// More and Token would: white space and a closing bracket or brace may follow it.
// The value must be an object.
func (d *jdoc) parse(body []byte, p *problems) (jval, bool) {
	v, ok := d.parseValue(body, p)
	if ok && v.kind() != '{' {
		p.add("body", "must be an object")
		return jval{}, false
	}
	return v, ok
}

// parseValue is parse for a body of any JSON value (Mixpanel's arrays).
func (d *jdoc) parseValue(body []byte, p *problems) (jval, bool) {
	var v jval
	ok := false
	if !escapesAndControls(body) {
		v, ok = d.parseFast(body)
	}
	if ok {
		d.top = body
	} else {
		// Rare: encoding/json words the error, or finds the value fastjson could not.
		dec := json.NewDecoder(bytes.NewReader(body))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.add("body", "invalid JSON: %v", err)
			return jval{}, false
		}
		if dec.More() {
			p.add("body", "trailing data after the JSON value")
			return jval{}, false
		}
		if _, err := dec.Token(); err == nil {
			p.add("body", "trailing data after the JSON value")
			return jval{}, false
		}
		d.top = raw
		if fv, err := d.parser.ParseBytes(raw); err == nil { // valid: encoding/json says so
			v = jval{d: d, fv: fv}
		} else { // deeper than fastjson goes
			d.slow = true
			v = d.root()
		}
	}
	return v, true
}

// escapesAndControls reports whether text holds both a backslash and a control
// character: fastjson's Validate misses a control character in a string before
// an escape sequence, so encoding/json must judge such a body.
func escapesAndControls(text []byte) bool {
	if bytes.IndexByte(text, '\\') < 0 {
		return false
	}
	for _, c := range text {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func (d *jdoc) parseFast(text []byte) (jval, bool) {
	if fastjson.ValidateBytes(text) != nil { // fastjson's parser alone is lax about numbers and strings
		return jval{}, false
	}
	fv, err := d.parser.ParseBytes(text)
	if err != nil {
		return jval{}, false
	}
	return jval{d: d, fv: fv}, true
}

// root returns the body's value; after redo, encoding/json's.
func (d *jdoc) root() jval { return jval{d: d, raw: bytes.TrimSpace(d.top)} }

// again prepares the decode to start again on encoding/json's values.
func (d *jdoc) again() jval {
	d.slow, d.redo = true, false
	return d.root()
}

// kind is '{', '[', '"', 'n' (null), 't', 'f' or '0' (number); 0 for no value.
func (v jval) kind() byte {
	k, _ := v.scalar()
	return k
}

// scalar returns the kind and, for anything but an object or array, the text
// of the value (valid until the next call).
func (v jval) scalar() (byte, []byte) {
	var text []byte
	switch {
	case v.d == nil:
		return 0, nil
	case v.fv != nil:
		if v.fv.GetObject() != nil {
			return '{', nil
		}
		if v.fv.GetArray() != nil {
			return '[', nil
		}
		// A string is still as in the body: MarshalTo returns its text, where
		// Type would unescape it (best effort).
		v.d.scratch = v.fv.MarshalTo(v.d.scratch[:0])
		text = v.d.scratch
	default:
		text = v.raw
	}
	if len(text) == 0 {
		return 0, nil
	}
	switch c := text[0]; c {
	case '{', '[':
		return c, nil
	case '"', 'n', 't', 'f':
		return c, text
	default:
		return '0', text
	}
}

// text returns the value of a string (kind '"'), decoded as encoding/json does.
func (v jval) text() string {
	_, q := v.scalar()
	if len(q) < 2 {
		return ""
	}
	if in := q[1 : len(q)-1]; plainString(in) {
		return string(in)
	}
	var s string
	_ = json.Unmarshal(q, &s) // valid: the body was validated
	return s
}

// plainString reports whether string text needs no decoding.
func plainString(in []byte) bool {
	for _, c := range in {
		if c == '\\' || c >= utf8.RuneSelf {
			return bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in)
		}
	}
	return true
}

// compact returns the compact text of the value (valid until the next call).
func (v jval) compact() []byte {
	if v.fv != nil {
		// Member names not yet walked are as in the body, and so are strings.
		v.d.scratch = v.fv.MarshalTo(v.d.scratch[:0])
		return v.d.scratch
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, v.raw)
	return buf.Bytes()
}

// elems returns the elements of an array.
func (v jval) elems() []jval {
	if v.fv != nil {
		a := v.fv.GetArray()
		out := make([]jval, len(a))
		for i, e := range a {
			out[i] = jval{d: v.d, fv: e}
		}
		return out
	}
	var out []jval
	dec := json.NewDecoder(bytes.NewReader(v.raw))
	_, _ = dec.Token()
	for dec.More() {
		var raw json.RawMessage
		_ = dec.Decode(&raw)
		out = append(out, jval{d: v.d, raw: bytes.TrimSpace(raw)})
	}
	return out
}

// members returns the members of an object, sorted by name so that problems
// come out stable. Their names are unique: the decoders refuse a body with a
// repeated name before they walk it (duplicateMembers). They are valid until
// release(mark).
func (v jval) members() (ms []jmember, mark int) {
	d := v.d
	mark = len(d.mbuf)
	if v.fv != nil {
		v.fv.GetObject().Visit(func(k []byte, fv *fastjson.Value) {
			if suspectName(k) {
				d.redo = true
			}
			d.mbuf = append(d.mbuf, jmember{key: knownName(k), val: jval{d: d, fv: fv}})
		})
	} else {
		dec := json.NewDecoder(bytes.NewReader(v.raw))
		_, _ = dec.Token()
		for dec.More() {
			t, _ := dec.Token()
			k, _ := t.(string)
			var raw json.RawMessage
			_ = dec.Decode(&raw)
			d.mbuf = append(d.mbuf, jmember{key: k, val: jval{d: d, raw: bytes.TrimSpace(raw)}})
		}
	}
	ms = d.mbuf[mark:]
	if len(ms) > 1 {
		slices.SortFunc(ms, func(a, b jmember) int { return strings.Compare(a.key, b.key) })
	}
	return ms, mark
}

func (d *jdoc) releaseMembers(mark int) {
	clear(d.mbuf[mark:])
	d.mbuf = d.mbuf[:mark]
}

// suspectName reports whether fastjson's unescaping of a name may differ from
// encoding/json's: it leaves bad surrogate escapes as they are or turns two into
// one U+FFFD, and keeps invalid UTF-8.
func suspectName(k []byte) bool {
	for _, c := range k {
		if c == '\\' || c >= utf8.RuneSelf {
			return bytes.IndexByte(k, '\\') >= 0 || !utf8.Valid(k) || bytes.Contains(k, []byte("\uFFFD"))
		}
	}
	return false
}

// knownName returns a member name as a string, without copying it when it is
// one of the names the decoders look for.
func knownName(k []byte) string {
	switch string(k) {
	case "events":
		return "events"
	case "event_id":
		return "event_id"
	case "event_type":
		return "event_type"
	case "tenant_id":
		return "tenant_id"
	case "user_id":
		return "user_id"
	case "anonymous_id":
		return "anonymous_id"
	case "session_id":
		return "session_id"
	case "occurred_at":
		return "occurred_at"
	case "jurisdiction":
		return "jurisdiction"
	case "gpc":
		return "gpc"
	case "ip":
		return "ip"
	case "user_agent":
		return "user_agent"
	case "locale":
		return "locale"
	case "location":
		return "location"
	case "text":
		return "text"
	case "properties":
		return "properties"
	case "actor_name":
		return "actor_name"
	case "actor_email":
		return "actor_email"
	case "actor_handle":
		return "actor_handle"
	case "client_consent":
		return "client_consent"
	}
	return string(k)
}

// decodeDoc parses body with parse (jdoc.parse or jdoc.parseValue) and runs
// decode over the value; when that pass found the document must be read again
// (d.redo), decode runs once more over d.again() with fresh problems.
func decodeDoc(body []byte, parse func(*jdoc, []byte, *problems) (jval, bool), decode func(jval, *problems) error) error {
	d := newDoc()
	defer d.release()
	var p problems
	top, ok := parse(d, body, &p)
	if !ok {
		return p.err()
	}
	err := decode(top, &p)
	if d.redo {
		p = problems{}
		err = decode(d.again(), &p)
	}
	return err
}

// object is an object's members by name, for the Segment decoder, which looks
// members up rather than walking them.
type object struct {
	ms []jmember // sorted by name, unique (duplicateMembers)
}

func (o object) get(k string) (jval, bool) {
	i, ok := slices.BinarySearchFunc(o.ms, k, func(m jmember, k string) int { return strings.Compare(m.key, k) })
	if !ok {
		return jval{}, false
	}
	return o.ms[i].val, true
}

// str is member k as a string of at most limit bytes ("" when absent), a
// problem located at path.k.
func (o object) str(path, k string, limit int, p *problems) string {
	v, ok := o.get(k)
	if !ok {
		return ""
	}
	s, _ := str(v, loc{path, k}, limit, p)
	return s
}

// ident is member k under the identifier rule ("" when absent), a problem
// located at path.k.
func (o object) ident(path, k string, p *problems) string {
	if v, ok := o.get(k); ok {
		return ident(v, loc{path, k}, p)
	}
	return ""
}

// objectOf returns the members of an object value.
func objectOf(v jval) object {
	ms, _ := v.members()
	return object{ms: ms}
}
