package producer

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
)

// The fast path of POST /v1/events: one streaming pass over the body straight
// into InteractionEvents, with no value tree, no sorted member lists and no
// paths. It decodes only bodies it can vouch for: strictly valid JSON whose
// every event passes every check. On anything else — a problem of any kind,
// more events than allowed, an escaped member name, a member name repeated in
// any object (duplicates.go), invalid UTF-8, deep nesting, data after the
// value — it gives up and DecodeEventsFor runs the
// full decoder (decodeDoc), which finds and words the problems exactly as
// before. So the fast path changes no answer: it returns either what the full
// decoder returns for a valid body or nothing (the differential tests in
// fastdecode_test.go hold it to that).
//
// Strings are substrings of the body (no allocation per field), decoded as encoding/json decodes them when they
// hold escapes.

// fastScan reads a body.
type fastScan struct {
	s     string
	i     int
	buf   []byte   // unescaping and compacting
	names []string // names of the client_consent objects being compacted
	// kept holds the last event types, locales and locations of this body
	// that passed checkKept (nextKept is where the next one goes): a request's
	// events repeat a few of them, and a locale's check (a BCP 47 parse) cost
	// more than the rest of an event. An array, not a map: a one-event body
	// allocates nothing for it.
	kept     [keptSlots]keptValue
	nextKept int
}

const keptSlots = 32

// seen reports whether k passed the check earlier in this body.
func (sc *fastScan) seen(k keptValue) bool {
	for _, v := range sc.kept {
		if v == k {
			return true
		}
	}
	return false
}

// keptValue is one checked value of a kept field.
type keptValue struct {
	field byte // 't' event type, 'l' locale, 'p' location
	v     string
}

// checkKept is checkKept for the fast path: each distinct value of a body is
// checked once (a value that fails sends the body to the full decoder anyway).
func (sc *fastScan) checkKept(ev *schema.InteractionEvent, p *problems) {
	var check schema.InteractionEvent // the fields not checked before
	var fresh [3]keptValue
	n := 0
	unseen := func(field byte, v string) bool {
		if v == "" {
			return false
		}
		k := keptValue{field, v}
		if sc.seen(k) {
			return false
		}
		fresh[n] = k
		n++
		return true
	}
	if unseen('t', ev.EventType) {
		check.EventType = ev.EventType
	}
	if unseen('l', ev.Locale) {
		check.Locale = ev.Locale
	}
	if unseen('p', ev.Location) {
		check.Location = ev.Location
	}
	if n == 0 {
		return
	}
	before := len(p.list) + len(p.forbidden)
	checkKept(&check, "", "", "", p)
	if len(p.list)+len(p.forbidden) == before {
		for _, k := range fresh[:n] {
			sc.kept[sc.nextKept] = k
			sc.nextKept = (sc.nextKept + 1) % keptSlots
		}
	}
}

// maxFastNames bounds the members of an object in client_consent that the
// fast path compares pairwise for a repeated name; a larger object goes to
// the full decoder.
const maxFastNames = 32

// maxFastDepth bounds nesting in client_consent; deeper values go to the full decoder.
const maxFastDepth = 200

