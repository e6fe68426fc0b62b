package loadgen

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Presidio-style entity types of seeded values (the names pkg/redact emits).
const (
	TypeEmail  = "EMAIL_ADDRESS"
	TypePhone  = "PHONE_NUMBER"
	TypeCard   = "CREDIT_CARD"
	TypeIBAN   = "IBAN_CODE"
	TypeIP     = "IP_ADDRESS"
	TypeSSN    = "US_SSN"
	TypeURL    = "URL"
	TypeSecret = "SECRET"
	TypePerson = "PERSON"
	TypeLoc    = "LOCATION"
)

// PII is one value seeded into an event's text, exactly as it appears there.
type PII struct {
	Type  string `json:"type"`
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// phone returns a number valid under libphonenumber's metadata, in one of several
// common notations: London 020 7946 0xxx (Ofcom's drama range, a valid
// fixed-line block), Mountain View +1 650-253-xxxx, Berlin +49 30 9018 2xxx,
// Paris +33 1 42 68 xx xx.
func phone(r *rand.Rand) string {
	n := r.IntN(1000)
	switch r.IntN(6) {
	case 0:
		return fmt.Sprintf("+44 20 7946 0%03d", n)
	case 1:
		return fmt.Sprintf("020 7946 0%03d", n)
	case 2:
		return fmt.Sprintf("+1 650-253-%04d", r.IntN(10000))
	case 3:
		return fmt.Sprintf("(650) 253-%04d", r.IntN(10000))
	case 4:
		return fmt.Sprintf("+49 30 9018 2%03d", n)
	default:
		return fmt.Sprintf("+33 1 42 68 %02d %02d", r.IntN(100), r.IntN(100))
	}
}

// card returns a Luhn-valid Visa, Mastercard or Amex number, sometimes grouped.
func card(r *rand.Rand) string {
	var prefix string
	length := 16
	switch r.IntN(3) {
	case 0:
		prefix = "4"
	case 1:
		prefix = strconv.Itoa(51 + r.IntN(5))
	default:
		prefix, length = []string{"34", "37"}[r.IntN(2)], 15
	}
	d := []byte(prefix)
	for len(d) < length-1 {
		d = append(d, byte('0'+r.IntN(10)))
	}
	d = append(d, luhnDigit(d))
	s := string(d)
	switch r.IntN(3) {
	case 0:
		return s
	case 1:
		if length == 15 {
			return s[:4] + " " + s[4:10] + " " + s[10:]
		}
		return s[:4] + " " + s[4:8] + " " + s[8:12] + " " + s[12:]
	default:
		if length == 15 {
			return s[:4] + "-" + s[4:10] + "-" + s[10:]
		}
		return s[:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:]
	}
}

// luhnDigit computes the check digit to append to payload.
func luhnDigit(payload []byte) byte {
	sum := 0
	for i := len(payload) - 1; i >= 0; i-- {
		v := int(payload[i] - '0')
		if (len(payload)-1-i)%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return byte('0' + (10-sum%10)%10)
}

// iban returns a mod-97-valid German, British or French IBAN, compact or grouped
// by four.
func iban(r *rand.Rand) string {
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	var country, bban string
	switch r.IntN(3) {
	case 0:
		country, bban = "DE", digits(18)
	case 1:
		banks := []string{"NWBK", "BARC", "HBUK", "LOYD"}
		country, bban = "GB", banks[r.IntN(len(banks))]+digits(14)
	default:
		country, bban = "FR", digits(23)
	}
	check := 98 - ibanMod97(bban+country+"00")
	s := fmt.Sprintf("%s%02d%s", country, check, bban)
	if r.IntN(2) == 0 {
		return s
	}
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:min(i+4, len(s))])
	}
	return strings.Join(groups, " ")
}

// ibanMod97 computes the ISO 7064 mod 97 of s with letters as 10..35.
func ibanMod97(s string) int {
	m := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			m = (m*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			m = (m*100 + int(c-'A') + 10) % 97
		}
	}
	return m
}

// ssn returns a US SSN that follows the SSA's rules: area 001-899 except 666,
// group 01-99, serial 0001-9999, and none of the well-known advertising numbers.
func ssn(r *rand.Rand) string {
	for {
		area := 1 + r.IntN(899)
		if area == 666 {
			continue
		}
		s := fmt.Sprintf("%03d-%02d-%04d", area, 1+r.IntN(99), 1+r.IntN(9999))
		if ssnValid(s) {
			return s
		}
	}
}

// ssnValid applies the SSA's structural rules to a ddd-dd-dddd SSN.
func ssnValid(s string) bool {
	d := strings.ReplaceAll(s, "-", "")
	if len(d) != 9 {
		return false
	}
	if _, err := strconv.Atoi(d); err != nil {
		return false
	}
	area, group, serial := d[:3], d[3:5], d[5:]
	if area == "000" || area == "666" || area[0] == '9' || group == "00" || serial == "0000" {
		return false
	}
	switch d {
	case "078051120", "219099999", "123456789":
		return false
	}
	return strings.Count(d, d[:1]) != 9
}

