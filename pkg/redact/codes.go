package redact

import (
	"strings"
	"unicode"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// Round 26: capitalised words that name a thing by a code, a number or a
// date rather than anyone or anywhere. Each test below names a class of
// tokens (by shape, or by a short closed list written from what the words
// mean, not from any corpus); a tagger span that meets one is no name and
// no place (thingSpan, called from emitTagSpan).

// thingSpan reports whether the tagger span ts[a..b] is a model or
// stock code ("WH-North", "Jaguar F-Pace", "Mach-E"), a name glued to a
// number by a hyphen ("Frankfurt-1", "build-771"), a sales region
// ("EMEA", "APAC"), a numbered part of a building, document or plan
// ("Floor 4", "Tier 2", "Section 6") or a holiday ("Easter Monday",
// "Boxing Day", "King's Day").
func thingSpan(text string, ts []ner.Token, a, b int) bool {
	if a > b {
		return false
	}
	// a code makes the span a thing unless the span has a number (an
	// address's unit may be a code: "Block C-North 4") or a listed name
	// beside the code ("M-Pesa Daniel": a payment to someone)
	code, other := false, false
	for i := a; i <= b; i++ {
		switch t := &ts[i]; {
		case t.Kind == ner.KNum:
			other = true
		case t.Kind != ner.KWord:
		case modelCode(text, t):
			code = true
		case t.Flags&(ner.FGiven|ner.FSurname) != 0:
			other = true
		}
	}
	if code && !other {
		return true
	}
	return a == b && gluedNumber(ts, b) || salesRegion(text, ts, a, b) || colourWord(text, ts, a, b) || numberedPart(text, ts, a, b) || holiday(text, ts, a, b)
}

// modelCode reports whether a hyphenated word joins a part in capitals of
// at most four letters to a part with a lower-case letter: a stock or
// warehouse code ("WH-North", "SKU-Blue"), a model ("F-Pace", "Mach-E",
// "ORCA-build"). Hyphenated names and places have no such part: their
// parts are capitalised words ("Wieczorek-Hahn", "Al-Mansouri"), lower-case
// particles ("Nord-Pas-de-Calais", "Min-ji") or, in text in capitals, all
// in capitals ("ABU-BAKR"); a one-letter part between two others is a
// Welsh or Breton article ("Pen-Y-Bont", "Heol-Y-Nant"), so a part of one
// letter counts only first or last ("F-Pace", "Mach-E").
func modelCode(text string, t *ner.Token) bool {
	w := text[t.S:t.E]
	if strings.IndexByte(w, '-') < 0 {
		return false
	}
	short, lower := false, false
	for k, rest := 0, w; ; k++ {
		p, tail, more := strings.Cut(rest, "-")
		up, lo, n := 0, 0, 0
		for _, r := range p {
			n++
			switch {
			case unicode.IsUpper(r):
				up++
			case unicode.IsLower(r):
				lo++
			}
		}
		if n > 0 && up == n && n <= 4 && (n > 1 || k == 0 || !more) {
			short = true
		}
		if lo > 0 {
			lower = true
		}
		if !more {
			break
		}
		rest = tail
	}
	return short && lower
}

// gluedNumber reports whether the word ending the span is glued to a
// number by a hyphen ("Frankfurt-1", "eu-central-ci-04", "ORCA-build-771"):
// a region, host or build id, numbered with one to four digits. A name or
// place is written apart from a number ("Room 4", "Frankfurt 1"); a word
// glued to a long number is something else (a name run into a token).
func gluedNumber(ts []ner.Token, b int) bool {
	return ts[b].Kind == ner.KWord && b+2 < len(ts) && ts[b+1].Shape == ner.ShHyphen && !ts[b+1].Space &&
		ts[b+2].Kind == ner.KNum && !ts[b+2].Space && (ts[b+2].Shape == ner.ShNum2 || ts[b+2].Shape == ner.ShNum4)
}

// salesRegions are the names companies give their sales and reporting
// regions; none is where a person lives or is.
var salesRegions = map[string]bool{
	"EMEA": true, "EMEIA": true, "APAC": true, "APJ": true, "LATAM": true, "AMER": true,
	"NORAM": true, "NALA": true, "DACH": true, "MENA": true, "ANZ": true, "CEE": true,
}

func salesRegion(text string, ts []ner.Token, a, b int) bool {
	return a == b && ts[a].Shape == ner.ShUpper && salesRegions[text[ts[a].S:ts[a].E]]
}

// partNouns number the parts of a building, a document, a plan or a
// schedule: "Floor 4", "Tier 2", "Section 6", "Phase 3" name a part, not
// where anyone lives. (Unit words of addresses — Apt, Suite, Unit, Flat —
// are not among them: "Suite 300" is part of an address.)
var partNouns = map[string]bool{
	"floor": true, "level": true, "tier": true, "section": true, "chapter": true, "article": true, "clause": true,
	"part": true, "page": true, "phase": true, "stage": true, "step": true, "version": true, "release": true,
	"sprint": true, "week": true, "gate": true, "wing": true, "zone": true, "terminal": true, "platform": true,
	"slide": true, "item": true, "annex": true, "appendix": true, "schedule": true, "figure": true, "table": true,
}

// numberedPart reports whether the span is a part noun and a number, with
// at most a letter after it ("Floor 4", "Gate 12B", "Tier 2").
func numberedPart(text string, ts []ner.Token, a, b int) bool {
	if b < a+1 || b > a+2 || ts[a].Kind != ner.KWord || ts[a].Shape != ner.ShCap || ts[a+1].Kind != ner.KNum {
		return false
	}
	if b == a+2 && !(ts[b].Shape == ner.ShInit && !ts[b].Space) {
		return false
	}
	return foldIn(partNouns, text[ts[a].S:ts[a].E])
}

// weekdays in English: a span of two or more words that ends in one is a
// holiday ("Easter Monday", "Good Friday", "Black Friday").
var weekdays = map[string]bool{
	"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true, "sunday": true,
}

// holidayWords name the holidays of the English-speaking calendar before
// a weekday or "Day" (some are also listed names: "Whit", "Good").
var holidayWords = map[string]bool{
	"easter": true, "whit": true, "good": true, "black": true, "cyber": true, "holy": true, "maundy": true, "shrove": true,
	"ash": true, "boxing": true, "labour": true, "labor": true, "memorial": true, "independence": true, "ascension": true,
	"christmas": true, "thanksgiving": true, "valentine": true, "election": true, "victory": true, "giving": true,
	"fat": true, "clean": true, "plough": true, "super": true, "palm": true,
}

// holiday reports whether the span names a holiday: holiday words before
// an English weekday ("Whit Monday", "Good Friday", "Cyber Monday"; any
// other word may be a name and the day it is said: "Ana Friday"),
// capitalised words before "Day" ("Boxing Day", "Ascension Day") none of
// which is a listed given name or surname unless a holiday word ("Doris
// Day" is a name), or "Day" after a possessive ("King's Day", "Mother's
// Day"). Only words: "Amplitude32, Monday" is none.
func holiday(text string, ts []ner.Token, a, b int) bool {
	if ts[b].Kind != ner.KWord || ts[b].Shape != ner.ShCap {
		return false
	}
	lw := text[ts[b].S:ts[b].E]
	day := strings.EqualFold(lw, "day")
	if !day && !foldIn(weekdays, lw) {
		return false
	}
	if a == b {
		return day && a > 0 && ts[a-1].Shape == ner.ShApos
	}
	for i := a; i < b; i++ {
		if ts[i].Kind != ner.KWord || ts[i].Shape != ner.ShCap {
			return false // "Amplitude32, Monday": words only
		}
		hw := foldIn(holidayWords, text[ts[i].S:ts[i].E])
		if !hw && (!day || ts[i].Flags&(ner.FGiven|ner.FSurname) != 0) {
			return false
		}
	}
	return true
}

// colours are the names of colours, finishes and materials a catalogue
// offers a product in ("in Charcoal", "Available in Sandstone and
// Ivory"). Those a name or place list holds ("Sage", "Olive", "Ivory"
// when listed) are left to the tagger.
var colours = map[string]bool{
	"charcoal": true, "sandstone": true, "slate": true, "graphite": true, "taupe": true, "beige": true, "ochre": true,
	"oatmeal": true, "teal": true, "turquoise": true, "burgundy": true, "maroon": true, "magenta": true, "lilac": true,
	"lavender": true, "mauve": true, "coral": true, "cobalt": true, "indigo": true, "crimson": true, "scarlet": true,
	"khaki": true, "navy": true, "cream": true, "ecru": true, "bronze": true, "copper": true, "pewter": true,
	"walnut": true, "mahogany": true, "terracotta": true, "ivory": true, "anthracite": true, "stone": true,
	"sand": true, "cognac": true, "tan": true, "mint": true, "aqua": true, "fuchsia": true, "emerald": true,
	"sapphire": true, "ruby": true, "amber": true, "jade": true, "pearl": true, "onyx": true, "granite": true, "marble": true,
}

// colourWord reports whether the span is one capitalised colour word that
// no name or place list holds.
func colourWord(text string, ts []ner.Token, a, b int) bool {
	return a == b && ts[a].Kind == ner.KWord && ts[a].Shape == ner.ShCap && ts[a].Flags&(ner.FGiven|ner.FSurname|ner.FPlace) == 0 &&
		foldIn(colours, text[ts[a].S:ts[a].E])
}

// codeValue reports whether the field value ts[lo..hi] is a code or a
// sales region and not a place, whatever its label says: a "region"
// column's "APAC", "region: Frankfurt-1" (a cloud region's id), or a
// value thingSpan reads as a thing.
func codeValue(text string, ts []ner.Token, lo, hi int) bool {
	return hi == lo+2 && gluedNumber(ts, lo) || thingSpan(text, ts, lo, hi)
}

// foldIn reports whether the ASCII lower-case form of w is in m (the lists
// above are ASCII; a word of another script is in none), without
// allocating.
func foldIn(m map[string]bool, w string) bool {
	return m[string(foldASCII(&[16]byte{}, w))]
}
