package redact

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// findNames runs the name/place tagger (pkg/redact/ner: an averaged
// perceptron over token features, Viterbi-decoded) and the street address
// patterns.
func (r *Redactor) findNames(text string, s *scratch, hasDigit bool) {
	doPerson, doLoc := r.enabled(Person), r.enabled(Location)
	if doLoc && hasDigit {
		findAddresses(text, s)
	}
	if r.model == nil {
		return
	}
	// Tag the text in windows of about windowBytes, cut at a line break,
	// else a sentence end, else a space: the buffers stay small, so time
	// and memory grow linearly with the text whatever it holds.
	tagged := len(s.cands)
	s.products.reset()
	for from := 0; from < len(text); {
		to := windowEnd(text, from)
		s.toks = ner.TokenizeRange(text, from, to, s.toks[:0])
		s.products.scan(text, s.toks)
		r.tagWindow(s, doPerson, doLoc)
		from = to
	}
	s.cands = s.products.veto(text, s.cands, tagged) // products.go
}

// windowBytes is the size of the text windows the tagger decodes at once.
const windowBytes = 2048

// windowEnd returns where the window starting at from ends.
func windowEnd(text string, from int) int {
	if len(text)-from <= windowBytes+windowBytes/2 {
		return len(text)
	}
	lim := from + windowBytes
	lo := from + windowBytes/2
	if i := strings.LastIndexByte(text[lo:lim], '\n'); i >= 0 {
		return lo + i + 1
	}
	if i := strings.LastIndex(text[lo:lim], ". "); i >= 0 {
		return lo + i + 2
	}
	if i := strings.LastIndexByte(text[lo:lim], ' '); i >= 0 {
		return lo + i + 1
	}
	for lim > from+1 && !utf8.RuneStart(text[lim]) {
		lim--
	}
	return lim
}

// tagWindow decodes the tokens in s.toks and adds their PERSON and
// LOCATION spans.
func (r *Redactor) tagWindow(s *scratch, doPerson, doLoc bool) {
	n := len(s.toks)
	if n == 0 {
		return
	}
	if cap(s.tags) < n {
		s.tags = make([]uint8, n+n/2)
	}
	tags := s.tags[:n]
	r.model.Decode(s.toks, tags, &s.ner)
	addTagSpans(s, tags, doPerson, doLoc)
}

// addTagSpans turns the tagger's tags of the tokens in s.toks into PERSON
// and LOCATION candidates, with the span rules that mend what a tagger's
// draw may miss or misread.
func addTagSpans(s *scratch, tags []uint8, doPerson, doLoc bool) {
	n := len(s.toks)
	s.spans = s.spans[:0]
	from := len(s.cands) // this window's candidates start here
	cased := false
	for i := range s.toks {
		if sh := s.toks[i].Shape; sh == ner.ShCap || sh == ner.ShMixed {
			cased = true
			break
		}
	}
	// foreign.go: does the window read as another language (for short
	// lines; counted on first use)
	s.lang = windowLang{text: s.text, ts: s.toks}
	for i := 0; i < n; {
		t := tags[i]
		if t == ner.TagO {
			i++
			continue
		}
		typ, in, prio := Person, uint8(ner.TagIPer), prioPerson
		if t == ner.TagBLoc || t == ner.TagILoc {
			typ, in, prio = Location, ner.TagILoc, prioLoc
		}
		j := i + 1
		for j < n && tags[j] == in {
			j++
		}
		// fields.go: a span that runs over a CSV/TSV cell, a JSON quote or a
		// label's colon is cut there, one run per cell ("Av. El Sol 614","city":"Cusco")
		p, cut := i, false
		for k := i + 1; k < j; k++ {
			if cellSep(s.text, s.toks, k) {
				if p < k && cellWorthy(s.text, s.toks, p, k-1) {
					tagRun(s, tags, p, k, typ, prio, doPerson, doLoc, cased)
				}
				p, cut = k+1, true
				if s.toks[k].Kind != ner.KPunct {
					p = k // a tab or a line break: the token starts the next cell
				}
			}
		}
		if p < j && (!cut || cellWorthy(s.text, s.toks, p, j-1)) {
			tagRun(s, tags, p, j, typ, prio, doPerson, doLoc, cased)
		}
		i = j
	}
	if doPerson || doLoc {
		fieldSpans(s, doPerson, doLoc) // fields.go: "Nom : Tremblay", "Region: Waikato", a CSV city column
	}
	placeSpans(s, tags, from, doLoc) // places.go: "Texas, Ohio, Georgia and Maine", "w Gdańsku", "Tampereella"
	// in cased text, a place made only of numbers and lower-case words (a
	// postcode line, "apt 4") stands next to a place with a name; alone it
	// is a ticket number or a row
	strong := false
	for _, sp := range s.spans {
		strong = strong || (sp.typ == Location && !sp.weak)
	}
	for _, sp := range s.spans {
		if !sp.weak || strong {
			s.add(sp.start, sp.end, sp.typ, sp.prio)
		}
	}
	if doPerson {
		titledNames(s, tags) // titles.go: "Sr. García y Sra. López", the name after a title the tagger left out
	}
	properNouns(s, tags, doPerson, doLoc)
	if doPerson {
		loneNames(s, from) // lone.go: "Hei Sigrid,", a signature's first name on the last line
	}
}

