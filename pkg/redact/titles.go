package redact

import (
	"bytes"
	"strings"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// honorifics are the titles and forms of address written before a name in
// English, German, French, Spanish, Portuguese, Italian, Dutch, Polish and
// the Scandinavian languages, folded to lower case and without the
// abbreviation's dot: a closed word class, written down by hand from each
// language's forms of address, not from any corpus. Every labelled set
// leaves the title out of a name's span ("Herr [Böhm]", "Dr. [Adaeze
// Okafor]").
//
// Left out on purpose: titles that are also common given names or English
// words before a name ("Don", "Dona", "Pan", "Lady", "Lord", "Me", "Fr"),
// and "M." (French "Monsieur"), which reads exactly like an initial ("M.
// Laurent"); it counts only after a conjunction that joins it to a titled
// name (splitTitled).
var honorifics = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "miss": true, "mx": true, "dr": true, "prof": true, "sir": true, "dame": true, "madam": true, "rev": true,
	"herr": true, "herrn": true, "frau": true, "hr": true,
	"mme": true, "mlle": true, "mmes": true, "monsieur": true, "madame": true, "mademoiselle": true, "maître": true, "pr": true,
	"sr": true, "sra": true, "srta": true, "señor": true, "señora": true, "señorita": true, "doña": true, "dña": true, "dra": true, "lic": true,
	"senhor": true, "senhora": true,
	"sig": true, "signor": true, "signora": true, "signorina": true, "dott": true, "dottor": true, "dottoressa": true, "avv": true, "ing": true,
	"dhr": true, "mevr": true, "mevrouw": true, "meneer": true, "pani": true, "fru": true,
}

// lowerTitles are the honorifics a language writes in lower case inside a
// sentence and that are no English word ("la señora García", "pani
// Agnieszka"); every other honorific counts in lower case only as an
// abbreviation with its dot ("dhr. Verhoeven", "il dott. Marchesini") —
// lower-case "miss" or "sir" before a capital is English prose ("I miss
// Paris").
var lowerTitles = map[string]bool{"señor": true, "señora": true, "señorita": true, "doña": true, "senhor": true, "senhora": true,
	"signor": true, "signora": true, "signorina": true, "dottor": true, "dottoressa": true, "monsieur": true, "madame": true,
	"mademoiselle": true, "maître": true, "mevrouw": true, "meneer": true, "pani": true, "herr": true, "herrn": true, "frau": true}

// elided are the French and Italian articles and prepositions written
// glued to the next word with an apostrophe ("l'avv. Ferraro", "dell'ing.
// Bellucci").
var elided = map[string]bool{"l": true, "d": true, "dell": true, "all": true, "dall": true, "nell": true, "sull": true}

// needDot are the honorifics that are abbreviations only and read as
// other words without their dot.
var needDot = map[string]bool{"ing": true, "lic": true, "sig": true, "avv": true, "dott": true, "hr": true}

// honorificSuffixes are the feminine or plural endings an Italian title
// takes after its dot ("Sig.ra", "Sig.na", "Dott.ssa", "Prof.ssa").
var honorificSuffixes = map[string]bool{"ra": true, "na": true, "ssa": true, "ri": true}

// titleConj are the conjunctions that join two titled names ("Mme Dubois
// et M. Laurent", "Sr. García y Sra. López", "Herr Vogt und Frau Kılıç"):
// and/or of the languages of honorifics.
var titleConj = map[string]bool{"and": true, "or": true, "&": true, "und": true, "oder": true, "et": true, "ou": true, "y": true,
	"o": true, "e": true, "en": true, "of": true, "och": true, "og": true, "i": true, "oraz": true, "lub": true}