// ipAddr returns a public IPv4 address or a global IPv6 address.
func ipAddr(r *rand.Rand) string {
	if r.IntN(5) == 0 {
		return fmt.Sprintf("2a02:%x:%x::%x", 0x1000+r.IntN(0xefff), r.IntN(0xffff), 1+r.IntN(0xfffe))
	}
	firsts := []int{23, 34, 52, 62, 81, 93, 104, 145, 151, 185, 212}
	return fmt.Sprintf("%d.%d.%d.%d", firsts[r.IntN(len(firsts))], r.IntN(256), r.IntN(256), 1+r.IntN(254))
}

// link returns a link to a document, dashboard or file share.
func link(r *rand.Rand, tenantDomain string) string {
	id := randString(r, "abcdefghijklmnopqrstuvwxyz0123456789", 10)
	switch r.IntN(4) {
	case 0:
		return "https://docs.google.com/document/d/" + randString(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", 24) + "/edit"
	case 1:
		return "https://wiki." + tenantDomain + "/display/ENG/" + id
	case 2:
		return "https://grafana." + tenantDomain + "/d/" + id + "?orgId=1"
	default:
		return "http://files.example.net/share/" + id + ".pdf"
	}
}

// secret returns an AWS-style access key id, a JWT or a GitHub token.
func secret(r *rand.Rand) string {
	switch r.IntN(3) {
	case 0:
		return "AKIA" + randString(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
	case 1:
		enc := base64.RawURLEncoding
		header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
		payload := enc.EncodeToString([]byte(fmt.Sprintf(`{"sub":"%d","name":"svc","iat":%d}`, r.IntN(1_000_000), 1_700_000_000+r.IntN(50_000_000))))
		sig := make([]byte, 32)
		for i := range sig {
			sig[i] = byte(r.IntN(256))
		}
		return header + "." + payload + "." + enc.EncodeToString(sig)
	default:
		return "ghp_" + randString(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 36)
	}
}

func randString(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// Made-up people and places for free text: built from syllables that real
// name and place lists rarely contain, so that redacting them measures the
// redactor's generalisation, not its gazetteers (pkg/redact checks that
// none of them is in its lists).
var (
	nameOnsets = []string{"Qu", "Zh", "Xa", "Vry", "Thel", "Kv", "Ysm", "Oq", "Brae", "Dw", "Fiv", "Gyr", "Hroz", "Jev", "Lut", "Mzo", "Nyx", "Pold", "Rask", "Skir", "Tvo", "Uzb", "Wenk", "Yzz"}
	nameMiddle = []string{"a", "e", "i", "o", "u", "ae", "io", "ou", "y", "ei"}
	givenTails = []string{"quin", "mira", "velle", "dric", "zanna", "tho", "bryn", "sella", "kvel", "nath", "rielle", "ston", "phine", "drash", "lowe"}
	surTails   = []string{"bekk", "quist", "vander", "holtz", "marr", "yenko", "strup", "dottel", "wicke", "zarian", "forth", "ganis", "lebb", "oyama", "tensk"}
	townTails  = []string{"wick", "holm", "stead", "vale", "burgh", "mouth", "thorpe", "combe", "brück", "dorp", "ville", "haven", "stow", "ness", "garth"}
	streetKind = []string{"Street", "Road", "Lane", "Avenue", "Way", "Close", "Drive", "Terrace"}
)

func madeUp(r *rand.Rand, tails []string) string {
	return nameOnsets[r.IntN(len(nameOnsets))] + nameMiddle[r.IntN(len(nameMiddle))] + tails[r.IntN(len(tails))]
}

// PersonName returns a made-up "Given Surname".
func PersonName(r *rand.Rand) string { return madeUp(r, givenTails) + " " + madeUp(r, surTails) }

// PlaceName returns a made-up town.
func PlaceName(r *rand.Rand) string { return madeUp(r, townTails) }

// StreetAddress returns a made-up street address: number, street, postcode
// and town, in a British, American or continental layout.
func StreetAddress(r *rand.Rand) string {
	street := madeUp(r, surTails)
	town := PlaceName(r)
	switch r.IntN(3) {
	case 0:
		return fmt.Sprintf("%d %s %s, %s %s%d %d%s", 1+r.IntN(300), street, streetKind[r.IntN(len(streetKind))], town,
			string(rune('A'+r.IntN(26))), 1+r.IntN(9), r.IntN(10), string([]rune{rune('A' + r.IntN(26)), rune('A' + r.IntN(26))}))
	case 1:
		return fmt.Sprintf("%d %s %s, %s, %s %05d", 10+r.IntN(9000), street, streetKind[r.IntN(len(streetKind))], town,
			[]string{"CA", "NY", "TX", "WA", "IL", "OR"}[r.IntN(6)], 10000+r.IntN(89999))
	}
	return fmt.Sprintf("%sstraße %d, %05d %s", street, 1+r.IntN(120), 10000+r.IntN(89999), town)
}

// MadeUpNames lists every name part, town and street word the free text can
// contain (for checking them against a redactor's lists).
func MadeUpNames() []string {
	var out []string
	for _, o := range nameOnsets {
		for _, m := range nameMiddle {
			for _, tails := range [][]string{givenTails, surTails, townTails} {
				for _, t := range tails {
					out = append(out, o+m+t)
				}
			}
		}
	}
	return out
}