// decodeEventsFast returns the events of body and true, or false when the full
// decoder must judge the body.
func decodeEventsFast(body []byte, maxEvents int, cred *auth.Credential) ([]schema.InteractionEvent, bool) {
	if maxEvents < 1 {
		return nil, false
	}
	// The strings of the events are substrings of body itself (DecodeEventsFor
	// says body must not change afterwards): a copy of it was a quarter of a
	// 500-event request's decode allocations.
	sc := fastScan{s: unsafe.String(unsafe.SliceData(body), len(body))}
	if !sc.ws() || sc.s[sc.i] != '{' {
		return nil, false
	}
	sc.i++
	key, ok := sc.key()
	if !ok {
		return nil, false
	}
	var out []schema.InteractionEvent
	if key == "events" {
		if !sc.colon() || sc.s[sc.i] != '[' {
			return nil, false
		}
		sc.i++
		if !sc.ws() || sc.s[sc.i] == ']' { // no event: a problem
			return nil, false
		}
		out = make([]schema.InteractionEvent, 0, min(maxEvents, 1+len(body)/256))
		for {
			if len(out) == maxEvents || sc.s[sc.i] != '{' {
				return nil, false
			}
			sc.i++
			k, ok := sc.key()
			if !ok {
				return nil, false
			}
			ev, ok := sc.event(k, cred)
			if !ok {
				return nil, false
			}
			out = append(out, ev)
			if !sc.ws() {
				return nil, false
			}
			if sc.s[sc.i] == ']' {
				sc.i++
				break
			}
			if sc.s[sc.i] != ',' {
				return nil, false
			}
			sc.i++
			if !sc.ws() {
				return nil, false
			}
		}
		if !sc.ws() || sc.s[sc.i] != '}' { // a batch holds only "events"
			return nil, false
		}
		sc.i++
	} else {
		ev, ok := sc.event(key, cred)
		if !ok {
			return nil, false
		}
		out = []schema.InteractionEvent{ev}
	}
	if sc.ws() { // data after the value
		return nil, false
	}
	return out, true
}

// ws skips white space and reports whether anything follows.
func (sc *fastScan) ws() bool {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return true
		}
	}
	return false
}

// colon reads the ':' after a member name and the white space after it.
func (sc *fastScan) colon() bool {
	if !sc.ws() || sc.s[sc.i] != ':' {
		return false
	}
	sc.i++
	return sc.ws()
}