// honorific reports whether token t is a title of the list in a form its
// language writes before a name: capitalised or in capitals, or in lower
// case when the language writes it so or as an abbreviation (dot is true
// when a dot follows it).
func honorific(text string, t *ner.Token, dot bool) bool {
	if t.Kind != ner.KWord || t.E-t.S > 16 {
		return false
	}
	var low [24]byte
	w := foldTo(low[:0], text[t.S:t.E])
	if k := bytes.IndexByte(w, '\''); k > 0 && elided[string(w[:k])] {
		w = w[k+1:] // "l'avv.", "dell'ing.": an elided article glued to the title
	} else if k := bytes.Index(w, []byte("’")); k > 0 && elided[string(w[:k])] {
		w = w[k+len("’"):]
	}
	if !honorifics[string(w)] || needDot[string(w)] && !dot {
		return false // needDot: "Ing Direct", "Sig Sauer"
	}
	switch t.Shape {
	case ner.ShCap:
		return true
	case ner.ShUpper:
		return t.E-t.S >= 3 // "HERR", "MRS"; not "MS Teams", "PR Review"
	case ner.ShLower:
		return dot || lowerTitles[string(w)]
	}
	return false
}

// maxTitles bounds a chain of titles ("Frau Prof. Dr."), so that a text of
// titles alone costs linear time.
const maxTitles = 3

