package transform

import (
	"net/netip"
	"strings"
	"time"
)

// TruncateIP returns the network of an IP address: the /24 of an IPv4 address
// ("203.0.113.0/24") or the /48 of an IPv6 one ("2001:db8:1::/48"). IPv4-mapped
// IPv6 addresses count as IPv4; zones and ports are dropped. Anything that does not
// parse as an address gives "", never the input.
func TruncateIP(s string) string {
	s = strings.TrimSpace(s)
	addr, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return ""
		}
		addr = ap.Addr()
	}
	addr = addr.WithZone("").Unmap()
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// CoarsenTime truncates t to a multiple of granularity since the Unix epoch, in
// UTC; a zero time stays zero (null).
func CoarsenTime(t time.Time, granularity time.Duration) time.Time {
	if t.IsZero() {
		return t
	}
	ms := t.UnixMilli()
	g := granularity.Milliseconds()
	if g <= 0 {
		return t.UTC()
	}
	r := ms % g
	if r < 0 {
		r += g
	}
	return time.UnixMilli(ms - r).UTC()
}

// GeneralizeLocation keeps only the country of a location: the country code of an
// ISO 3166-2 subdivision ("US-CA" → "US"), the first part of "Country/Region/City"
// ("Germany/Bavaria/Munich" → "Germany"), or a bare country as it is.
func GeneralizeLocation(s string) string {
	s = strings.TrimSpace(s)
	if country, _, ok := strings.Cut(s, "/"); ok {
		return strings.TrimSpace(country)
	}
	if len(s) >= 2 && isLetter(s[0]) && isLetter(s[1]) && (len(s) == 2 || s[2] == '-') {
		return strings.ToUpper(s[:2])
	}
	return s
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
