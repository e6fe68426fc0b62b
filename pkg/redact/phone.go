package redact

import (
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Results of phoneLike.
const (
	phoneNo         = iota
	phoneStructural // plausible by structure only
	phoneValid      // checked against a numbering plan, or with phone context
)

// phoneLike decides whether a digit chunk is a phone number.
//
//   - "+CC ..." and "00CC"/"011CC" international numbers: parsed with
//     phonenumbers and accepted when IsPossibleNumber.
//   - "(AAA) EEE-NNNN" valid for the US numbering plan: accepted whatever the
//     words around it.
//   - 10 digits (or 11 starting with 1), US style: accepted when the number
//     is valid for the US numbering plan; when formatted with separators or
//     preceded by a phone context word, a possible US number is enough.
//   - Other formatted national numbers (7-12 digits in 2-6 groups of 2-6
//     digits, one separator style, not a date, not after an address word such
//     as "Suite" or "Box") are accepted structurally, since numbering plans of
//     every country cannot be tried per candidate cheaply.
//   - Unformatted digit runs other than US-10 need a context word ("phone",
//     "call", "tel", ...).
//
// A word such as "policy" or "account" shortly before the number vetoes
// it unless the number is formatted and valid in a numbering plan (US, or a
// trunk-prefixed national number of a few European/Commonwealth countries).
// In split mode (the chunk is one of several values of a longer run) only
// numbering-plan-valid numbers, or numbers with a phone context word, count.
func phoneLike(text string, c *numChunk, split bool, pc phoneCtx, budget *int) int {
	nd := c.nd
	if nd < 7 || nd > 15 {
		return phoneNo
	}
	// a time right after the chunk ("2000-04-16 11:34") or a date inside it
	if c.end+1 < len(text) && text[c.end] == ':' && isDigit(text[c.end+1]) {
		return phoneNo
	}
	if c.ng >= 3 && c.groups[0] == 4 && c.groups[1] <= 2 && c.groups[2] <= 2 && (c.digits[0] == '1' || c.digits[0] == '2') {
		return phoneNo
	}
	raw := text[c.start:c.end]
	if c.ext > 0 {
		raw = text[c.start:c.ext]
	}
	d := c.digits[:nd]
	// libphonenumber calls of a split are budgeted per text
	plan := func() bool {
		if budget == nil {
			return true
		}
		*budget--
		return *budget >= 0
	}
	if c.plus {
		if plan() && possibleUS(raw) {
			return phoneValid
		}
		return phoneNo
	}
	formatted := c.ng >= 2
	nanp := (nd == 10 && d[0] >= '2' && d[3] >= '2') || (nd == 11 && d[0] == '1' && d[1] >= '2' && d[4] >= '2')
	// "(650) 253-1274": the common US notation, no context needed.
	if nd == 10 && c.ng == 3 && text[c.start] == '(' && c.groups[0] == 3 && c.groups[1] == 3 && c.groups[2] == 4 && nanp && plan() {
		if num, err := parseUS(raw); err == nil && phonenumbers.IsValidNumber(num) {
			return phoneValid
		}
	}
	if addrWords[prevWord(text, c.start)] {
		return phoneNo
	}
	if !pc.known {
		pc = phoneContext(text, c.start, c.end)
	}
	if nd >= 10 && (string(d[:2]) == "00" && d[2] != '0' || string(d[:3]) == "011") && !pc.neg && plan() {
		intl := "+" + string(d[2:])
		if d[1] == '1' {
			intl = "+" + string(d[3:])
		}
		if possibleUS(intl) {
			return phoneValid
		}
	}
	if ((nd == 10 && d[0] != '0') || (nd == 11 && d[0] == '1')) && usGrouping(c) {
		if (nanp || !split) && plan() {
			num, err := parseUS(raw)
			if err == nil {
				if phonenumbers.IsValidNumber(num) && (!pc.neg || formatted) {
					return phoneValid
				}
				if (formatted || pc.ctx) && !pc.neg && phonenumbers.IsPossibleNumber(num) {
					if pc.ctx {
						return phoneValid
					}
					if !split {
						return phoneStructural
					}
				}
			}
		}
	}
	structural := structuralPhone(text, c, formatted, pc.ctx)
	// trunk-prefixed national numbers are checked against numbering plans
	// only where it matters: in a split, or against a negative context word.
	if formatted && d[0] == '0' && d[1] != '0' && (split || pc.neg) && nd >= 9 && nd <= 12 && (structural || pc.neg) && plan() {
		if nationalValid(raw) {
			return phoneValid
		}
	}
	switch {
	case pc.neg || !structural:
		return phoneNo
	case pc.ctx:
		return phoneValid
	case split:
		return phoneNo
	}
	return phoneStructural
}

// phoneCtx is the context of a number: strong phone words before it ("call",
// "tel"), any phone word before or after it, words that make it some other
// number ("policy", "account").
type phoneCtx struct {
	known, strong, ctx, neg bool
}

func phoneContext(text string, start, end int) phoneCtx {
	pc := phoneContextBefore(text, start)
	pc.ctx = pc.ctx || contextAfter(text, end, phoneAfterWords)
	return pc
}

func phoneContextBefore(text string, start int) phoneCtx {
	pc := phoneCtx{known: true}
	pc.strong = contextBefore(text, start, strongPhoneWords)
	pc.ctx = pc.strong || contextBefore(text, start, phoneWords)
	pc.neg = !pc.strong && contextBefore(text, start, notPhoneWords)
	return pc
}

// nationalRegions are tried for trunk-prefixed ("0...") national numbers.
var nationalRegions = []string{"GB", "DE", "FR", "NL", "BE", "AT", "CH", "SE", "IE", "AU", "NZ"}

func nationalValid(raw string) bool {
	for _, reg := range nationalRegions {
		num, err := phonenumbers.Parse(raw, reg)
		if err == nil && phonenumbers.IsValidNumberForRegion(num, reg) {
			return true
		}
	}
	return false
}

// structuralPhone applies the shape rules for national numbers that were not
// checked against a numbering plan.
func structuralPhone(text string, c *numChunk, formatted, ctx bool) bool {
	nd := c.nd
	if !formatted {
		return ctx && nd <= 12
	}
	if nd > 12 && !ctx {
		return false
	}
	// one separator style (parentheses may accompany spaces or dashes)
	seps := c.seps &^ sepParen
	if seps&sepSlash != 0 {
		return false
	}
	if seps != 0 && seps != sepSpace && seps != sepDash && seps != sepDot && !(c.seps&sepParen != 0 && seps == sepSpace|sepDash) {
		return false
	}
	if c.ng == 2 && c.groups[0] >= 2 && c.groups[0] <= 5 && c.digits[0] == '0' && c.groups[1] >= 5 && c.groups[1] <= 8 && !dateLike(c) {
		return true // trunk prefix + subscriber number: "0471 2256381"
	}
	if c.ng > 6 {
		return false
	}
	small := 0
	for g := 0; g < c.ng && g < len(c.groups); g++ {
		l := c.groups[g]
		if l > 6 {
			return false
		}
		if l < 2 {
			small++
		}
	}
	if small > 1 || (small == 1 && c.groups[0] != 1) {
		return false
	}
	if dateLike(c) {
		return false
	}
	if c.ng == 2 && !ctx && c.seps == sepSpace && c.end+2 < len(text) && text[c.end] == ' ' && upperAt(text, c.end+1) {
		return false // "120 4417 Main Street", "64181 49032 Đặng Glens": house numbers
	}
	if !ctx && c.start >= 2 && text[c.start-1] == '-' && (isAlpha(text[c.start-2]) || text[c.start-2] >= 0x80) {
		return false // glued to a word: a code ("NK-529-2273", "SKU-555-0199"), not a phone
	}
	if c.ng == 2 && !ctx && c.seps&sepParen == 0 {
		// "541 6343" style: 3+4 or 4+4 or 2+6, and not looking like a zip code pair
		a, b := c.groups[0], c.groups[1]
		if !((a == 3 && b == 4) || (a == 4 && b == 4) || (a == 2 && b >= 6) || (a >= 3 && b >= 6) || (a == 4 && b == 3) || (a == 3 && b == 5)) {
			return false
		}
	}
	return true
}

// usGrouping reports whether the digits are grouped as North American
// numbers are written: unformatted, 3-3-4, 3-7, with a leading 1 (1-3-3-4,
// 1-3-7, 1-10). "64181 49032" (5-5) is no US number written down, whatever
// the numbering plan says of its digits.
func usGrouping(c *numChunk) bool {
	g := c.groups[:c.ng]
	if len(g) > 0 && g[0] == 1 && c.nd == 11 {
		g = g[1:]
	}
	switch len(g) {
	case 1:
		return true
	case 2:
		return g[0] == 3 && g[1] == 7
	case 3:
		return g[0] == 3 && g[1] == 3 && g[2] == 4
	}
	return false
}

// upperAt reports whether an upper-case letter starts at text[i].
func upperAt(text string, i int) bool {
	r, _ := utf8.DecodeRuneInString(text[i:])
	return unicode.IsUpper(r)
}

func dateLike(c *numChunk) bool {
	if c.ng != 3 || c.seps&sepSpace != 0 {
		return false
	}
	g0, g1, g2 := c.groups[0], c.groups[1], c.groups[2]
	d := c.digits[:c.nd]
	if g0 == 4 && g1 <= 2 && g2 <= 2 {
		return d[0] == '1' || d[0] == '2'
	}
	if g0 <= 2 && g1 <= 2 && (g2 == 4 || g2 == 2) {
		return true
	}
	return false
}

// possibleUS is phonenumbers.IsPossibleNumber of s parsed with the default
// region US.
func possibleUS(s string) bool {
	num, err := parseUS(s)
	if err != nil {
		return false
	}
	return phonenumbers.IsPossibleNumber(num)
}

var strongPhoneWords = []string{"phone", "call", "tel", "mobile", "cell", "fax", "whatsapp", "sms", "dial"}
var notPhoneWords = []string{"license", "licence", "passport", "driver", "policy", "invoice", "tracking", "routing", "order", "isbn", "serial", "account", "member", "patient id", "employee"}

var phoneAfterWords = []string{"fax", "office", "mobile", "cell", "phone", "tel", "home", "work"}

// contextAfter reports whether one of words occurs in the 12 bytes after i.
func contextAfter(text string, i int, words []string) bool {
	win := text[i:min(len(text), i+12)]
	for _, w := range words {
		if indexFoldWord(win, w) >= 0 {
			return true
		}
	}
	return false
}
