package redact

import (
	"github.com/nyaruka/phonenumbers"
)

// phoneLike decides whether a digit chunk is a phone number.
//
//   - "+CC ..." and "00CC"/"011CC" international numbers: parsed with
//     phonenumbers and accepted when IsPossibleNumber.
//   - 10 digits (or 11 starting with 1), US style: accepted when the number
//     is valid for the US numbering plan; when formatted with separators or
//     preceded by a phone context word, a possible US number is enough.
//   - Other formatted national numbers (7-12 digits in 2-6 groups of 2-6
//     digits, one separator style, not a date, not after an address word such
//     as "Suite" or "Box") are accepted structurally, since numbering plans of
//     every country cannot be tried per candidate cheaply.
//   - Unformatted digit runs other than US-10 need a context word ("phone",
//     "call", "tel", ...).
func phoneLike(text string, c *numChunk) bool {
	nd := c.nd
	core := nd
	if c.ext > 0 {
		// digits of the extension are not in the chunk digits (scanChunk stops
		// before the extension), so core == nd.
		core = nd
	}
	if core < 7 || core > 15 {
		return false
	}
	pw := prevWord(text, c.start)
	if addrWords[pw] {
		return false
	}
	// a time right after the chunk ("2000-04-16 11:34") or a date inside it
	if c.end+1 < len(text) && text[c.end] == ':' && isDigit(text[c.end+1]) {
		return false
	}
	if c.ng >= 3 && c.groups[0] == 4 && c.groups[1] <= 2 && c.groups[2] <= 2 && (c.digits[0] == '1' || c.digits[0] == '2') {
		return false
	}
	strongCtx := contextBefore(text, c.start, strongPhoneWords)
	if !strongCtx && contextBefore(text, c.start, notPhoneWords) {
		return false
	}
	raw := text[c.start:c.end]
	if c.ext > 0 {
		raw = text[c.start:c.ext]
	}
	d := c.digits[:nd]
	if c.plus {
		return possible(raw, "US")
	}
	if nd >= 10 && (string(d[:2]) == "00" && d[2] != '0' || string(d[:3]) == "011") {
		intl := "+" + string(d[2:])
		if d[1] == '1' {
			intl = "+" + string(d[3:])
		}
		if possible(intl, "US") {
			return true
		}
	}
	formatted := c.ng >= 2
	ctx := contextBefore(text, c.start, phoneWords) || contextAfter(text, c.end, phoneAfterWords)
	if nd == 10 || (nd == 11 && d[0] == '1') {
		if nd == 10 && d[0] == '0' {
			// national trunk prefix: not US, fall through to structural rules
		} else {
			num, err := phonenumbers.Parse(raw, "US")
			if err == nil {
				if phonenumbers.IsValidNumber(num) {
					return true
				}
				if (formatted || ctx) && phonenumbers.IsPossibleNumber(num) {
					return true
				}
			}
		}
	}
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
		return true // trunk prefix + subscriber number: "0393 1144137"
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
	if c.ng == 2 && c.groups[0] >= 2 && c.groups[0] <= 5 && c.digits[0] == '0' && c.groups[1] >= 5 && c.groups[1] <= 8 {
		return true // trunk prefix + subscriber number: "0393 1144137"
	}
	if c.ng == 2 && !ctx && c.seps == sepSpace && c.end+2 < len(text) && text[c.end] == ' ' && text[c.end+1] >= 'A' && text[c.end+1] <= 'Z' {
		return false // "370 3911 Fourth Avenue": house numbers
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

func possible(s, region string) bool {
	num, err := phonenumbers.Parse(s, region)
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
		if indexFold(win, w) >= 0 {
			return true
		}
	}
	return false
}
