package redact

import (
	"strings"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// emitPlace adds the tagger span ts[a..b] like emitTagSpan, after cutting
// a LOCATION span where the place or address stops: a tagger's draw often
// runs a place on into what follows it — a signature or a person ("…,
// Belgium — Pathé", "… 4741 OP Mikail Humbert-Droz", "…\n\nMaxfuza
// Nojeem"), an ordinary word or a code ("… Uganda 5031 WFH", "Csány
// Guest"), a time zone or a remark in brackets ("Nepal (UTC"), the next
// sentence ("Babót. FYI Noviana") or the sentence going on ("12 Main St and
// then"). An address is a street number, a street name with its type, a
// unit, a postcode, a city and a region or country, in one of a few
// orders, on one line or several (placeEnd); what comes after it is no
// part of it. A person cut off the end ("Mikail Humbert-Droz") is added as
// a PERSON when its words read as a name (nameNotPlace); a part cut off
// that holds a listed place is a place of its own.
func emitPlace(s *scratch, tags []uint8, a, b int, typ string, prio int, doPerson, doLoc, cased bool) {
	if typ != Location || a >= b {
		emitTagSpan(s, tags, a, b, typ, prio, doPerson, doLoc, cased)
		return
	}
	if start, name := placeStart(s.toks, a, b); start > a {
		if name {
			emitTagSpan(s, tags, a, lastWordBefore(s.toks, a, start), Person, prioPerson, doPerson, doLoc, cased)
		}
		a = start
		for a < b && s.toks[a].Kind == ner.KPunct {
			a++
		}
	}
	end, tail := placeEnd(s.text, s.toks, a, b, cased)
	emitTagSpan(s, tags, a, end, typ, prio, doPerson, doLoc, cased)
	switch {
	case tail < 0 || tail > b:
	case nameNotPlace(s.toks[tail : b+1]):
		emitTagSpan(s, tags, tail, b, Person, prioPerson, doPerson, doLoc, cased)
	case listedPlace(s.toks[tail : b+1]):
		// "Onboarding. Nairobi": a place of its own after the cut
		emitPlace(s, tags, tail, b, Location, prio, doPerson, doLoc, cased)
	}
}

// placeEnd returns the last token of the place that LOCATION span ts[a..b]
// starts with, and the first token of what follows it when that may be a
// person's name (else -1). The place stops before:
//
//   - a separator no address holds: a dash between spaces ("—", "–",
//     " - "), an opening bracket, ";", "!" or "?", a full stop that ends a
//     sentence (a space and a capital after it, the word before it no
//     abbreviation), a blank line;
//   - a time ("14:30");
//   - in an address (a span with a number), a line after the first that
//     holds only words read as a name or an ordinary word (listed given
//     names, surnames, English words, chat words, titles, organisations;
//     no place, street, unit or region word): a signature or a greeting
//     under the address;
//   - in an address, on the line of its last part, a word after the end of
//     the address — a postcode after a town or country ("Uganda 5031"),
//     a postcode's letters ("4741 OP"), a country or region ("USA") — that
//     is no place, street, unit or region word itself;
//   - in text with capitals, a lower-case English word after which the span
//     has only lower-case words, one of them no name particle: the
//     sentence going on ("12 Main St and then we"); "Rue de la Paix" and
//     "Chemin des Navaux" keep their particles.
func placeEnd(text string, ts []ner.Token, a, b int, cased bool) (end, tail int) {
	addr := false
	for k := a; k <= b; k++ {
		if ts[k].Kind == ner.KNum {
			addr = true
			break
		}
	}
	word := func(k int) bool { return ts[k].Kind == ner.KWord }
	for k := a + 1; k <= b; k++ {
		t := &ts[k]
		switch {
		case separator(text, ts, k, b):
			return lastWordBefore(ts, a, k), nextWord(ts, k, b)
		case t.NL && blankBefore(text, ts, k) && wordsOnly(ts, k, b):
			return lastWordBefore(ts, a, k), k
		case t.Kind == ner.KNum && k+2 <= b && ts[k+1].Shape == ner.ShColon && !ts[k+1].Space && ts[k+2].Kind == ner.KNum && !ts[k+2].Space:
			return lastWordBefore(ts, a, k), -1 // "14:30"
		case addr && t.NL && nameLine(ts, k, b):
			return lastWordBefore(ts, a, k), k
		case addr && word(k) && t.Space && !t.NL && closesAddress(ts, a, k-1) && !placeWord(t):
			return k - 1, k
		case cased && word(k) && t.Space && t.Shape == ner.ShLower && t.Flags&(ner.FFunc|ner.FDict) != 0 && t.Flags&placeFlags == 0 && t.Flags&ner.FParticle == 0 && sentenceRest(ts, k, b):
			return lastWordBefore(ts, a, k), -1
		}
	}
	return b, -1
}

// placeStart returns where the address in LOCATION span ts[a..b] starts,
// past a first part that is no part of it: a person's name before a comma
// and a house number ("Vieve Poels, 56934 River Road"; name is true: it is
// added as a PERSON)
// or a line above the address that holds a person's name or an
// organisation ("Bluth Company\n5419 Jamie Villages"). The first part holds
// no number and no place, street, unit or region word, and a number and a
// word follow it in the span.
func placeStart(ts []ner.Token, a, b int) (start int, name bool) {
	k := a
	org := false
	for ; k <= b && (k == a || !ts[k].NL) && ts[k].Shape != ner.ShComma; k++ {
		t := &ts[k]
		if t.Kind == ner.KNum || t.Flags&placeFlags != 0 {
			return a, false
		}
		org = org || t.Flags&ner.FOrg != 0
	}
	if k > b || k == a {
		return a, false
	}
	comma := ts[k].Shape == ner.ShComma
	rest := k
	if comma {
		rest++
	}
	num, word := false, false
	for i := rest; i <= b; i++ {
		num = num || ts[i].Kind == ner.KNum
		word = word || ts[i].Kind == ner.KWord
	}
	if !num || !word || rest > b || comma && ts[rest].NL {
		return a, false
	}
	person := nameNotPlace(ts[a:k])
	switch {
	case comma && person && ts[rest].Kind == ner.KNum:
		// the address after the comma starts with its number: "Aleea
		// Romeo, Bloc 80" is a street and a block, no person
		return rest, true
	case !comma && (person || org):
		return rest, false
	}
	return a, false
}

// listedPlace reports whether a word of ts is a listed place.
func listedPlace(ts []ner.Token) bool {
	for i := range ts {
		if ts[i].Kind == ner.KWord && ts[i].Flags&ner.FPlace != 0 {
			return true
		}
	}
	return false
}

// placeFlags mark a word that belongs to a place or an address.
const placeFlags = ner.FPlace | ner.FPlacePre | ner.FStreet | ner.FUnit | ner.FRegion

// placeWord reports whether t is a word an address may end with or go on
// with after its postcode: a listed place, street, unit or region word, or
// two capitals (a postcode's letters "OP", a state "CA").
func placeWord(t *ner.Token) bool {
	return t.Flags&placeFlags != 0 || (t.Shape == ner.ShUpper && t.E-t.S == 2)
}

// closesAddress reports whether ts[k] ends an address on its line: a
// postcode (four digits or more, or a number glued by a hyphen to
// another: "19504-6719") right after a word on its line; two capitals
// right after such a postcode ("4741 OP"); a listed place or region word
// in capitals or after a comma or postcode ("…, USA", "Szakoly USA").
func closesAddress(ts []ner.Token, a, k int) bool {
	t := &ts[k]
	var postcode func(k int) bool
	postcode = func(k int) bool {
		if k <= a || ts[k].Kind != ner.KNum || ts[k].NL {
			return false
		}
		p := &ts[k-1]
		if p.Shape == ner.ShHyphen && !p.Space && !ts[k].Space {
			return postcode(k - 2) // "19504-6719"
		}
		long := ts[k].Shape == ner.ShNum5 || ts[k].Shape == ner.ShNumLong || ts[k].E-ts[k].S == 4
		// after a town or country; not after a unit or street word ("Box
		// 1089", "Flat 1204")
		if !long || !ts[k].Space || p.Kind != ner.KWord || p.Flags&(ner.FUnit|ner.FStreet) != 0 {
			return false
		}
		// nor after a street's name on its line or since its comma: "64
		// Avenue Vaneau 66881 Dunapataj" puts the town after the postcode
		for i := k - 1; i >= a && ts[i].Shape != ner.ShComma; i-- {
			if ts[i].Flags&ner.FStreet != 0 {
				return false
			}
			if ts[i].NL {
				break
			}
		}
		return true
	}
	switch {
	case t.Kind == ner.KNum:
		return postcode(k)
	case t.Kind != ner.KWord:
		return false
	case t.Shape == ner.ShUpper && t.E-t.S == 2 && t.Space && postcode(k-1):
		return true // "4741 OP"
	case k > a && t.Shape == ner.ShUpper && t.E-t.S <= 3 && t.Space && t.Flags&(ner.FPlace|ner.FPlacePre|ner.FRegion) != 0:
		// (spaced: "CF8 0UT" is a postcode)
		return true // a country's or region's code: "Szakoly USA"
	}
	return false
}

// separator reports whether ts[k] ends a place: a dash between spaces, an
// opening bracket, ";", "!", "?" or a full stop that ends a sentence.
func separator(text string, ts []ner.Token, k, b int) bool {
	t := &ts[k]
	if t.Kind != ner.KPunct {
		return false
	}
	w := text[t.S:t.E]
	spacedAfter := k+1 <= b && ts[k+1].Space
	switch {
	case w == "—" || w == "–" || w == "-" && t.Space && spacedAfter:
		// not before a state's code: "São Paulo - SP"
		return k == b || !(ts[k+1].Shape == ner.ShUpper && ts[k+1].E-ts[k+1].S <= 3 || ts[k+1].Flags&ner.FRegion != 0)
	case w == "(":
		// a bracket the span does not close, before an acronym, a code or
		// lower-case words: "Nepal (UTC"; "Cyprus (Greek)" is a place's
		// name, "Kolos KC (Przedecz" a place in brackets
		for i := k + 1; i <= b; i++ {
			if text[ts[i].S:ts[i].E] == ")" {
				return false
			}
		}
		return k == b || !strongPlace(ts[k+1:b+1]) || noProperWord(ts, k+1, b, true)
	case w == ";" || t.Shape == ner.ShSentEnd:
		return true
	case t.Shape == ner.ShDot:
		// a sentence's full stop: a space and a capital after it, a word of
		// four letters or more before it that is no street, unit or title
		// abbreviation ("St.", "Av.", "Dr.")
		// and no number after it in the span ("An der Evgl. Kirche 41b")
		p := &ts[k-1]
		for i := k + 1; i <= b; i++ {
			if ts[i].Kind == ner.KNum {
				return false
			}
		}
		return spacedAfter && !ts[k+1].NL && ts[k+1].Shape != ner.ShLower && ts[k+1].Kind == ner.KWord &&
			p.Kind == ner.KWord && p.E-p.S >= 4 && p.Flags&(ner.FStreet|ner.FUnit|ner.FTitle) == 0
	}
	return false
}

// blankBefore reports whether an empty line stands before ts[k].
func blankBefore(text string, ts []ner.Token, k int) bool {
	return strings.Count(text[ts[k-1].E:ts[k].S], "\n") >= 2
}

// nameLine reports whether the line that starts at ts[k] holds, up to b or
// its end, a person's name and nothing else: two or three capitalised
// words, the first a listed given name, none a place, street, unit or
// region word ("Gareth Hughes" under an address; "Pines Beach", "New
// Zealand" stay).
func nameLine(ts []ner.Token, k, b int) bool {
	words := 0
	for i := k; i <= b && (i == k || !ts[i].NL); i++ {
		t := &ts[i]
		switch {
		case t.Kind == ner.KPunct && t.Shape != ner.ShComma && words == 0:
			// a quote mark or a bullet before the name
		case t.Kind != ner.KWord || t.Flags&placeFlags != 0 || (t.Shape != ner.ShCap && t.Shape != ner.ShMixed):
			return false
		case words == 0 && t.Flags&ner.FGiven == 0:
			return false
		default:
			words++
		}
	}
	return words >= 2 && words <= 3
}

// wordsOnly reports whether ts[k..b] holds no number and no place,
// street, unit or region word: after a blank line, the span has no
// more address ("China\n\nMaxfuza Nojeem"; "\n\n Spain 61709" goes on).
func wordsOnly(ts []ner.Token, k, b int) bool {
	for i := k; i <= b; i++ {
		if ts[i].Kind == ner.KNum || ts[i].Flags&placeFlags != 0 {
			return false
		}
	}
	return true
}

// sentenceRest reports whether ts[k..b] are all lower-case words (or
// commas) and none is a place word: a sentence going on after a place. Its
// one caller has checked that ts[k] is no name particle, so the rest never
// consists of particles alone ("Rue de la Paix" keeps "de la").
func sentenceRest(ts []ner.Token, k, b int) bool {
	for i := k; i <= b; i++ {
		t := &ts[i]
		if t.Kind == ner.KPunct && t.Shape == ner.ShComma {
			continue
		}
		if t.Kind != ner.KWord || t.Shape != ner.ShLower || t.Flags&placeFlags != 0 {
			return false
		}
	}
	return true
}

// lastWordBefore returns the last token before k that is no punctuation
// (a closing bracket stays), at least a.
func lastWordBefore(ts []ner.Token, a, k int) int {
	e := k - 1
	for e > a && ts[e].Kind == ner.KPunct && ts[e].Shape != ner.ShParen {
		e--
	}
	return e
}

// nextWord returns the first word token after the separator at k, at
// most b, or -1.
func nextWord(ts []ner.Token, k, b int) int {
	for i := k + 1; i <= b; i++ {
		if ts[i].Kind != ner.KPunct {
			return i
		}
	}
	return -1
}