// key reads a member name (plain: no escape, valid UTF-8) after '{' or ','.
func (sc *fastScan) key() (string, bool) {
	if !sc.ws() || sc.s[sc.i] != '"' {
		return "", false
	}
	start := sc.i + 1
	for j := start; j < len(sc.s); j++ {
		switch c := sc.s[j]; {
		case c == '"':
			sc.i = j + 1
			k := sc.s[start:j]
			return k, utf8.ValidString(k)
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// next reads the ',' or closing '}' after a member; end reports the '}'.
func (sc *fastScan) next() (end, ok bool) {
	if !sc.ws() {
		return false, false
	}
	switch sc.s[sc.i] {
	case '}':
		sc.i++
		return true, true
	case ',':
		sc.i++
		return false, true
	}
	return false, false
}

// event reads the members of an event object whose first name, key, was read.
func (sc *fastScan) event(key string, cred *auth.Credential) (schema.InteractionEvent, bool) {
	var ev schema.InteractionEvent
	var p problems
	var seen uint32 // bit i: the i-th case below was read; a repeat goes the full way
	for {
		if !sc.colon() {
			return ev, false
		}
		ok := true
		var bit uint32
		switch key {
		case "event_id":
			bit = 1 << 0
			var s string
			if s, ok = sc.str(maxIDLen); ok {
				ev.EventID = eventID(s, loc{}, &p)
			}
		case "event_type":
			bit = 1 << 1
			ev.EventType, ok = sc.str(maxShortLen)
		case "tenant_id":
			bit = 1 << 2
			ev.TenantID, ok = sc.ident()
		case "user_id":
			bit = 1 << 3
			ev.UserID, ok = sc.ident()
		case "anonymous_id":
			bit = 1 << 4
			ev.AnonymousID, ok = sc.ident()
		case "session_id":
			bit = 1 << 5
			ev.SessionID, ok = sc.ident()
		case "occurred_at":
			bit = 1 << 6
			ev.OccurredAt, ok = sc.timestamp(&p)
		case "jurisdiction":
			bit = 1 << 7
			var s string
			if s, ok = sc.str(maxShortLen); ok {
				ev.Jurisdiction = jurisdiction(s, loc{}, &p)
			}
		case "gpc":
			bit = 1 << 8
			ev.GPC, ok = sc.boolean()
		case "ip":
			bit = 1 << 9
			var s string
			if s, ok = sc.str(maxShortLen); ok {
				ev.IP = ipAddr(s, loc{}, &p)
			}
		case "user_agent":
			bit = 1 << 10
			ev.UserAgent, ok = sc.str(maxUserAgentLen)
		case "locale":
			bit = 1 << 11
			ev.Locale, ok = sc.str(maxShortLen)
		case "location":
			bit = 1 << 12
			ev.Location, ok = sc.str(maxShortLen)
		case "text":
			bit = 1 << 13
			ev.Text, ok = sc.str(maxTextLen)
		case "properties":
			bit = 1 << 14
			ev.Properties, ok = sc.properties()
		case "actor_name":
			bit = 1 << 15
			ev.ActorName, ok = sc.str(maxShortLen)
		case "actor_email":
			bit = 1 << 16
			ev.ActorEmail, ok = sc.str(maxShortLen)
		case "actor_handle":
			bit = 1 << 17
			ev.ActorHandle, ok = sc.str(maxShortLen)
		case "client_consent":
			bit = 1 << 18
			ev.ClientConsent, ok = sc.consent()
		default: // unknown or server-set: a problem
			return ev, false
		}
		if !ok || seen&bit != 0 {
			return ev, false
		}
		seen |= bit
		end, ok := sc.next()
		if !ok {
			return ev, false
		}
		if end {
			break
		}
		if key, ok = sc.key(); !ok {
			return ev, false
		}
	}
	bindEvent(cred, &ev, loc{}, &p)
	requireCore(&ev, "", "event_type", "tenant_id", "user_id", "anonymous_id", &p)
	sc.checkKept(&ev, &p)
	if len(p.list) > 0 || len(p.forbidden) > 0 {
		return ev, false
	}
	return ev, true
}

// str reads a string or null ("") of at most limit decoded bytes.
func (sc *fastScan) str(limit int) (string, bool) {
	if sc.s[sc.i] == 'n' {
		return "", sc.lit("null")
	}
	s, ok := sc.stringValue()
	if !ok || len(s) > limit {
		return "", false
	}
	return s, true
}

// ident reads an identifier under pkg/identity's rule.
func (sc *fastScan) ident() (string, bool) {
	s, ok := sc.str(maxIDLen)
	if !ok || s != "" && identity.Check(s) != nil {
		return "", false
	}
	return s, true
}

func (sc *fastScan) boolean() (bool, bool) {
	switch sc.s[sc.i] {
	case 't':
		return true, sc.lit("true")
	case 'f':
		return false, sc.lit("false")
	case 'n':
		return false, sc.lit("null")
	}
	return false, false
}

// timestamp reads an RFC 3339 string or integer epoch milliseconds, as timestamp.
func (sc *fastScan) timestamp(p *problems) (time.Time, bool) {
	switch c := sc.s[sc.i]; {
	case c == 'n':
		return time.Time{}, sc.lit("null")
	case c == '"':
		s, ok := sc.stringValue()
		if !ok {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, false
		}
		return validTime(t, loc{}, p), true
	case c == '-' || c >= '0' && c <= '9':
		num, ok := sc.number()
		if !ok {
			return time.Time{}, false
		}
		ms, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return validTime(time.UnixMilli(ms), loc{}, p), true
	}
	return time.Time{}, false
}

// properties reads a flat object as properties(strict) does: strings kept,
// numbers and booleans as their text, null members dropped.
func (sc *fastScan) properties() (map[string]string, bool) {
	switch sc.s[sc.i] {
	case 'n':
		return nil, sc.lit("null")
	case '{':
	default:
		return nil, false
	}
	sc.i++
	if !sc.ws() {
		return nil, false
	}
	if sc.s[sc.i] == '}' {
		sc.i++
		return nil, true
	}
	var out map[string]string
	var nulls []string // names of null members, for finding duplicates
	n := 0
	for {
		k, ok := sc.key()
		if !ok || k == "" || len(k) > maxPropKeyLen || !sc.colon() {
			return nil, false
		}
		if n++; n > maxProperties {
			return nil, false
		}
		if _, dup := out[k]; dup {
			return nil, false
		}
		for _, nk := range nulls {
			if nk == k {
				return nil, false
			}
		}
		var v string
		switch c := sc.s[sc.i]; {
		case c == '"':
			v, ok = sc.stringValue()
		case c == 'n':
			if !sc.lit("null") {
				return nil, false
			}
			nulls = append(nulls, k)
			goto next
		case c == 't':
			v, ok = "true", sc.lit("true")
		case c == 'f':
			v, ok = "false", sc.lit("false")
		case c == '-' || c >= '0' && c <= '9':
			v, ok = sc.number()
		default: // nested: a problem under strict
			return nil, false
		}
		if !ok || len(v) > maxPropValueLen {
			return nil, false
		}
		if out == nil {
			out = make(map[string]string, 4)
		}
		out[k] = v
	next:
		end, ok := sc.next()
		if !ok {
			return nil, false
		}
		if end {
			break
		}
	}
	return out, true
}

// consent reads client_consent: any JSON value as compact text, null as "".
func (sc *fastScan) consent() (string, bool) {
	if sc.s[sc.i] == 'n' {
		return "", sc.lit("null")
	}
	sc.buf = sc.buf[:0]
	if !sc.compact(0) || len(sc.buf) > maxConsentLen {
		return "", false
	}
	return string(sc.buf), true
}

// compact appends the compact text of the value at sc.i to sc.buf: the value's
// text without white space between tokens.
func (sc *fastScan) compact(depth int) bool {
	if depth > maxFastDepth {
		return false
	}
	switch c := sc.s[sc.i]; {
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		sc.buf = append(sc.buf, c)
		sc.i++
		if !sc.ws() {
			return false
		}
		if sc.s[sc.i] == closer {
			sc.buf = append(sc.buf, closer)
			sc.i++
			return true
		}
		mark := len(sc.names)
		for {
			if c == '{' {
				start := sc.i
				if sc.s[sc.i] != '"' || !sc.skipString() || !sc.newName(mark, sc.s[start+1:sc.i-1]) {
					return false
				}
				sc.buf = append(sc.buf, sc.s[start:sc.i]...)
				if !sc.colon() {
					return false
				}
				sc.buf = append(sc.buf, ':')
			}
			if !sc.compact(depth + 1) {
				return false
			}
			if !sc.ws() {
				return false
			}
			switch sc.s[sc.i] {
			case ',':
				sc.buf = append(sc.buf, ',')
				sc.i++
				if !sc.ws() {
					return false
				}
				continue
			case closer:
				sc.buf = append(sc.buf, closer)
				sc.i++
				sc.names = sc.names[:mark]
				return true
			}
			return false
		}
	case c == '"':
		start := sc.i
		if !sc.skipString() {
			return false
		}
		sc.buf = append(sc.buf, sc.s[start:sc.i]...)
		return true
	case c == '-' || c >= '0' && c <= '9':
		num, ok := sc.number()
		sc.buf = append(sc.buf, num...)
		return ok
	case c == 't':
		sc.buf = append(sc.buf, "true"...)
		return sc.lit("true")
	case c == 'f':
		sc.buf = append(sc.buf, "false"...)
		return sc.lit("false")
	case c == 'n':
		sc.buf = append(sc.buf, "null"...)
		return sc.lit("null")
	}
	return false
}

// newName records a member name of the object whose names start at
// sc.names[mark], and reports false for a name the object already has, an
// escaped name (compared decoded by the full decoder) or too many names.
func (sc *fastScan) newName(mark int, name string) bool {
	if len(sc.names)-mark >= maxFastNames || strings.IndexByte(name, '\\') >= 0 {
		return false
	}
	for _, n := range sc.names[mark:] {
		if n == name {
			return false
		}
	}
	sc.names = append(sc.names, name)
	return true
}

// lit reads a literal (true, false, null).
func (sc *fastScan) lit(word string) bool {
	if len(sc.s)-sc.i < len(word) || sc.s[sc.i:sc.i+len(word)] != word {
		return false
	}
	sc.i += len(word)
	return true
}

// number reads a number in JSON's grammar and returns its text.
func (sc *fastScan) number() (string, bool) {
	s, i := sc.s, sc.i
	digits := func() bool {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		digits()
	default:
		return "", false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return "", false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return "", false
		}
	}
	text := s[sc.i:i]
	sc.i = i
	return text, true
}

// skipString moves past a string whose text is valid JSON and valid UTF-8.
func (sc *fastScan) skipString() bool {
	_, ok := sc.scanString(false)
	return ok
}

// stringValue reads a string and returns its value as encoding/json decodes it.
func (sc *fastScan) stringValue() (string, bool) {
	if sc.s[sc.i] != '"' {
		return "", false
	}
	return sc.scanString(true)
}

// scanString reads the string at sc.i (a '"'); with decode it returns the
// value. Invalid UTF-8 is left to the full decoder.
func (sc *fastScan) scanString(decode bool) (string, bool) {
	s := sc.s
	start := sc.i + 1
	high, escaped := false, false
	j := start
	for ; j < len(s); j++ {
		var h bool
		if j, h = skipPlain(s, j); h {
			high = true
		}
		if j == len(s) {
			break
		}
		c := s[j]
		if c == '"' {
			break
		}
		switch {
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			high = true
		case c == '\\':
			escaped = true
			j++
			if j == len(s) {
				return "", false
			}
			switch s[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(s) || hex4(s[j+1:j+5]) < 0 {
					return "", false
				}
				j += 4
			default:
				return "", false
			}
		}
	}
	if j == len(s) {
		return "", false
	}
	sc.i = j + 1
	in := s[start:j]
	if high && !utf8.ValidString(in) {
		return "", false
	}
	if !escaped || !decode {
		return in, true
	}
	return sc.unescape(in), true
}

// skipPlain returns the index of the first byte at or after j, in whole
// 8-byte words, that may end or escape a string ('"', '\\', a control byte
// below 0x20), or where fewer than 8 bytes are left; high reports a byte of
// 0x80 or more among those skipped. String text is scanned a word at a time
// (a loadgen event is ~70 % string text, scanned byte by byte before).
func skipPlain(s string, j int) (int, bool) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	var seen uint64
	for ; j+8 <= len(s); j += 8 {
		w := s[j : j+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		q, b := x^(ones*'"'), x^(ones*'\\')
		// Each term has a high bit set iff some byte of the word is below
		// 0x20, is '"', is '\\' (a borrow only follows a byte that is).
		if ((x-ones*0x20)&^x|(q-ones)&^q|(b-ones)&^b)&highs != 0 {
			break
		}
		seen |= x
	}
	return j, seen&highs != 0
}

// unescape decodes the escapes of valid string text as encoding/json does: a
// lone or mispaired surrogate becomes U+FFFD.
func (sc *fastScan) unescape(in string) string {
	b := sc.buf[:0]
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch in[i+1] {
		case '"', '\\', '/':
			b = append(b, in[i+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := rune(hex4(in[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(in) && in[i] == '\\' && in[i+1] == 'u' {
					if r2 := hex4(in[i+2 : i+6]); r2 >= 0 {
						if dec := utf16.DecodeRune(r, rune(r2)); dec != unicode.ReplacementChar {
							b = utf8.AppendRune(b, dec)
							i += 6
							continue
						}
					}
				}
				r = unicode.ReplacementChar
			}
			b = utf8.AppendRune(b, r)
			continue
		}
		i += 2
	}
	sc.buf = b
	return string(b)
}

// hex4 is the value of four hex digits, or -1.
func hex4(s string) int {
	v := 0
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		v = v<<4 | int(c)
	}
	return v
}
