// Package formats holds the formats of the event fields that are kept in
// curated events, checked at ingest and enforced again by the anonymizer:
// event types (a token), locales (BCP 47) and locations (a country first).
// A kept field that holds free text carries other people's data into every
// dataset, so each of these fields has a closed shape: the producer rejects a
// value outside it (400 naming the field) and the anonymizer never passes one
// (it nulls or dead-letters it).
package formats

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// MaxEventType is the longest event type, in bytes.
const MaxEventType = 256

// EventTypeRule says what an event type may hold, for error messages.
const EventTypeRule = "letters, digits, spaces and _ - . : / $ [ ] ( ) ' ! ? , & only, at most 256 bytes, with a letter or digit"

// ErrEventType is the error of EventType.
var ErrEventType = errors.New("must be a token: " + EventTypeRule)

// EventType checks an event type: the name of an action from the product's
// vocabulary (issue_created, Order Completed, [Amplitude] Page Viewed,
// $mp_web_page_view, com.acme/checkout/1-0-0, Signed Up!, Q&A Opened), not a
// sentence. Letters and marks of any script, decimal digits, spaces and
// _ - . : / $ [ ] ( ) ' ! ? , & are allowed; no @, +, %, =, #, quotes, angle
// brackets, backslashes or control characters, which is where emails, phone
// numbers, escapes, query strings and markup live. (Names in an event type are
// the redactor's: the anonymizer redacts the kept value like free text.)
func EventType(s string) error {
	if s == "" || len(s) > MaxEventType || !utf8.ValidString(s) {
		return ErrEventType
	}
	alnum := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r):
			alnum = true
		case unicode.IsMark(r):
		case strings.ContainsRune(" _-.:/$[]()'!?,&", r):
		default:
			return ErrEventType
		}
	}
	if !alnum {
		return ErrEventType
	}
	return nil
}

// LocaleRule says what a locale may be, for error messages.
const LocaleRule = "must be a BCP 47 language tag such as en-US, de-DE or zh-Hant-TW"

// ErrLocale is the error of Locale.
var ErrLocale = errors.New(LocaleRule)

// Locale parses a BCP 47 language tag ("en-US", "en_US", "zh-Hant-TW",
// "de-DE-u-co-phonebk") and returns its canonical language, with the script
// and the region when the tag names them: "en-US", "zh-Hant-TW", "de-DE". It
// drops variants, extensions and private-use subtags (en-x-janedoe is "en"):
// they can spell anything, and a dataset needs only the language and region.
// A tag that does not parse or names no known language is an error.
func Locale(s string) (string, error) {
	if s == "" || len(s) > 64 {
		return "", ErrLocale
	}
	t, err := language.Parse(s)
	if err != nil {
		return "", ErrLocale
	}
	base, conf := t.Base()
	if conf != language.Exact || base.String() == "und" {
		return "", ErrLocale
	}
	parts := []any{base}
	if sc, c := t.Script(); c == language.Exact {
		parts = append(parts, sc)
	}
	if r, c := t.Region(); c == language.Exact {
		parts = append(parts, r)
	}
	out, err := language.Compose(parts...)
	if err != nil {
		return "", ErrLocale
	}
	return out.String(), nil
}

// Country returns the ISO 3166-1 alpha-2 code of a country named by an
// alpha-2, alpha-3 or numeric code (DE, DEU, 276), an ISO 3166-2 subdivision
// (US-CA), or its English name (Germany; case and spaces do not matter), and
// false for anything else: a city, a street address, coordinates, a region
// that is no country (EU, 419).
func Country(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return "", false
	}
	if code, ok := countryCode(s); ok {
		return code, true
	}
	// ISO 3166-2: the country code, a hyphen, 1-3 letters or digits
	if c, sub, ok := strings.Cut(s, "-"); ok && len(c) == 2 && len(sub) >= 1 && len(sub) <= 3 && alnumASCII(sub) {
		if code, ok := countryCode(c); ok {
			return code, true
		}
	}
	code, ok := countryNames[foldName(s)]
	return code, ok
}

func alnumASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// countryCode resolves an ISO 3166-1 code (alpha-2, alpha-3, numeric).
func countryCode(s string) (string, bool) {
	if len(s) < 2 || len(s) > 3 || !alnumASCII(s) {
		return "", false
	}
	if strings.EqualFold(s, "UK") {
		return "GB", true // reserved by ISO 3166 for the United Kingdom
	}
	r, err := language.ParseRegion(s)
	if err != nil || !r.IsCountry() || r.ISO3() == "ZZZ" {
		return "", false
	}
	return r.String(), true
}

// foldName lower-cases a country name and collapses its white space.
func foldName(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// LocationRule says what a location may be, for error messages.
const LocationRule = "must be Country, Country/Region or Country/Region/City with an ISO 3166 country code or English country name first, and no digits (no street addresses, postcodes or coordinates)"

// ErrLocation is the error of Location.
var ErrLocation = errors.New(LocationRule)

// Location checks a location as the product knows it: "Country",
// "Country/Region" or "Country/Region/City", the country an ISO 3166 code or
// English name (Germany/Bavaria/Munich, US/California, DE-BY), each part
// letters, marks, spaces and - ' . only. A street address, a postcode or
// coordinates are not a location here (digits are allowed only in an ISO
// 3166-2 code such as FR-75). It returns the country's ISO 3166-1 alpha-2
// code.
func Location(s string) (string, error) {
	if len(s) > 256 || !utf8.ValidString(s) {
		return "", ErrLocation
	}
	parts := strings.Split(s, "/")
	if len(parts) > 3 {
		return "", ErrLocation
	}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return "", ErrLocation
		}
		if i == 0 {
			if _, ok := Country(p); !ok {
				return "", ErrLocation
			}
			continue
		}
		for _, r := range p {
			if !(unicode.IsLetter(r) || unicode.IsMark(r) || strings.ContainsRune(" -'.", r)) {
				return "", ErrLocation
			}
		}
	}
	code, _ := Country(parts[0])
	return code, nil
}
