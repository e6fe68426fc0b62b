package producer

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/consentflow/consentflow/pkg/identity"
)

// Length limits of event fields, in bytes.
const (
	maxIDLen        = 256
	maxShortLen     = 256
	maxUserAgentLen = 1024
	maxTextLen      = 64 << 10
	maxConsentLen   = 8 << 10
	maxProperties   = 100
	maxPropKeyLen   = 128
	maxPropValueLen = 4096
)

// str reads an optional string member; null is absent.
func str(v jval, at loc, limit int, p *problems) (string, bool) {
	switch v.kind() {
	case 'n':
		return "", true
	case '"':
	default:
		p.addAt(at, "must be a string")
		return "", false
	}
	s := v.text()
	if len(s) > limit {
		p.addAt(at, "longer than %d bytes", limit)
		return "", false
	}
	return s, true
}

// ident reads an optional identifier member (a tenant, user, anonymous,
// session or previous id) and applies the identifier rule of pkg/identity:
// the value is taken exactly as sent or rejected, never normalised, so that
// the consent API can address every id ingest accepts.
func ident(v jval, at loc, p *problems) string {
	s, ok := str(v, at, maxIDLen, p)
	if !ok || s == "" {
		return ""
	}
	if err := identity.Check(s); err != nil {
		p.addAt(at, "%s", identity.Message(err))
	}
	return s // rejected or not, never altered
}

// boolean reads an optional boolean member; null is false.
func boolean(v jval, at loc, p *problems) bool {
	switch v.kind() {
	case 't':
		return true
	case 'f', 'n':
		return false
	}
	p.addAt(at, "must be true or false")
	return false
}

// timestamp reads an RFC 3339 string or integer milliseconds since the epoch.
func timestamp(v jval, at loc, p *problems) time.Time {
	switch v.kind() {
	case 'n':
		return time.Time{}
	case '"':
		t, err := time.Parse(time.RFC3339Nano, v.text())
		if err != nil {
			p.addAt(at, "must be an RFC 3339 time such as 2024-05-01T12:00:00Z")
			return time.Time{}
		}
		return validTime(t, at, p)
	}
	_, num := v.scalar()
	ms, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		p.addAt(at, "must be an RFC 3339 string or integer epoch milliseconds")
		return time.Time{}
	}
	return validTime(time.UnixMilli(ms), at, p)
}

func validTime(t time.Time, at loc, p *problems) time.Time {
	if t.Year() < 1970 || t.Year() > 9999 {
		p.addAt(at, "out of range (years 1970-9999)")
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// eventID checks a client-supplied id and returns its canonical form.
func eventID(s string, at loc, p *problems) string {
	if s == "" {
		return ""
	}
	u, err := uuid.Parse(s)
	if err != nil || u == uuid.Nil {
		p.addAt(at, "must be a UUID")
		return ""
	}
	if len(s) == 36 && !hasUpper(s) {
		// Parse took the hyphenated form (hyphens at 8, 13, 18, 23, hex
		// digits elsewhere): in lower case it is u.String() already.
		return s
	}
	return u.String()
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func ipAddr(s string, at loc, p *problems) string {
	if s == "" {
		return ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		p.addAt(at, "must be an IPv4 or IPv6 address")
		return ""
	}
	var buf [64]byte // the usual forms fit; AppendTo grows past it otherwise
	if c := a.AppendTo(buf[:0]); string(c) == s {
		return s // already in a.String()'s form: no copy
	}
	return a.String()
}

// jurisdiction checks the shape of an ISO 3166-1 alpha-2 code or ISO 3166-2
// subdivision (DE, US-CA) and passes it through unchanged: the backend is trusted
// with the value, the consent policy decides what an unknown one means.
func jurisdiction(s string, at loc, p *problems) string {
	if s == "" {
		return ""
	}
	if !jurisdictionShaped(s) {
		p.addAt(at, "must be an ISO 3166 code such as DE or US-CA")
		return ""
	}
	return s
}

// jurisdictionShaped reports whether s is two ASCII letters, optionally
// followed by "-" and one to three ASCII letters or digits (DE, US-CA).
func jurisdictionShaped(s string) bool {
	if len(s) != 2 && (len(s) < 4 || len(s) > 6 || s[2] != '-') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // ASCII lower case; digits keep their value
		switch {
		case i == 2:
		case c >= 'a' && c <= 'z':
		case i > 2 && s[i] >= '0' && s[i] <= '9':
		default:
			return false
		}
	}
	return true
}

// properties reads a flat object; string values are kept, numbers, booleans and
// nested values become their compact JSON text, null members are dropped. With
// strict, nested objects and arrays are problems instead.
func properties(v jval, at loc, strict bool, p *problems) map[string]string {
	switch v.kind() {
	case 'n':
		return nil
	case '{':
	default:
		p.addAt(at, "must be an object")
		return nil
	}
	ms, _ := v.members()
	if len(ms) > maxProperties {
		p.addAt(at, "more than %d keys", maxProperties)
		return nil
	}
	if len(ms) == 0 {
		return nil
	}
	var path string // of the object, when there is a problem
	problem := func(k, format string, args ...any) {
		if path == "" {
			path = at.String()
		}
		p.add(join(path, k), format, args...)
	}
	out := make(map[string]string, len(ms))
	for _, m := range ms {
		k, val := m.key, m.val
		if len(k) > maxPropKeyLen || k == "" || !utf8.ValidString(k) {
			problem(k, "key must be 1-%d bytes of UTF-8", maxPropKeyLen)
			continue
		}
		var s string
		switch kind, text := val.scalar(); kind {
		case 'n':
			continue
		case '"':
			s = val.text()
		case '{', '[':
			if strict {
				problem(k, "must be a string, number or boolean")
				continue
			}
			if c := val.compact(); len(c) <= maxPropValueLen {
				s = string(c)
			} else {
				problem(k, "longer than %d bytes", maxPropValueLen)
				continue
			}
		default:
			s = string(text)
		}
		if len(s) > maxPropValueLen {
			problem(k, "longer than %d bytes", maxPropValueLen)
			continue
		}
		out[k] = s
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// compactJSON returns the compact text of any JSON value (client_consent), or ""
// for null.
func compactJSON(v jval, at loc, limit int, p *problems) string {
	if k := v.kind(); k == 'n' || k == 0 {
		return ""
	}
	buf := v.compact()
	if len(buf) > limit {
		p.addAt(at, "longer than %d bytes", limit)
		return ""
	}
	return string(buf)
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