// tagRun adds the tagger run ts[i..j-1] of type typ, read with the span
// rules that mend what a tagger's draw may miss or misread.
func tagRun(s *scratch, tags []uint8, i, j int, typ string, prio int, doPerson, doLoc, cased bool) {
	n := len(s.toks)
	a, b := i, j-1
	for a <= b && s.toks[a].Kind == ner.KPunct {
		a++
	}
	for b >= a && s.toks[b].Kind == ner.KPunct && s.toks[b].Shape != ner.ShParen {
		b--
	}
	if a < b && keyTail(s.toks, a) {
		a++ // "ref ENG-878 Ekaaksh Myhrer": the number belongs to the ticket key, not to a house
	}
	for a < b && chatWord(s.text, &s.toks[a]) {
		a++ // "omg liah", "Hi Ana": a chat word or greeting before a name is no part of it
		for a < b && s.toks[a].Kind == ner.KPunct {
			a++
		}
	}
	for b > a && chatWord(s.text, &s.toks[b]) {
		b-- // "Ana thx": nor after it
		for b > a && s.toks[b].Kind == ner.KPunct && s.toks[b].Shape != ner.ShParen {
			b--
		}
	}
	if b = labelTail(s.text, s.toks, a, b); b < j-1 {
		j = b + 1 // fields.go: "NAIROBI TO: …" — the next field's label is no part of the span
	}
	if typ == Person && b == j-1 && j < n && tags[j] == ner.TagO && surnameAfter(s.toks, b) {
		b, j = j, j+1 // "Mateo Müller": the surname after a given name
	}
	if typ == Person && a == i {
		for k := 0; k < 2 && a > 0 && tags[a-1] == ner.TagO && surnameBefore(s.toks, a); k++ {
			a-- // "Nguyễn Thị Mai": surname-first order, the listed surname before the name
		}
	}
	if typ == Location && b == j-1 && j < n && tags[j] == ner.TagO && surnameAfter(s.toks, b) && nameNotPlace(s.toks[a:j+1]) {
		b, j = j, j+1 // "loop in Yzzutho Skiraestrup": a name read as a place, its surname left out
	}
	if a < b && legalForm(s.text, &s.toks[b]) || a <= b && legalFormAfter(s.text, s.toks, b) {
		return // "Soylent Corp", "De Fazio & Sons": an organisation, not a name or a place
	}
	if a == b && dictCompound(s.text, &s.toks[a]) {
		return // "Follow-up", "sign-off", "team-building": a compound of English words
	}
	if typ == Location && a == b && s.toks[a].Kind == ner.KNum && b+1 < n && !s.toks[b+1].NL && s.text[s.toks[b+1].S] == '%' {
		return // "100%": a percentage, no postcode
	}
	if noProperWord(s.toks, a, b, cased) {
		return // "APM", "SCIM, SAML", "S3", "SC045672", "A-55120": acronyms and codes, no name or place
	}
	if typ == Location && enumerated(s.text, s.toks[a:b+1]) {
		return
	}
	if cased && lowerForeign(s.text, s.toks, a, b, &s.lang) {
		return // foreign.go: "zusammen", "tarjouksesta": a lower-case word of a sentence in another language
	}
	if cased && a < b {
		var pieces [4][2]int
		if np, run := foreignPieces(s.text, s.toks, a, b, &s.lang, &pieces); run {
			// "Le confirmamos la reserva … de Valencia": a sentence of another
			// language read as one name; only its listed names stay
			for _, pc := range pieces[:np] {
				pt, pp := typ, prio
				if typ == Location && listedPerson(s.text, s.toks, pc[0], pc[1]) {
					pt, pp = Person, prioPerson // "Geachte heer Kuipers": the sentence made it a place, the lists a name
				}
				emitTagSpan(s, tags, pc[0], pc[1], pt, pp, doPerson, doLoc, cased)
			}
			return
		}
	}
	emitPlace(s, tags, a, b, typ, prio, doPerson, doLoc, cased) // address.go: a place stops where the address stops
}

