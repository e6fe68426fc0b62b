package transform

import (
	"net/netip"

	"github.com/consentflow/consentflow/pkg/formats"
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

// GeneralizeLocation keeps only the country of a location, as its ISO
// 3166-1 alpha-2 code: of an ISO 3166 code ("US-CA", "DEU" → "US", "DE") or
// of "Country/Region/City" with the country a code or English name
// ("Germany/Bavaria/Munich" → "DE"). Anything else — coordinates, a street
// address, a city, a region that is no country — gives "", never the input.
func GeneralizeLocation(s string) string {
	country, _, _ := strings.Cut(s, "/")
	code, _ := formats.Country(country)
	return code
}

// CanonicalLocale keeps the language, script and region of a BCP 47 tag
// ("de-DE", "zh-Hant-TW"; "en-x-janedoe" → "en"); anything that is not a tag
// gives "", never the input.
func CanonicalLocale(s string) string {
	l, err := formats.Locale(s)
	if err != nil {
		return ""
	}
	return l
}
