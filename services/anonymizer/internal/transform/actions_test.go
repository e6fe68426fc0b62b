package transform

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTruncateIP(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"203.0.113.7", "203.0.113.0/24"},
		{" 198.51.100.255 ", "198.51.100.0/24"},
		{"10.0.0.1:8080", "10.0.0.0/24"},
		{"::ffff:203.0.113.9", "203.0.113.0/24"},
		{"2001:db8:abcd:12::1", "2001:db8:abcd::/48"},
		{"2001:DB8:ABCD:0012:0000:0000:0000:0001", "2001:db8:abcd::/48"},
		{"[2001:db8:1:2::3]:443", "2001:db8:1::/48"},
		{"fe80::1%eth0", "fe80::/48"},
		{"::1", "::/48"},
		{"", ""},
		{"not an ip", ""},
		{"203.0.113", ""},
		{"203.0.113.700", ""},
		{"alice@example.com", ""},
		{"203.0.113.7/24", ""},
	} {
		require.Equal(t, c.want, TruncateIP(c.in), c.in)
	}
}

func TestCoarsenTime(t *testing.T) {
	ts := time.Date(2024, 5, 17, 13, 47, 12, 345e6, time.FixedZone("CEST", 2*3600))
	for _, c := range []struct {
		g    time.Duration
		want time.Time
	}{
		{time.Hour, time.Date(2024, 5, 17, 11, 0, 0, 0, time.UTC)},
		{15 * time.Minute, time.Date(2024, 5, 17, 11, 45, 0, 0, time.UTC)},
		{24 * time.Hour, time.Date(2024, 5, 17, 0, 0, 0, 0, time.UTC)},
		{time.Millisecond, time.Date(2024, 5, 17, 11, 47, 12, 345e6, time.UTC)},
	} {
		got := CoarsenTime(ts, c.g)
		require.True(t, c.want.Equal(got), "%s: got %s", c.g, got)
		require.Equal(t, time.UTC, got.Location())
	}
	require.True(t, CoarsenTime(time.Time{}, time.Hour).IsZero(), "null stays null")
	before := time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC)
	require.Equal(t, time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), CoarsenTime(before, time.Hour))
}

// generalize_location keeps the country as its ISO 3166-1 code, or nothing:
// coordinates, street addresses, cities and regions that are no country never
// reach the curated region or jurisdiction.
func TestGeneralizeLocation(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"US-CA", "US"},
		{"de-by", "DE"},
		{"DE", "DE"},
		{"DEU", "DE"},
		{"Germany/Bavaria/Munich", "DE"},
		{" United States / California / San Francisco", "US"},
		{"France", "FR"},
		{"Timor-Leste", "TL"},
		{"Guinea-Bissau/Bissau", "GW"},
		{"", ""},
		// fail closed: what does not name a country gives null, never the input
		{"48.137154,11.576124", ""},
		{"12 Rue de Rivoli, 75001 Paris", ""},
		{"San Francisco, CA 94103", ""},
		{"Bavaria/Munich", ""},
		{"Jane Doe/Home", ""},
		{"EU", ""},
		{"jane.doe@example.org", ""},
	} {
		require.Equal(t, c.want, GeneralizeLocation(c.in), c.in)
	}
}

func TestCanonicalLocale(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"en-US", "en-US"},
		{"en_GB", "en-GB"},
		{"zh-Hant-TW", "zh-Hant-TW"},
		{"en-x-janedoe", "en"},
		{"de-DE-u-co-phonebk", "de-DE"},
		{"", ""},
		// fail closed
		{"de-DE; Jane Doe +49 30 901820", ""},
		{"Jane Doe", ""},
		{"C.UTF-8", ""},
	} {
		require.Equal(t, c.want, CanonicalLocale(c.in), c.in)
	}
}