// foldTo appends w in lower case to dst (stack memory of the caller) and
// returns it.
func foldTo(dst []byte, w string) []byte {
	for i := 0; i < len(w); i++ {
		if w[i] >= 0x80 {
			return append(dst, strings.ToLower(w)...) // "Señor", "Maître": rare
		}
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// titleAt returns the index of the first token after one or more titles
// that start at token i ("Herr", "Dr.", "Sig.ra", "Frau Dr.") when a name
// follows them on their line: a capitalised word, or a name particle
// before one ("Mevr. de Groot"). ok is false when no title starts at i, or
// when the word before it on its line is a number or a capitalised word
// other than a greeting, title or function word — "12 Oak Dr. Springfield"
// is a street, not a doctor.
func titleAt(text string, ts []ner.Token, i int) (next int, ok bool) {
	if i > 0 && !ts[i].NL {
		p := &ts[i-1]
		if p.Kind == ner.KNum || ts[i].Flags&ner.FStreet != 0 && capWord(p) && p.Flags&(ner.FGreet|ner.FTitle|ner.FFunc) == 0 && !foreignWord(text, p) {
			return 0, false
		}
	}
	k := i
	for n := 0; n < maxTitles && k < len(ts); n++ {
		e := k + 1
		dot := e < len(ts) && ts[e].Shape == ner.ShDot && !ts[e].Space
		if !honorific(text, &ts[k], dot) && !frenchM(text, ts, k) || k > i && (ts[k].NL || !ts[k].Space) {
			break
		}
		if dot {
			e++
			if e < len(ts) && ts[e].Kind == ner.KWord && ts[e].Shape == ner.ShLower && !ts[e].Space && honorificSuffixes[text[ts[e].S:ts[e].E]] {
				e++
			}
		}
		k = e
	}
	if k == i || !nameStart(text, ts, k) {
		return 0, false
	}
	return k, true
}

// nameStart reports whether token k, on the line before it and after a
// space, can start a name: a capitalised word or a listed particle before
// one ("de Groot", "van der Berg").
func nameStart(text string, ts []ner.Token, k int) bool {
	if k >= len(ts) || ts[k].NL || !ts[k].Space {
		return false
	}
	for j := k; j < len(ts) && j < k+3; j++ {
		t := &ts[j]
		if j > k && (t.NL || !t.Space) {
			return false
		}
		if capWord(t) {
			return true
		}
		if !particleLike(text, t) {
			return false
		}
	}
	return false
}

// addressWords reports whether ts[a..b] holds a number or a street, unit or
// organisation word: "Dr. Martin Luther King Jr. Blvd 12", "Sir Francis
// Drake Hwy" are addresses that start with a title, not names.
func addressWords(ts []ner.Token, a, b int) bool {
	for i := a; i <= b; i++ {
		if ts[i].Kind == ner.KNum || ts[i].Flags&(ner.FStreet|ner.FUnit|ner.FOrg) != 0 {
			return true
		}
	}
	return false
}

// onlyTitles reports whether every word of ts[a..b] is a title or a
// greeting ("Madam", "Dear Sir", "Madame, Monsieur"): a form of address
// with no name.
func onlyTitles(text string, ts []ner.Token, a, b int) bool {
	titles := 0
	for i := a; i <= b; i++ {
		t := &ts[i]
		if t.Kind != ner.KWord {
			continue
		}
		if honorific(text, t, true) {
			titles++
		} else if t.Flags&ner.FGreet == 0 {
			return false
		}
	}
	return titles > 0
}

// frenchFunc are French function words no other language of honorifics
// writes: in a line holding one, "M." before a surname is "Monsieur"
// ("Mme Dubois et M. Laurent"), elsewhere an initial ("M. Laurent Smith").
var frenchFunc = map[string]bool{"et": true, "les": true, "des": true, "du": true, "au": true, "aux": true, "est": true,
	"une": true, "pour": true, "dans": true, "avec": true, "nous": true, "vous": true, "sont": true, "chez": true, "très": true}

// frenchM reports whether token i is "M." (Monsieur) in a French line
// (at most lineReach tokens either side).
func frenchM(text string, ts []ner.Token, i int) bool {
	if text[ts[i].S:ts[i].E] != "M" || i+1 >= len(ts) || ts[i+1].Shape != ner.ShDot || ts[i+1].Space {
		return false
	}
	for k := i - 1; k >= 0 && i-k <= lineReach; k-- {
		if frenchFunc[text[ts[k].S:ts[k].E]] {
			return true
		}
		if ts[k].NL {
			break
		}
	}
	for k := i + 1; k < len(ts) && k-i <= lineReach && !ts[k].NL; k++ {
		if frenchFunc[text[ts[k].S:ts[k].E]] {
			return true
		}
	}
	return false
}

// titledAfter reports whether a title ends right before token a ("Frau
// [Schulte]", "Sig.ra [Rossi]").
func titledAfter(text string, ts []ner.Token, a int) bool {
	for i := a - 1; i >= 0 && i >= a-4; i-- {
		if k, ok := titleAt(text, ts, i); ok && k == a {
			return true
		}
	}
	return false
}

// nameEnd returns the last token of the name that starts at token n and
// ends at b at most: capitalised words and initials, hyphens and
// apostrophes inside them, and name particles before a capitalised word,
// on one line. A titled name stops at the first other word ("Frau Kılıç
// übernimmt", "Heinemeyer am Freitag").
func nameEnd(text string, ts []ner.Token, n, b int) int {
	m := n
	for j := n; j <= b; j++ {
		t := &ts[j]
		if j > n && t.NL {
			break
		}
		switch {
		case nameWord(t):
			m = j
		case t.Shape == ner.ShDot && j > n && ts[j-1].Shape == ner.ShInit && !t.Space:
			m = j // an initial's dot
		case inWord(text, ts, j):
		case particleLike(text, t) && j < b && nameStart(text, ts, j+1) && !ts[j+1].NL:
		default:
			return m
		}
	}
	return m
}

// placeIn reports whether a word of ts[a..b] is a listed place.
func placeIn(ts []ner.Token, a, b int) bool {
	for k := a; k <= b; k++ {
		if ts[k].Flags&ner.FPlace != 0 {
			return true
		}
	}
	return false
}

// monthWord reports whether a word of ts[a..b] is a weekday or a month.
func monthWord(ts []ner.Token, a, b int) bool {
	for k := a; k <= b; k++ {
		if ts[k].Flags&ner.FMonth != 0 {
			return true
		}
	}
	return false
}

// listedWord reports whether a word of ts[a..b] is a listed given name,
// surname or place.
func listedWord(ts []ner.Token, a, b int) bool {
	for k := a; k <= b; k++ {
		if ts[k].Flags&(ner.FGiven|ner.FSurname|ner.FPlace) != 0 {
			return true
		}
	}
	return false
}

// emitTitled handles a tagger span ts[a..b] that holds a titled name — a
// title inside it, or right before it — and reports whether it did. The
// title is no part of the name, the name after it is a PERSON whatever the
// span's type, and it stops at the first word that is no name word
// (nameEnd). What stands before the title is kept (with its type, less
// the lower-case words and punctuation before the title) when it is
// holds a listed name or place ("Termin bei" is dropped); what follows
// the name when it starts with another title, or its capitalised words
// when they hold a listed word and no weekday or month (a LOCATION when one
// is a listed place) ("… und Frau Kılıç"). A span with a number or a
// street, unit or organisation word beside its titles is an address
// ("Dr. Martin Luther King Jr. Blvd") and is left alone.
func emitTitled(s *scratch, tags []uint8, a, b int, typ string, prio int, doPerson, doLoc, cased bool) bool {
	ts := s.toks
	k, n := -1, -1
	if titledAfter(s.text, ts, a) {
		k, n = a, a
	} else {
		for i := a; i <= b; i++ {
			if e, ok := titleAt(s.text, ts, i); ok && e <= b {
				k, n = i, e
				break
			}
		}
	}
	if k < 0 || addressWords(ts, a, k-1) || addressWords(ts, n, b) {
		return false
	}
	if k > a {
		e := k - 1
		for e >= a && (ts[e].Kind != ner.KWord || ts[e].Shape == ner.ShLower) {
			e--
		}
		if e >= a && listedWord(ts, a, e) {
			emitTagSpan(s, tags, a, e, typ, prio, doPerson, doLoc, cased)
		}
	}
	m := nameEnd(s.text, ts, n, b)
	emitSpan(s, tags, n, m, Person, prioPerson, doPerson, doLoc, cased)
	r, titled := m+1, false
	for ; r <= b; r++ {
		if _, titled = titleAt(s.text, ts, r); titled || ts[r].Kind == ner.KWord && ts[r].Shape != ner.ShLower {
			break
		}
	}
	switch {
	case r > b:
	case titled:
		emitTagSpan(s, tags, r, b, typ, prio, doPerson, doLoc, cased) // "… et M. Laurent": another titled name
	default:
		// "Herr Vogt (Berlin office)": a listed name or place after it, up
		// to the end of its capitalised words; no weekday or month ("am
		// Freitag, danach …")
		if e := nameEnd(s.text, ts, r, b); listedWord(ts, r, e) && !monthWord(ts, r, e) {
			if placeIn(ts, r, e) {
				typ, prio = Location, prioLoc // "Frau Annegret Schulte aus Bielefeld": a place after the name
			}
			emitTagSpan(s, tags, r, e, typ, prio, doPerson, doLoc, cased)
		}
	}
	return true
}

// titledNames adds, as a PERSON, the name after a title that the tagger
// left untagged ("Sr. García y Sra. López": "López" O): the capitalised
// words (and particles before a capitalised word) after the title on its
// line, at most three, none a function word, month, street, unit,
// organisation or greeting word, stopping at a tagged token.
func titledNames(s *scratch, tags []uint8) {
	ts := s.toks
	const notName = ner.FFunc | ner.FMonth | ner.FStreet | ner.FUnit | ner.FOrg | ner.FGreet
	for i := 0; i < len(ts); i++ {
		if ts[i].Kind != ner.KWord {
			continue
		}
		k, ok := titleAt(s.text, ts, i)
		if !ok || tags[k] != ner.TagO {
			continue
		}
		end, words := -1, 0
		for j := k; j < len(ts) && words < 3 && tags[j] == ner.TagO; j++ {
			t := &ts[j]
			if j > k && (t.NL || !t.Space) {
				break
			}
			if capWord(t) && t.Flags&notName == 0 && !foreignWord(s.text, t) && !honorific(s.text, t, true) {
				end, words = j, words+1
				continue
			}
			if !particleLike(s.text, t) {
				break
			}
		}
		if end >= 0 {
			s.add(int(ts[k].S), int(ts[end].E), Person, prioPerson)
			i = end
		}
	}
}