// emitTagSpan adds the tagger span ts[a..b] of type typ: a span of titles
// only is none, a titled name is a PERSON without its title (emitTitled),
// any other goes to emitSpan.
func emitTagSpan(s *scratch, tags []uint8, a, b int, typ string, prio int, doPerson, doLoc, cased bool) {
	if a > b || onlyTitles(s.text, s.toks, a, b) {
		return // "Madam", "Dear Sir": a form of address without a name
	}
	if labelOnly(s.text, s.toks, a, b) {
		return // fields.go: "Vorname:", "Lieferanschrift", a CSV header's "city": a field's label
	}
	if thingSpan(s.text, s.toks, a, b) {
		return // codes.go: "WH-North", "Frankfurt-1", "APAC", "Floor 4", "Easter Monday": codes, parts and holidays
	}
	if closedClassSpan(s.text, s.toks, a, b) {
		return // calendar.go: "Eid al-Fitr", "Mon-Wed", "Sev2", "UTC", "Quechua", "Handoff to": dates, jargon, languages, labels
	}
	if closedAlone(s.text, s.toks, a, b) {
		return // closed.go: "Montag", "Dzień dobry", "Herzlich": function words and formulas of other languages
	}
	if headingLabel(s.text, s.toks, a, b, &s.lang) {
		return // foreign.go: "Aviso:", "Rappel :": a notice's heading, no name
	}
	if unlistedPhrase(s.text, s.toks, a, b, &s.lang) {
		return // foreign.go: "Modulo di Consenso", "Gratin Dauphinois": title-case nouns of another language
	}
	if articleNoun(s.text, s.toks, a, b, &s.lang) {
		return // foreign.go: "die Kantine", "el Pedido", "Le Colis": a noun after an article of another language
	}
	if emitTitled(s, tags, a, b, typ, prio, doPerson, doLoc, cased) {
		return // titles.go: "Herr Böhm", "Mme Dubois et M. Laurent"
	}
	if lo, hi, thing, ok := headed(s.text, s.toks, a, b); ok {
		if !thing {
			emitHeaded(s, tags, lo, hi, doPerson, doLoc, cased) // heads.go: "Paris Bakery": a shop's name keeps its place
		}
		return // "Sala Goya", "the Florence Suite", "Caesar Salad": a room's, a product's or a dish's name
	}
	emitSpan(s, tags, a, b, typ, prio, doPerson, doLoc, cased)
}

// emitSpan adds the tagger span ts[a..b] of type typ when it is plausible;
// a place that reads as a name becomes a name.
func emitSpan(s *scratch, tags []uint8, a, b int, typ string, prio int, doPerson, doLoc, cased bool) {
	if typ == Location && nameNotPlace(s.toks[a:b+1]) {
		typ, prio = Person, prioPerson
	}
	if a <= b && ((typ == Person && doPerson) || (typ == Location && doLoc)) && plausible(s.toks[a:b+1], prevTok(s.toks, a), typ, cased) {
		s.spans = append(s.spans, tagSpan{int(s.toks[a].S), int(s.toks[b].E), typ, prio, typ == Location && weakPlace(s.toks[a:b+1], cased)})
		if typ == Person {
			coordinated(s, tags, a, b) // "Jordan and Ruby": a listed given name joined to the name
		}
	}
}

// dictCompound reports whether a word joins English dictionary words by
// hyphens, no list knows the whole word as a name or a place ("Rose-Marie",
// "Jean-Paul" are given names), and one of its parts is a function word
// ("Check-in", "sign-off", "Heads-up", "add-on") or none is a listed given
// name or surname ("team-building"): such a word is a phrasal noun, no name
// and no place. A double-barrelled surname of dictionary words that are
// also surnames ("Lane-Fox") stays a name; so does "Fine-tune", two
// surnames by the lists.
func dictCompound(text string, t *ner.Token) bool {
	if t.Kind != ner.KWord || t.Shape == ner.ShUpper || t.Shape == ner.ShMixed {
		return false
	}
	w := text[t.S:t.E]
	if strings.IndexByte(w, '-') < 0 || ner.Flags(w)&(ner.FGiven|ner.FSurname|ner.FPlace|ner.FPlacePre) != 0 {
		return false // the token's own flags also hold its parts' names ("Fine-tune": two surnames)
	}
	parts, fn, named := 0, false, false
	for w != "" {
		k := strings.IndexByte(w, '-')
		part := w
		if k >= 0 {
			part, w = w[:k], w[k+1:]
		} else {
			w = ""
		}
		f := ner.Flags(part)
		if part == "" || f&ner.FDict == 0 {
			return false
		}
		parts++
		fn = fn || f&ner.FFunc != 0
		named = named || f&(ner.FGiven|ner.FSurname) != 0
	}
	return parts >= 2 && (fn || !named)
}

// keyTail reports whether token i is the number of a key glued to letters
// by a hyphen ("ENG-878", "tmp-2"): it is no house number to start a place
// or a name with.
func keyTail(ts []ner.Token, i int) bool {
	return i >= 2 && ts[i].Kind == ner.KNum && !ts[i].Space && ts[i-1].Shape == ner.ShHyphen && !ts[i-1].Space && ts[i-2].Kind == ner.KWord
}

