package redact

import (
	"regexp"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// parseUS is phonenumbers.Parse(raw, "US"). The library runs several
// expressions over its input before it looks at the digits (its extension
// expression alone was ~8 % of the anonymizer's CPU); quickParse gives the
// same number without them for the plain shapes the number scanner hands
// phoneLike, and the library parses everything else.
func parseUS(raw string) (*phonenumbers.PhoneNumber, error) {
	if pn, ok := quickParse(raw); ok {
		return pn, nil
	}
	return phonenumbers.Parse(raw, "US")
}

// quickParse returns what phonenumbers.Parse(raw, "US") returns, when raw is
// only digits, spaces, dashes, dots and parentheses, with at most a '+' as
// its first byte, and one of:
//
//   - no '+', ten digits, the first 2-9: a US national number (no
//     international prefix "011", no leading country code 1, and the
//     region's national prefix pattern does not match);
//   - '+', 7-17 digits: the first 1-3 digits that the library knows as a
//     country calling code, the rest (2-17 digits, no leading 0) the
//     national number, when the calling code's main region is a country and
//     its national prefix pattern does not match the national number.
//
// The library returns no error and no extension for these (nothing in raw
// can start one). ok is false for anything else (Parse then decides).
// TestQuickParseIsTheLibrarysParse holds it to the library.
func quickParse(raw string) (pn *phonenumbers.PhoneNumber, ok bool) {
	var buf [17]byte
	d := buf[:0]
	plus := false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c >= '0' && c <= '9':
			if len(d) == len(buf) {
				return nil, false
			}
			d = append(d, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		case c == '+' && i == 0:
			plus = true
		default:
			return nil, false
		}
	}
	cc, region, nsn := 1, "US", d
	if plus {
		if len(d) < 7 || d[0] == '0' {
			return nil, false
		}
		found := false
		for i := 1; i <= 3; i++ {
			cc, _ = strconv.Atoi(string(d[:i]))
			if len(phonenumbers.GetRegionCodesForCountryCode(cc)) > 0 {
				nsn, found = d[i:], true
				break
			}
		}
		if !found {
			return nil, false
		}
		region = phonenumbers.GetRegionCodeForCountryCode(cc)
	} else if len(d) != 10 || d[0] < '2' {
		return nil, false
	}
	if len(nsn) < 2 || nsn[0] == '0' {
		return nil, false
	}
	prefix, known := nationalPrefixes()[region]
	if !known || (prefix != nil && prefix.Match(nsn)) {
		return nil, false
	}
	n, err := strconv.ParseUint(string(nsn), 10, 64)
	if err != nil {
		return nil, false
	}
	code := int32(cc)
	return &phonenumbers.PhoneNumber{CountryCode: &code, NationalNumber: &n}, true
}

// nationalPrefixes maps each geographic region of the library's metadata to
// its national prefix pattern anchored at the start (nil when it has none),
// as the library applies it when parsing.
var nationalPrefixes = sync.OnceValue(func() map[string]*regexp.Regexp {
	out := map[string]*regexp.Regexp{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return out // no region known: every number goes to the library
	}
	for _, md := range coll.GetMetadata() {
		id := md.GetId()
		if id == "" || id == "001" {
			continue
		}
		var re *regexp.Regexp
		if p := md.GetNationalPrefixForParsing(); p != "" {
			if re, err = regexp.Compile("^(?:" + p + ")"); err != nil {
				continue
			}
		}
		out[id] = re
	}
	return out
})
