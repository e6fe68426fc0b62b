package producer

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/valyala/fastjson"
)

// A member name that appears twice in one object is refused (400), wherever
// the object is in the body: parsers disagree on which of the two counts
// (encoding/json and JavaScript keep the last, fastjson's Get and many
// gateways the first), so {"user_id":"a","user_id":"b"} would be user a to one
// reader and user b to another: a gateway in front of ingest could check one
// person's consent while the producer records another's. The consent API
// refuses duplicates too (pkg/strictjson). Names are compared as encoding/json
// decodes them: "a" and "\u0061" are the same name.

// msgDuplicate is the problem of a repeated member.
const msgDuplicate = "duplicate member"

// duplicateMembers reports each member name repeated in an object anywhere in
// v, located under path (events[0].user_id), once per path, and reports
// whether there was any. The decoders call it before they read the body, and
// answer with these problems only.
func duplicateMembers(v jval, path string, p *problems) bool {
	if v.fv != nil {
		// A walk that allocates nothing finds whether there is any; only a
		// refused body pays for the paths.
		if !v.d.hasDuplicates(v.fv) {
			return false
		}
		n := len(p.list)
		reported := map[string]bool{}
		v.d.reportDuplicates(v.fv, path, reported, p)
		return len(p.list) > n
	}
	return rawDuplicates(v.raw, path, p)
}

// hasDuplicates reports whether an object in fv repeats a name. A name
// fastjson may have unescaped differently from encoding/json marks the
// document for reading again (d.redo), as members does.
func (d *jdoc) hasDuplicates(fv *fastjson.Value) bool {
	if o := fv.GetObject(); o != nil {
		mark := len(d.names)
		found := false
		o.Visit(func(k []byte, v *fastjson.Value) {
			if suspectName(k) {
				d.redo = true
			}
			d.names = append(d.names, k)
			if !found && d.hasDuplicates(v) {
				found = true
			}
		})
		names := d.names[mark:]
		if !found && len(names) > 1 {
			if len(names) <= 16 { // small objects: compare each pair
			pairs:
				for i := 1; i < len(names); i++ {
					for j := 0; j < i; j++ {
						if bytes.Equal(names[i], names[j]) {
							found = true
							break pairs
						}
					}
				}
			} else {
				slices.SortFunc(names, bytes.Compare)
				for i := 1; i < len(names); i++ {
					if bytes.Equal(names[i], names[i-1]) {
						found = true
						break
					}
				}
			}
		}
		clear(names)
		d.names = d.names[:mark]
		return found
	}
	for _, e := range fv.GetArray() {
		if d.hasDuplicates(e) {
			return true
		}
	}
	return false
}

// reportDuplicates adds a problem for each repeated name of each object in
// fv, where it repeats, in the order of the body (as rawDuplicates).
func (d *jdoc) reportDuplicates(fv *fastjson.Value, path string, reported map[string]bool, p *problems) {
	if o := fv.GetObject(); o != nil {
		seen := map[string]bool{}
		o.Visit(func(k []byte, v *fastjson.Value) {
			name := string(k)
			at := join(path, name)
			if seen[name] && !reported[at] {
				reported[at] = true
				p.add(at, msgDuplicate)
			}
			seen[name] = true
			d.reportDuplicates(v, at, reported, p)
		})
		return
	}
	for i, e := range fv.GetArray() {
		d.reportDuplicates(e, index(path, i), reported, p)
	}
}

// rawDuplicates is duplicateMembers over the text of a value (the document
// read by encoding/json: deeper than fastjson goes, or names fastjson may
// unescape differently), in one pass over json.Decoder's tokens. Problems come
// in the order the repeated names appear in the body.
func rawDuplicates(raw []byte, path string, p *problems) bool {
	type frame struct {
		path     string
		obj      bool
		wantName bool            // object: a name or '}' comes next
		names    map[string]bool // object: names read so far
		key      string          // object: the name of the member being read
		n        int             // array: index of the next element
	}
	var stack []frame
	// child returns the path of the value about to be read, counting it.
	child := func() string {
		if len(stack) == 0 {
			return path
		}
		f := &stack[len(stack)-1]
		if f.obj {
			return join(f.path, f.key)
		}
		f.n++
		return index(f.path, f.n-1)
	}
	// ended records that a value ended: its object wants a name next.
	ended := func() {
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].wantName = true
		}
	}
	reported := map[string]bool{}
	found := false
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		t, err := dec.Token()
		if err != nil { // the end: the text was validated before
			return found
		}
		if n := len(stack); n > 0 && stack[n-1].wantName {
			if t == json.Delim('}') {
				stack = stack[:n-1]
				ended()
				continue
			}
			f := &stack[n-1]
			k, _ := t.(string)
			f.key, f.wantName = k, false
			if at := join(f.path, k); f.names[k] && !reported[at] {
				reported[at] = true
				p.add(at, msgDuplicate)
				found = true
			}
			f.names[k] = true
			continue
		}
		switch t {
		case json.Delim('{'):
			stack = append(stack, frame{path: child(), obj: true, wantName: true, names: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, frame{path: child()})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			ended()
		default: // a scalar
			if n := len(stack); n > 0 && !stack[n-1].obj {
				stack[n-1].n++
			}
			ended()
		}
	}
}

// credentialMember returns the string value of the member called name in o:
// the credential an SDK may send in its body (Segment's writeKey, Amplitude's
// api_key), read by its exact name as every member is. Members whose names
// are equal ignoring letter case ("writeKey", "WriteKey", "WRITEKEY") are
// refused as duplicates (located under path, every one after the first):
// readers that match names case-insensitively, as Go's encoding/json does
// into a struct, would take the credential from another member than this
// reader, so {"writeKey":"a","WriteKey":"b"} would authenticate as a here and
// as b in front of it. A lone case variant is an unknown member, ignored as
// the SDKs' services ignore unknown members: it authenticates nothing. ok is
// false when the member is absent or not a string.
func credentialMember(o object, name, path string, p *problems) (key string, ok bool) {
	var names []string // the names equal to name but for case, sorted
	for _, m := range o.ms {
		if strings.EqualFold(m.key, name) {
			names = append(names, m.key)
		}
	}
	for i, k := range names {
		switch {
		case i == 0:
		case k == names[i-1]:
			if i == 1 || k != names[i-2] { // a repeated name is named once
				p.add(join(path, k), msgDuplicate)
			}
		default:
			p.add(join(path, k), "%s (%s differs from %s only in letter case)", msgDuplicate, k, names[0])
		}
	}
	seen := len(names)
	if seen > 1 {
		return "", false
	}
	v, has := o.get(name)
	if !has || v.kind() != '"' {
		return "", false
	}
	return v.text(), true
}