// nameNotPlace reports whether a LOCATION span of the tagger reads as a
// person's name: two or three capitalised words on one line (an initial
// may stand between them: "Gillo M. Zago"), none of which any list knows
// as a place, a street, a unit, an organisation, a product, a region or an
// ordinary word. Places of more than one word are nearly always known
// phrases ("Buenos Aires") or hold such a word ("Port Hawkesbury", "San
// Jose", "Quinta de São Tiago"); "Fitri Azzahra" after "Looping in" is a
// person the tagger misread from the preposition.
func nameNotPlace(ts []ner.Token) bool {
	const notName = ner.FPlace | ner.FPlacePre | ner.FStreet | ner.FUnit | ner.FRegion | ner.FOrg | ner.FProduct |
		ner.FMonth | ner.FCommon | ner.FDict | ner.FFunc | ner.FLocCtx | ner.FPersonCtx | ner.FParticle | ner.FTitle | ner.FGreet | ner.FChat
	words := 0
	for i := range ts {
		t := &ts[i]
		switch {
		case i > 0 && t.NL:
			return false
		case t.Kind == ner.KWord && t.Shape == ner.ShInit && i > 0 && i+2 < len(ts) && ts[i+1].Shape == ner.ShDot:
			// a middle initial
		case t.Kind == ner.KWord && (t.Shape == ner.ShCap || t.Shape == ner.ShMixed) && t.Flags&notName == 0:
			words++
		case t.Shape == ner.ShDot && i > 0 && ts[i-1].Shape == ner.ShInit:
		default:
			return false
		}
	}
	return words >= 2 && words <= 3
}

// legalForms are the words that end an organisation's name after its
// name words ("Eldorov LLC", "Kessler Holdings"); region codes that look
// alike (SA, AG, CO) are left out.
var legalForms = map[string]bool{"inc": true, "llc": true, "ltd": true, "plc": true, "gmbh": true, "corp": true,
	"corporation": true, "holdings": true, "limited": true, "pty": true, "llp": true, "sarl": true, "srl": true, "bv": true, "nv": true}

// partnerWords follow "&" in an organisation's name ("De Fazio & Sons").
var partnerWords = map[string]bool{"sons": true, "co": true, "partners": true, "associates": true, "daughters": true}

// legalFormAfter reports whether the span ending at token b is followed, on
// its line and after one space, by a capitalised legal form or by "&" and a
// word like "Sons": the span names an organisation ("Soylent Corp", "De
// Fazio & Sons"), which is no PII.
func legalFormAfter(text string, ts []ner.Token, b int) bool {
	k := b + 1
	if k >= len(ts) || ts[k].NL || !ts[k].Space {
		return false
	}
	if text[ts[k].S:ts[k].E] == "&" {
		k++
		if k >= len(ts) || ts[k].NL || !ts[k].Space {
			return false
		}
		return ts[k].Shape == ner.ShCap && partnerWords[strings.ToLower(text[ts[k].S:ts[k].E])]
	}
	return legalForm(text, &ts[k])
}

// legalForm reports whether t is a legal form not written in lower case.
func legalForm(text string, t *ner.Token) bool {
	return t.Kind == ner.KWord && t.Shape != ner.ShLower && legalForms[strings.ToLower(text[t.S:t.E])]
}

// enumerated reports whether a span holds an enumeration marker ("2)"): "1)
// Forecast 2) Teams 3) AOB" is an agenda, no address.
func enumerated(text string, ts []ner.Token) bool {
	for i := 1; i < len(ts); i++ {
		if t := &ts[i]; t.Shape == ner.ShParen && !t.Space && ts[i-1].Kind == ner.KNum && text[t.S] == ')' {
			return true
		}
	}
	return false
}

// tagSpan is a span of the tagger in byte offsets.
type tagSpan struct {
	start, end int
	typ        string
	prio       int
	weak       bool // a LOCATION without a capitalised word or a known place
}

// weakPlace reports whether a LOCATION span in cased text has only numbers
// and lower-case words no place list knows ("55102", "12 main st"). In
// text without capitals every place is written in lower case, so none is
// weak there.
func weakPlace(ts []ner.Token, cased bool) bool {
	return cased && !strongPlace(ts)
}

// strongPlace reports whether a LOCATION span has a capitalised word, a
// word without case or a word the place lists know.
func strongPlace(ts []ner.Token) bool {
	for i := range ts {
		if t := &ts[i]; t.Kind == ner.KWord && (t.Shape != ner.ShLower || t.Flags&ner.FPlace != 0) {
			return true
		}
	}
	return false
}

