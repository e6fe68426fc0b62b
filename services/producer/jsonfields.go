package producer

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
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
	maxJurisdiction = 10
)

// parseObject decodes raw as a JSON object into its members. It reports a problem
// at path when raw is not an object.
func parseObject(raw json.RawMessage, path string, p *problems) (map[string]json.RawMessage, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		p.add(path, "must be an object")
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		p.add(path, "must be an object")
		return nil, false
	}
	return m, true
}

// sortedKeys returns the members' names in order, so problems come out stable.
func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// str reads an optional string member; null is absent.
func str(raw json.RawMessage, path string, limit int, p *problems) (string, bool) {
	if isNull(raw) {
		return "", true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		p.add(path, "must be a string")
		return "", false
	}
	if len(s) > limit {
		p.add(path, "longer than %d bytes", limit)
		return "", false
	}
	return s, true
}

// boolean reads an optional boolean member; null is false.
func boolean(raw json.RawMessage, path string, p *problems) bool {
	if isNull(raw) {
		return false
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		p.add(path, "must be true or false")
	}
	return b
}

// timestamp reads an RFC 3339 string or integer milliseconds since the epoch.
func timestamp(raw json.RawMessage, path string, p *problems) time.Time {
	if isNull(raw) {
		return time.Time{}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			p.add(path, "must be an RFC 3339 time such as 2024-05-01T12:00:00Z")
			return time.Time{}
		}
		return validTime(t, path, p)
	}
	ms, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil {
		p.add(path, "must be an RFC 3339 string or integer epoch milliseconds")
		return time.Time{}
	}
	return validTime(time.UnixMilli(ms), path, p)
}

func validTime(t time.Time, path string, p *problems) time.Time {
	if t.Year() < 1970 || t.Year() > 9999 {
		p.add(path, "out of range (years 1970-9999)")
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// eventID checks a client-supplied id and returns its canonical form.
func eventID(s, path string, p *problems) string {
	if s == "" {
		return ""
	}
	u, err := uuid.Parse(s)
	if err != nil || u == uuid.Nil {
		p.add(path, "must be a UUID")
		return ""
	}
	return u.String()
}

func ipAddr(s, path string, p *problems) string {
	if s == "" {
		return ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		p.add(path, "must be an IPv4 or IPv6 address")
		return ""
	}
	return a.String()
}

// jurisdiction checks the shape of an ISO 3166-1 alpha-2 code or ISO 3166-2
// subdivision (DE, US-CA) and passes it through unchanged: the backend is trusted
// with the value, the consent policy decides what an unknown one means.
func jurisdiction(s, path string, p *problems) string {
	if s == "" {
		return ""
	}
	if len(s) > maxJurisdiction || !jurisdictionShape.MatchString(s) {
		p.add(path, "must be an ISO 3166 code such as DE or US-CA")
		return ""
	}
	return s
}

var jurisdictionShape = regexp.MustCompile(`^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?$`)

// properties reads a flat object; string values are kept, numbers, booleans and
// nested values become their compact JSON text, null members are dropped. With
// strict, nested objects and arrays are problems instead.
func properties(raw json.RawMessage, path string, strict bool, p *problems) map[string]string {
	if isNull(raw) {
		return nil
	}
	m, ok := parseObject(raw, path, p)
	if !ok {
		return nil
	}
	if len(m) > maxProperties {
		p.add(path, "more than %d keys", maxProperties)
		return nil
	}
	out := make(map[string]string, len(m))
	for _, k := range sortedKeys(m) {
		v := bytes.TrimSpace(m[k])
		kp := join(path, k)
		if len(k) > maxPropKeyLen || k == "" || !utf8.ValidString(k) {
			p.add(kp, "key must be 1-%d bytes of UTF-8", maxPropKeyLen)
			continue
		}
		var s string
		switch {
		case isNull(v):
			continue
		case len(v) > 0 && v[0] == '"':
			if err := json.Unmarshal(v, &s); err != nil {
				p.add(kp, "invalid string")
				continue
			}
		case len(v) > 0 && (v[0] == '{' || v[0] == '['):
			if strict {
				p.add(kp, "must be a string, number or boolean")
				continue
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, v); err != nil {
				p.add(kp, "invalid value")
				continue
			}
			s = buf.String()
		default:
			s = string(v)
		}
		if len(s) > maxPropValueLen {
			p.add(kp, "longer than %d bytes", maxPropValueLen)
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
func compactJSON(raw json.RawMessage, path string, limit int, p *problems) string {
	if isNull(raw) || len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		p.add(path, "invalid JSON")
		return ""
	}
	if buf.Len() > limit {
		p.add(path, "longer than %d bytes", limit)
		return ""
	}
	return buf.String()
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