// surnameAfter reports whether the word after a PERSON span that ends in
// a capitalised given name (or a word no list knows) is a capitalised
// surname or a word no list knows, on the same line ("Grace Smith", "Mateo
// Müller", "Orlevi Tamsune McKorvath"), and nothing that marks a street,
// an organisation, a unit, a month or a title.
func surnameAfter(ts []ner.Token, b int) bool {
	if b+1 >= len(ts) {
		return false
	}
	g, t := &ts[b], &ts[b+1]
	return g.Kind == ner.KWord && g.Shape == ner.ShCap && (g.Flags&ner.FGiven != 0 || g.Flags == 0) &&
		t.Kind == ner.KWord && (t.Shape == ner.ShCap || t.Shape == ner.ShMixed) && t.Space && !t.NL && (t.Flags&ner.FSurname != 0 || t.Flags == 0) &&
		t.Flags&(ner.FStreet|ner.FOrg|ner.FUnit|ner.FMonth|ner.FTitle|ner.FRegion|ner.FFunc|ner.FPersonCtx|ner.FLocCtx|ner.FPlace) == 0
}

// notNameWord marks a word that, though a name list holds it, is read as
// something else beside a name: an ordinary or function word ("Call",
// "Will", "Sales" are listed surnames or given names), a place, a
// product, a street, a unit, an organisation, a month, a title, a region
// code, a greeting, chat shorthand or a word that introduces a person or a
// place.
const notNameWord = ner.FCommon | ner.FDict | ner.FFunc | ner.FPlace | ner.FProduct | ner.FStreet | ner.FUnit | ner.FOrg |
	ner.FMonth | ner.FTitle | ner.FRegion | ner.FGreet | ner.FChat | ner.FPersonCtx | ner.FLocCtx

// surnameBefore reports whether the word before a PERSON span that starts
// with a capitalised listed name is a capitalised listed surname on the
// same line, one space before it, and no notNameWord: the surname-first
// order of Vietnamese, Chinese, Korean, Japanese and Hungarian names
// ("Nguyễn Thị Mai", "Tanaka Yui", "Nagy Zoltán"), which a tagger may read
// as a name that starts one word late.
func surnameBefore(ts []ner.Token, a int) bool {
	if a == 0 {
		return false
	}
	g, t := &ts[a], &ts[a-1]
	return g.Kind == ner.KWord && g.Shape == ner.ShCap && g.Space && !g.NL && g.Flags&(ner.FGiven|ner.FSurname) != 0 &&
		t.Kind == ner.KWord && t.Shape == ner.ShCap && t.Flags&ner.FSurname != 0 && t.Flags&notNameWord == 0
}

// properNouns adds, as a LOCATION, a capitalised word the tagger left out
// that no list knows (no name, place, English word, product or vendor) in a
// line that does not begin like a sentence (its first word is in lower
// case: a search query, a chat line, a note): there a capital marks a
// proper noun ("holiday calendar Braeaeness", "vpn setup Jevoburgh
// ada.lovelace"). The line's first word is never taken, nor a word a legal
// form follows ("du Preez GmbH": an organisation).
func properNouns(s *scratch, tags []uint8, doPerson, doLoc bool) {
	lower := false
	for i := range s.toks {
		t := &s.toks[i]
		if t.NL {
			lower = t.Kind == ner.KWord && t.Shape == ner.ShLower
			continue
		}
		w := s.text[t.S:t.E]
		if lower && tags[i] == ner.TagO && t.Kind == ner.KWord && t.Shape == ner.ShCap && t.Flags == 0 && t.Space &&
			utf8.RuneCountInString(w) >= 4 && !strings.ContainsAny(w, "-'") &&
			(i+1 >= len(s.toks) || s.toks[i+1].Space || strings.IndexByte(".,;:!?)", s.text[s.toks[i+1].S]) >= 0) &&
			!ner.Vendor(ner.FoldAppend(s.buf[:0], w)) && !inflected(w) && !dictWords(w) && !legalFormAfter(s.text, s.toks, i) && !closedWord(s.text, t) &&
			!closedClassSpan(s.text, s.toks, i, i) && // calendar.go: "Nowruz", "Arabic": a festival or a language
			!articleNoun(s.text, s.toks, i, i, &s.lang) { // "wir haben die Unterlagen": a noun after an article of another language
			typ, prio := Location, prioLoc
			if p := &s.toks[i-1]; p.Flags&ner.FPersonCtx != 0 && p.Flags&ner.FLocCtx == 0 {
				typ, prio = Person, prioPerson // "quick q for Morne", "ask Quang"
			}
			if typ == Person && doPerson || typ == Location && doLoc {
				s.add(int(t.S), int(t.E), typ, prio)
			}
		}
	}
}

// inflected reports whether a word is a listed word with a plural or
// possessive "s" ("Fridays", "Offsites").
func inflected(w string) bool {
	return len(w) > 4 && (w[len(w)-1] == 's' || w[len(w)-1] == 'S') && ner.Flags(w[:len(w)-1]) != 0
}

// dictWords reports whether a word of at most 24 bytes is two English
// dictionary words of three letters or more written together
// ("Handover", "Offsite", "Standup").
func dictWords(w string) bool {
	if len(w) > 24 {
		return false
	}
	for k := 3; k <= len(w)-3; k++ {
		if utf8.RuneStart(w[k]) && ner.Flags(w[:k])&ner.FDict != 0 && ner.Flags(w[k:])&ner.FDict != 0 {
			return true
		}
	}
	return false
}

// conjunctions join two names ("Jordan and Ruby", "Ana & Luis", "Ali or
// Mina").
var conjunctions = map[string]bool{"and": true, "&": true, "or": true}

// coordinated adds, as a PERSON, a capitalised listed given name the
// tagger left out that a conjunction joins to the PERSON span ts[a..b] on
// its line ("lunch with Jordan and Ruby", "Ruby or Jordan"): names are
// listed together. The word must be no notNameWord except a place (Jordan
// is a country too; the PERSON beside it decides) and must not be a
// vendor's or product's name only, which it is not while a name list holds it.
func coordinated(s *scratch, tags []uint8, a, b int) {
	ts := s.toks
	name := func(k int) bool {
		t := &ts[k]
		return tags[k] == ner.TagO && t.Kind == ner.KWord && t.Shape == ner.ShCap &&
			t.Flags&ner.FGiven != 0 && t.Flags&(notNameWord&^(ner.FPlace|ner.FProduct|ner.FDict)) == 0
	}
	conj := func(k int) bool {
		t := &ts[k]
		return t.Space && !t.NL && conjunctions[strings.ToLower(s.text[t.S:t.E])]
	}
	if a >= 2 && conj(a-1) && ts[a].Space && !ts[a].NL && name(a-2) {
		s.add(int(ts[a-2].S), int(ts[a-2].E), Person, prioPerson)
	}
	if b+2 < len(ts) && conj(b+1) && name(b+2) && ts[b+2].Space && !ts[b+2].NL {
		s.add(int(ts[b+2].S), int(ts[b+2].E), Person, prioPerson)
	}
}

func prevTok(ts []ner.Token, i int) *ner.Token {
	if i == 0 {
		return nil
	}
	return &ts[i-1]
}

// plausible vetoes tagger spans that cannot be a name or a place. In
// text that has capitalised words (cased): a LOCATION whose words are all
// lower case and known to no place list, with no street type after a
// house number ("port 3000", "floor 2", "omw, 5 min"; numbers alone stay:
// corpora label a postcode line as a place); a PERSON made only of lower-case English words or chat shorthand
// that no name list holds ("pls", "the limiter"). Anywhere: a LOCATION
// that is the minutes of a time ("17:00 CET") or a number with a thousands
// separator ("¥ 1,200"); a PERSON that is one short upper-case word no name
// list holds (IBAN).
func plausible(ts []ner.Token, before *ner.Token, typ string, cased bool) bool {
	if typ == Location {
		if ts[0].Kind == ner.KNum && before != nil && before.Shape == ner.ShColon && !ts[0].Space {
			return false // the minutes of a time: "17:00 CET"
		}
		lower, num := false, false
		for i := range ts {
			t := &ts[i]
			if t.Kind == ner.KNum {
				num = true
			}
			if t.Kind != ner.KWord {
				// a thousands separator: "1,200"
				if t.Shape == ner.ShComma && i > 0 && i+1 < len(ts) && ts[i-1].Kind == ner.KNum && ts[i+1].Kind == ner.KNum && !ts[i+1].Space && ts[i+1].E-ts[i+1].S == 3 {
					return false
				}
				continue
			}
			// a street type counts after a house number ("12 main st"),
			// not before a number ("port 3000", "row 12")
			if t.Shape != ner.ShLower || t.Flags&ner.FPlace != 0 || (num && t.Flags&ner.FStreet != 0) {
				return true
			}
			lower = true
		}
		return !(lower && cased)
	}
	if len(ts) == 1 && ts[0].Flags&ner.FMonth != 0 && ts[0].Flags&ner.FGiven == 0 {
		return false // a weekday or month no one is named ("Tue", "Monday"; "June" is a name)
	}
	words, plain := 0, 0
	for i := range ts {
		t := &ts[i]
		if t.Kind != ner.KWord {
			continue
		}
		words++
		if t.Flags&(ner.FGiven|ner.FSurname) != 0 {
			return true
		}
		switch {
		case cased && t.Shape == ner.ShLower && t.Flags&(ner.FDict|ner.FChat|ner.FFunc|ner.FCommon) != 0:
			plain++
		case t.Shape == ner.ShUpper && t.E-t.S <= 4 && len(ts) == 1:
			plain++
		}
	}
	return words == 0 || plain < words
}

var (
	poBoxRe   = regexp.MustCompile(`(?i)\bp\.?\s?o\.?\s?box\s+\d+\b|\bPSC\s+\d+,?\s+Box\s+\d+\b|\b[AFD]PO\s+A[AEP]\s+\d{5}\b|\bUnit\s+\d+\s+Box\s+\d+\b|\bUSN?[SV]\s+\p{Lu}\w+\b`)
	streetRe  = regexp.MustCompile(`\b\d{1,6}[A-Za-z]?(?:\s\p{Lu}[\p{L}'.-]*){1,4}\s(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Crescent|Close|Mews|Row|Alley|Plaza|Path|Walk|Loop|Pike|Expressway|Freeway|Greens?|Heights|Park|Hills?|Pass|Union|Mall|Prairie|Islands?|Landing|Ridge|Ranch|Crossing|View|Vista|Station|Point|Port|Harbor|Gardens|Grove|Fort|Falls|Ferry|Fields?|Glen|Haven|Hollow|Junction|Knoll|Manor|Meadows?|Mills?|Mission|Motorway|Orchard|Oval|Route|Shores?|Springs?|Summit|Valley|Village|Ville|Wells?|Estates?|Flats?|Gateway|Lakes?|Stream|Underpass|Viaduct)\b\.?`)
	sufStRe   = regexp.MustCompile(`\b\p{Lu}[\p{L}-]*(?:vej|gade|gatan|vägen|vagen|straße|strasse|str\.|weg|katu|kuja|tie|utca|ulica|vei|veien|laan|straat|gasse|platz|allee|stræde|väg|polku|rinne|stien|gata|veg|vegen|torget|torg|plass|cesta|ulice|třída|náměstí|út|útja|sor|körút)\s\d{1,5}[a-zA-Z]?\b\.?(?:,?\s\d{4,5}\s\p{Lu}[\p{L}-]+(?:\s\p{Lu}[\p{L}-]+)?)?`)
	preStRe   = regexp.MustCompile(`\b(?:Rua|Via|Viale|Calle|Avenida|Av\.|Rue|Piazza|Largo|Travessa|Plaza|Camino|Carrer|ul\.|ulica|Strada|Corso|Paseo|Praça|Estrada|Rambla|Boulevard|Avenue)\s(?:\p{L}[\p{L}'.-]*\s){0,5}\d{1,5}\b`)
	numNameRe = regexp.MustCompile(`\b\d{1,6}\s\p{Lu}[\p{L}'-]+(?:\s\p{Lu}[\p{L}'-]+){0,2}\s\d{1,4}\b\.?`)
	cityStRe  = regexp.MustCompile(`\b\p{Lu}[\p{L}'.-]+(?:\s\p{Lu}[\p{L}'.-]+){0,2},\s?[A-Z]{2}\s\d{5}(?:-\d{4})?\b`)
)

// unit is tried only where one of its words begins (findAllAt).
var (
	unit     = newStartsAnchored(`(?i)`, `(?:apt|apartment|suite|ste|unit|room|flat|floor|fl)\.?\s?#?\s?\d+[a-z]?\b`)
	unitRe   = unit.re
	unitCand = wordStartFold("apt", "apartment", "suite", "ste", "unit", "room", "fl")
)

func anchored(re *regexp.Regexp) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + re.String() + `)`)
}

var (
	streetA  = anchored(streetRe)
	numNameA = anchored(numNameRe)
	sufStA   = anchored(sufStRe)
)

// poBoxPossible is a necessary condition for a poBoxRe match (a (?i)
// expression): "box" (in the P.O. Box, PSC … Box and Unit … Box forms), or
// "apo", "fpo", "dpo" or "us(n)s"/"us(n)v" (ship names) before one of RE2's
// spaces, each compared as (?i) compares.
func poBoxPossible(text string) bool {
	return poBoxBox.in(text, nil) || poBoxSpaced.in(text, isRE2Space)
}

var (
	poBoxBox    = wordStartFold("box")
	poBoxSpaced = wordStartFold("apo", "fpo", "dpo", "uss", "usv", "usns", "usnv")
)
var preStWords = []string{"Rua", "Via", "Viale", "Calle", "Avenida", "Av.", "Rue", "Piazza", "Largo", "Travessa", "Plaza", "Camino", "Carrer", "ul.", "ulica", "Strada", "Corso", "Paseo", "Praça", "Estrada", "Rambla", "Boulevard", "Avenue"}

func addAll(re *regexp.Regexp, text string, off int, s *scratch, prio int) {
	for _, m := range re.FindAllStringIndex(text, -1) {
		s.add(off+m[0], off+m[1], Location, prio)
	}
}

// findAddresses runs the address patterns, each only where a cheap
// prefilter says it can match (the unicode-class regexps are expensive when
// run over every position).
func findAddresses(text string, s *scratch) {
	unit.findAllAt(text, unitCand, func(m []int) { s.add(m[0], m[1], Location, prioAddress) })
	if poBoxPossible(text) {
		addAll(poBoxRe, text, 0, s, prioAddress)
	}
	for _, w := range preStWords {
		if strings.Contains(text, w) {
			addAll(preStRe, text, 0, s, prioAddress)
			break
		}
	}
	n := len(text)
	for p := 0; p < n; p++ {
		if !isDigit(text[p]) || (p > 0 && isDigit(text[p-1])) || wordBefore(text, p) {
			continue
		}
		q := p
		for q < n && isDigit(text[q]) {
			q++
		}
		// number followed by a capitalised word: "1600 Pennsylvania Avenue", "12 Kauppakatu 5"
		if q+1 < n && (text[q] == ' ' || (q+2 < n && isAlpha(text[q]) && text[q+1] == ' ')) {
			win := text[p:min(n, p+160)]
			if m := streetA.FindStringIndex(win); m != nil {
				s.add(p, p+m[1], Location, prioAddress)
			} else if m := numNameA.FindStringIndex(win); m != nil {
				s.add(p, p+m[1], Location, prioAddress)
			}
		}
		// street name with suffix before the number: "Hauptstraße 12"
		if p >= 2 && text[p-1] == ' ' && !isDigit(text[p-2]) && text[p-2] != ' ' {
			w := p - 1
			for w > 0 {
				r, size := utf8.DecodeLastRuneInString(text[:w])
				if !(isWordRune(r) || r == '-' || r == '.') {
					break
				}
				w -= size
			}
			if w < p-2 {
				if m := sufStA.FindStringIndex(text[w:min(n, q+64)]); m != nil {
					s.add(w, w+m[1], Location, prioAddress)
				}
			}
		}
		// "City, ST 12345"
		if q-p == 5 && p >= 5 && text[p-1] == ' ' && text[p-2] >= 'A' && text[p-2] <= 'Z' && text[p-3] >= 'A' && text[p-3] <= 'Z' {
			lo := max(0, p-60)
			addAll(cityStRe, text[lo:min(n, q+5)], lo, s, prioAddress)
		}
		p = q
	}
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) }

// noProperWord reports whether the span ts[a..b] holds an acronym or a
// code and no word that can carry a name or a place. In text with
// capitals (cased) every word of it is an acronym (three or four upper-case
// letters, 3–4 bytes, that no name or place list holds: "APM", "SCIM",
// "AEST"; two letters may be a place, "EU", "NY"; so may one right after a
// word that introduces a place, "in QLD", "from NYC"), part of a code
// (letters glued to digits: "S3", "SC045672", "A-55120", "12k") or a
// lower-case English word no name or place list holds ("export to S3
// bucket"; an unknown lower-case word may be a name); in text without
// capitals, where names are written in lower case and acronyms cannot be
// told from shouted names, every word is part of a code ("2nd"). Such a
// span is no name and no place; a word a name or place list holds ("UK",
// "LI WEI"), a longer word in capitals ("MARIA GARCIA") or a town beside a
// postcode ("Harrogate HG2 8QT") keeps it.
func noProperWord(ts []ner.Token, a, b int, cased bool) bool {
	marked := false
	for i := a; i <= b; i++ {
		t := &ts[i]
		if t.Kind != ner.KWord {
			continue
		}
		switch {
		case codePart(ts, i):
			marked = true
		case cased && t.Shape == ner.ShUpper && t.E-t.S >= 3 && t.E-t.S <= 4 && t.Flags&(ner.FGiven|ner.FSurname|ner.FPlace|ner.FPlacePre) == 0 &&
			!(i == a && i > 0 && ts[i-1].Flags&ner.FLocCtx != 0):
			marked = true
		case cased && t.Shape == ner.ShLower && t.Flags&(ner.FGiven|ner.FSurname|ner.FPlace) == 0 && t.Flags&(ner.FDict|ner.FCommon|ner.FFunc|ner.FChat) != 0:
		default:
			return false
		}
	}
	return marked
}

// codePart reports whether the word ts[i] is in capitals, one letter or a
// lower-case word of at most three letters, and glued to a number,
// directly or by a hyphen: a part of a code ("S3", "SC045672", "A-55120",
// "88213-B", "2nd", "12k", "tmp2"). A capitalised word glued to digits
// ("Maria92") or a longer lower-case one ("johnson2") may be a user name.
func codePart(ts []ner.Token, i int) bool {
	if sh := ts[i].Shape; sh != ner.ShUpper && sh != ner.ShInit && (sh != ner.ShLower || ts[i].E-ts[i].S > 3) {
		return false
	}
	num := func(k int) bool { return k >= 0 && k < len(ts) && ts[k].Kind == ner.KNum }
	glued := func(k int) bool { return k < len(ts) && !ts[k].Space } // nothing between ts[k-1] and ts[k]
	hyph := func(k int) bool { return k >= 0 && k < len(ts) && ts[k].Shape == ner.ShHyphen }
	return (num(i+1) && glued(i+1)) || (num(i-1) && glued(i)) ||
		(hyph(i+1) && glued(i+1) && num(i+2) && glued(i+2)) || (hyph(i-1) && glued(i) && num(i-2) && glued(i-1))
}
