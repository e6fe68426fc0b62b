package redact

import (
	"strings"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// foreignFunc holds lower-case function words (articles, prepositions,
// conjunctions, pronouns, auxiliaries) of Spanish, French, German,
// Portuguese and Italian that are no English word. The tagger, trained
// mostly on English, reads capitalised nouns and names around them as one
// name or place ("Le confirmamos la reserva … de Valencia"); these words
// cut such a run. Words that are also English ("a", "an", "in", "die",
// "am", "on") are left out.
var foreignFunc = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`
		el la los las del de en para por con que una uno unos unas nuestra nuestro nuestros su sus es está son y al desde hasta muy pero como
		le les des du au aux et est une un pour dans sur avec ne pas plus notre votre nos vos depuis à ce cette ces qui sont ou mais très chez
		der das den dem des und von vom zu zum zur für mit auf aus bei ist sind ein eine einen einem einer nicht im unter dich mich ich wir sie
		meine mein meinen ihre ihr unser unsere oder aber auch noch nach über wie wende
		o os as do da dos das no na nos nas em com é um uma ao aos pelo pela acha não mas
		il lo gli di della delle dei nel nella per che è alla sono`) {
		m[w] = true
	}
	return m
}()

// foreignWord reports whether the word token t, folded to lower case, is a
// foreign function word.
func foreignWord(text string, t *ner.Token) bool {
	if t.Kind != ner.KWord || t.E-t.S > 8 {
		return false
	}
	return foreignFunc[strings.ToLower(text[t.S:t.E])]
}

// nameWord reports whether t is a word written with a capital (an
// initial too: "J. R. de Souza").
func nameWord(t *ner.Token) bool { return capWord(t) || t.Kind == ner.KWord && t.Shape == ner.ShInit }

// nameParticle reports whether the lower-case word ts[k] in the span
// ts[a..b] is a name particle in its place: a listed particle (de, la, van,
// von, du, …), with only particles between it and a capitalised word
// after it in the span, and the span's first word or a capitalised word
// before it ("Ana de la Cruz", "von Trapp", "Jean-Luc de Souza", "Ludwig
// van Beethoven").
func nameParticle(text string, ts []ner.Token, a, b, k int) bool {
	if !particleLike(text, &ts[k]) {
		return false
	}
	listed := false
	i := k
	for i > a && particleLike(text, &ts[i-1]) {
		i--
	}
	for ; i <= b && particleLike(text, &ts[i]); i++ {
		listed = listed || ts[i].Flags&ner.FParticle != 0
	}
	if !listed || i > b || !nameWord(&ts[i]) || ts[i].NL {
		return false
	}
	for i = k - 1; i >= a && particleLike(text, &ts[i]); i-- {
	}
	return i < a || !(ts[i].Kind == ner.KWord && ts[i].Shape == ner.ShLower) // "von Trapp", "92399 van der Meerweg"
}

// particleLike reports whether t is a lower-case listed particle or an
// article that stands between particles in names ("de los Monteros",
// "de las Heras", "dos Santos").
func particleLike(text string, t *ner.Token) bool {
	if t.Kind != ner.KWord || t.Shape != ner.ShLower {
		return false
	}
	if t.Flags&ner.FParticle != 0 {
		return true
	}
	switch text[t.S:t.E] {
	case "los", "las", "les", "lo", "y", "e", "an", "dei", "degli", "delle", "do", "das", "zu", "vom":
		return true
	}
	return false
}

// lineReach bounds how many tokens either side of a span foreignLine reads,
// so that many spans on one long line cost linear time.
const lineReach = 64

// lineAround returns the bounds of the line that holds ts[a..b], at most
// lineReach tokens on either side of the span.
func lineAround(ts []ner.Token, a, b int) (lo, hi int) {
	lo, hi = a, b
	for lo > 0 && !ts[lo].NL && a-lo < lineReach {
		lo--
	}
	for hi+1 < len(ts) && !ts[hi+1].NL && hi-b < lineReach {
		hi++
	}
	return lo, hi
}

// foreignLine reports whether the line holding ts[k] (at most lineReach
// tokens either side) reads as a language other than English: at least two
// foreign function words, more than the English function words in it (a
// cheap stop-word-ratio cue).
func foreignLine(text string, ts []ner.Token, k int) bool {
	a, b := lineAround(ts, k, k)
	foreign, english := 0, 0
	for i := a; i <= b; i++ {
		t := &ts[i]
		if t.Kind != ner.KWord || t.Shape != ner.ShLower {
			continue
		}
		switch {
		case foreignWord(text, t):
			foreign++
		case t.Flags&ner.FFunc != 0:
			english++
		}
	}
	return foreign >= 2 && foreign > english
}

// langCount tallies the lower-case words of ts[a..b] for the language cue
// of otherTongue: function words of other languages (round 16's and round
// 20's closed classes, less the English ones), words no English list and
// no name or place list knows ("bokat", "wpłata", "tarjouksesta"), and
// English words (function, dictionary and chat words).
type langCount struct{ closed, alien, english int }

func (c *langCount) add(text string, ts []ner.Token, a, b int) {
	for i := a; i <= b; i++ {
		t := &ts[i]
		if t.Kind != ner.KWord || t.Shape != ner.ShLower {
			continue
		}
		switch {
		case foreignWord(text, t): // round 16's list: no English word ("la", "de" as English dictionary words are rare)
			c.closed++
		case t.Flags&(ner.FFunc|ner.FDict|ner.FChat) != 0 && asciiWord(text[t.S:t.E]):
			c.english++ // not "för", "på": the lists fold diacritics ("for", "pa"), English spells without them
		case closedWord(text, t):
			c.closed++
		case t.Flags&(ner.FGiven|ner.FSurname|ner.FPlace|ner.FProduct|ner.FStreet|ner.FUnit) == 0 && t.E-t.S >= 3:
			c.alien++
		}
	}
}

// words is how many lower-case words the count rests on.
func (c langCount) words() int { return c.closed + c.alien + c.english }

// other reports whether the counted words read as a language other than
// English: at least three of them foreign (function words of another
// language or words no English list knows), more than the English ones.
// English prose is nearly all dictionary and function words; a made-up
// lower-case name or a chat word among them does not tip it.
func (c langCount) other() bool {
	f := c.closed + c.alien
	return f >= 3 && f > c.english
}

// windowLang is the language verdict of a tagger window (langCount over
// all its tokens), counted on the first question only: a window without a
// tagger span never pays for it.
type windowLang struct {
	text  string
	ts    []ner.Token
	state int8 // 0 not counted yet, 1 English, 2 another language
}

func (w *windowLang) other() bool {
	if w.state == 0 {
		var c langCount
		c.add(w.text, w.ts, 0, len(w.ts)-1)
		w.state = 1
		if c.other() {
			w.state = 2
		}
	}
	return w.state == 2
}

// otherTongue reports whether the line holding ts[k] (at most lineReach
// tokens either side) is written in a language other than English, by
// langCount; a line of fewer than four lower-case words ("Moin zusammen,",
// "Buenas tardes,") takes the window's verdict, win.
func otherTongue(text string, ts []ner.Token, k int, win *windowLang) bool {
	a, b := lineAround(ts, k, k)
	var c langCount
	c.add(text, ts, a, b)
	if c.words() < 4 {
		return win.other()
	}
	// a line of the window's language that is not plainly English ("Ring
	// meg på … hvis noe mangler": "meg", "mangler" are English words too)
	return c.other() || c.english <= c.closed+c.alien && win.other()
}

// lowerForeign reports whether the tagger span ts[a..b] is made of
// lower-case words only (a hyphenated run counts as one), none of them in
// a name or place list, in
// a line of another language (otherTongue): "zusammen", "tarjouksesta",
// "poważaniem" are words of the sentence, not a name — those languages
// write names with a capital. A listed name in lower case stays ("hey
// lukas, kommst du …"), so does any lower-case word in English text (chat
// names: "omg madita"); a run of lower-case words with a listed one in it
// is foreignPieces' ("så mycket").
func lowerForeign(text string, ts []ner.Token, a, b int, win *windowLang) bool {
	words := 0
	for k := a; k <= b; k++ {
		t := &ts[k]
		switch {
		case t.Kind == ner.KWord && t.Shape == ner.ShLower:
			if t.Flags&(ner.FGiven|ner.FSurname|ner.FPlace|ner.FStreet|ner.FUnit) != 0 {
				return false
			}
			words++
		case t.Kind == ner.KPunct && inWord(text, ts, k):
		default:
			return false
		}
	}
	return words > 0 && otherTongue(text, ts, a, win)
}

// foreignPieces decides whether the tagger span ts[a..b] runs over a
// sentence rather than a name: it holds no street or unit word (an
// address), and at least two lower-case words other than name particles
// in their place, one of them neither particle-like nor in a name or place
// list, and either one of them is a foreign function word or the span
// stands in a line that reads as a foreign language. Then the span is cut
// at every such lower-case word, at line breaks and at punctuation (but
// hyphens and apostrophes inside words); a piece keeps its capitalised
// words and particles, less capitalised foreign function words and
// greetings at its ends, and stays only when one of its words is a listed
// given name, surname or place and it is not one word starting a sentence.
// It returns run=false when the span is left whole, else the pieces kept
// (at most len(out)) in out, as token index pairs.
func foreignPieces(text string, ts []ner.Token, a, b int, win *windowLang, out *[4][2]int) (n int, run bool) {
	lower, unlisted, foreignIn, capital := 0, false, false, false
	for k := a; k <= b; k++ {
		t := &ts[k]
		if t.Flags&(ner.FStreet|ner.FUnit) != 0 && !gluedCode(ts, k) && !(t.Shape == ner.ShLower && closedWord(text, t)) {
			return 0, false // an address: "Rue de l'émergence", "Finžgarjeva ulica 98c"; not Swedish "av"
		}
		capital = capital || capWord(t)
		if t.Kind != ner.KWord || t.Shape != ner.ShLower || nameParticle(text, ts, a, b, k) {
			continue
		}
		lower++
		foreignIn = foreignIn || foreignWord(text, t)
		// a function word of another language is no name even when a list
		// holds it ("che", "il", "pour" are listed names)
		unlisted = unlisted || !particleLike(text, t) && (t.Flags&(ner.FGiven|ner.FSurname|ner.FPlace) == 0 || foreignWord(text, t) || closedWord(text, t))
	}
	// a lower-case name ("maría de los ángeles") runs over no word but names;
	// one lower-case word is enough in a line of another language, and
	// beside a capitalised word there any lower-case word is no name's
	// (round 24: "Ik hoor", "Daj znać", "Tutto chiaro")
	if lower == 0 {
		return 0, false
	}
	tongue := -1 // not yet asked
	other := func() bool {
		if tongue < 0 {
			tongue = 0
			if otherTongue(text, ts, a, win) {
				tongue = 1
			}
		}
		return tongue == 1
	}
	if !unlisted && !(capital && other()) {
		return 0, false
	}
	if (lower < 2 || !foreignIn && !foreignLine(text, ts, a)) && !other() {
		return 0, false
	}
	keep := func(p, q int) {
		// "Le", "Notre", "Olá": a capitalised function word or a greeting; a
		// lower-case particle in a piece is part of the name ("von Trapp")
		for p <= q && nameWord(&ts[p]) && (foreignWord(text, &ts[p]) || ts[p].Flags&ner.FGreet != 0 || closedWord(text, &ts[p])) {
			p++ // round 24: the closed classes of round 20 too ("Hei", "Kære")
		}
		for q >= p && nameWord(&ts[q]) && (foreignWord(text, &ts[q]) || ts[q].Flags&ner.FGreet != 0 || closedWord(text, &ts[q])) {
			q--
		}
		if p > q {
			return // greetings and function words only; p may be past the last token
		}
		e, titled := titleAt(text, ts, p)
		titled = titled && e <= q || titledAfter(text, ts, p) // "et M. Vasseur": a titled name needs no list
		listed := false
		for k := p; k <= q; k++ {
			listed = listed || ts[k].Flags&(ner.FGiven|ner.FSurname|ner.FPlace) != 0
		}
		sentenceStart := p == 0 || ts[p].NL || ts[p-1].Kind != ner.KWord && strings.ContainsAny(text[ts[p-1].S:ts[p-1].E], ".!?")
		if (titled || listed && !(p == q && sentenceStart)) && n < len(out) { // a title's dot starts no sentence
			out[n] = [2]int{p, q}
			n++
		}
	}
	p := -1
	for k := a; k <= b; k++ {
		t := &ts[k]
		inName := nameWord(t) || (t.Kind == ner.KWord && nameParticle(text, ts, a, b, k))
		if inName && p >= 0 && (t.NL || !joined(ts, k)) {
			keep(p, k-1) // a line break or punctuation before it
			p = -1
		}
		switch {
		case inName && p < 0:
			p = k
		case !inName && t.Kind == ner.KWord || !inName && !inWord(text, ts, k):
			if p >= 0 {
				keep(p, k-1)
				p = -1
			}
		}
	}
	if p >= 0 {
		keep(p, b)
	}
	return n, true
}

// gluedCode reports whether ts[k] is a word in capitals glued to the number
// after it ("PL75 …", an IBAN's country code; "ST12", a code): no street or
// unit word, whatever the lists say ("PL" is Place, "ST" Street).
func gluedCode(ts []ner.Token, k int) bool {
	return ts[k].Shape == ner.ShUpper && k+1 < len(ts) && ts[k+1].Kind == ner.KNum && !ts[k+1].Space
}

// joined reports whether word ts[k] follows the previous word of its name
// directly: a space, a hyphen or an apostrophe between them, nothing else.
func joined(ts []ner.Token, k int) bool {
	return k > 0 && ts[k-1].Kind == ner.KWord || k > 1 && ts[k-1].Kind != ner.KWord && !ts[k-1].Space && !ts[k].Space
}

// inWord reports whether the non-word token ts[k] is a hyphen or an
// apostrophe glued on both sides (inside a name: "Jean-Luc", "O'Brien").
func inWord(text string, ts []ner.Token, k int) bool {
	if k == 0 || k+1 >= len(ts) || ts[k].Space || ts[k+1].Space {
		return false
	}
	c := text[ts[k].S:ts[k].E]
	return c == "-" || c == "'" || c == "’"
}

// listedPerson reports whether the piece ts[a..b] of a cut sentence holds a
// listed given name or surname and no word a place list holds (nor
// regions.txt): once the sentence around it is gone, the lists decide its
// type ("Geachte heer Kuipers", "paní doktorka Veselá dorazí": the tagger
// read the clause as a place).
func listedPerson(text string, ts []ner.Token, a, b int) bool {
	if a > 0 && !ts[a].NL {
		if p := &ts[a-1]; p.Flags&ner.FLocCtx != 0 || lowerIn(text, p, placePrepStrong) || lowerIn(text, p, placePrepWeak) || lowerIn(text, p, placeBefore) {
			return false // "på vores kontor i Aarhus": a place preposition before it
		}
	}
	named := false
	for k := a; k <= b; k++ {
		t := &ts[k]
		if t.Kind != ner.KWord {
			continue
		}
		if t.Flags&(ner.FPlace|ner.FPlacePre|ner.FRegion|ner.FStreet|ner.FUnit) != 0 || ner.Region(text[t.S:t.E]) {
			return false
		}
		named = named || t.Flags&(ner.FGiven|ner.FSurname) != 0
	}
	return named
}

// placeBefore are short place prepositions of the languages of
// closedWords that are neither in placePrepStrong nor flagged as English
// place context ("i Aarhus", "en Sevilla", "på Mässan i Göteborg").
var placeBefore = wordSet(`i en in på op a à de di da til till para`)

// articles are the definite and indefinite articles of German, French,
// Spanish, Portuguese, Italian and Dutch, with the contractions of an
// article and a preposition (im, zum, du, au, del, al, pelo, nella …),
// folded to lower case. Left out: the words that are name particles too
// ("de", "da", "do", "dos", "das", "di", "del", "della", "van", "von",
// "du", "la" and "le" after them are handled by the particle chain) and
// the one-letter Portuguese "a" and "o" (English "a", initials).
var articles = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`der die das den dem des ein eine einen einem einer eines im ins am zum zur vom beim
		le la les l un une au aux el los las una unos unas al os as um uma no na nos nas pelo pela pelos pelas
		il lo gli uno dello dei degli delle alla allo agli alle nel nella nello nei negli nelle sul sulla dal dalla
		het een`) {
		m[w] = true
	}
	return m
}()

// germanArticles are the German ones of articles.
var germanArticles = wordSet(`der die das den dem des ein eine einen einem einer eines im ins am zum zur vom beim`)

// articleAt reports whether word ts[k] is an article of another language
// (articles): lower case, or capitalised at a sentence's start ("Die
// Geschäftsführung", "Le Colis"); not a particle after a particle ("de la
// Cruz").
func articleAt(text string, ts []ner.Token, k int) bool {
	t := &ts[k]
	if t.Kind != ner.KWord || t.E-t.S > 6 || !(t.Shape == ner.ShLower || t.Shape == ner.ShCap) {
		return false
	}
	var low [8]byte
	if !articles[string(foldTo(low[:0], text[t.S:t.E]))] {
		return false
	}
	if k > 0 && ts[k-1].Kind == ner.KWord && ts[k-1].Flags&ner.FParticle != 0 && !ts[k].NL {
		return false // "de la Cruz", "van der Berg"
	}
	if t.Shape == ner.ShCap && !(k == 0 || ts[k].NL || ts[k-1].Kind != ner.KWord && strings.ContainsAny(text[ts[k-1].S:ts[k-1].E], ".!?:")) {
		return false // a capitalised article inside a sentence is a name's ("Ana La Rosa")
	}
	return true
}

// articleNoun reports whether the tagger span ts[a..b] is a noun phrase
// after an article of another language, in a line of that language
// (otherTongue): "die Kantine", "vom Beamer", "el Pedido", "pour la
// Livraison", "Le Colis", "Die Geschäftsführung". Those languages put no
// article before a person's name in writing (German and Romance
// colloquial "der Peter", "la Chiara", "a Lorena" are listed given names),
// and German capitalises every noun. The span is dropped only when no word
// of it is a listed given name, surname or place, or a region of
// regions.txt ("die Schweiz", "la Rioja", "den Haag" stay places), and it
// holds no number.
func articleNoun(text string, ts []ner.Token, a, b int, win *windowLang) bool {
	k := a
	switch {
	case articleAt(text, ts, a) && a < b:
		k = a + 1
	case a > 0 && !ts[a].NL && articleAt(text, ts, a-1):
	default:
		return false
	}
	var low [8]byte
	german := germanArticles[string(foldTo(low[:0], text[ts[k-1].S:ts[k-1].E]))]
	words := 0
	for i := k; i <= b; i++ {
		t := &ts[i]
		if t.Kind == ner.KNum || ts[i].NL && i > k {
			return false
		}
		if t.Kind != ner.KWord {
			continue
		}
		listed := ner.FGiven | ner.FSurname
		if german {
			listed = ner.FGiven // German writes every noun with a capital: "der Händler", "das Portal" are listed surnames
		}
		if t.Flags&(listed|ner.FPlace|ner.FPlacePre|ner.FRegion|ner.FStreet|ner.FUnit|ner.FTitle) != 0 || ner.Region(text[t.S:t.E]) {
			return false
		}
		if capWord(t) {
			words++
		}
	}
	return words > 0 && otherTongue(text, ts, a, win)
}

// unlistedPhrase reports whether the tagger span ts[a..b] is a phrase of
// two or more capitalised words (joined by function words or particles of
// another language), none of which a name, place or region list holds, in
// a line of another language (otherTongue), with no number and no line
// break: "Modulo di Consenso", "Memoria de Actividades", "Gratin
// Dauphinois", "Convegno Autunno" — nouns written in title case. A name of
// that language has a listed word in it (the lists hold the given names and
// surnames of 87 locales); one capitalised word alone stays (a first name
// the lists lack: "Soizic"), and so does any phrase in an English line (a
// name the lists lack: the disjoint held-out set's).
func unlistedPhrase(text string, ts []ner.Token, a, b int, win *windowLang) bool {
	caps := 0
	for k := a; k <= b; k++ {
		t := &ts[k]
		if t.Kind == ner.KNum || k > a && t.NL {
			return false
		}
		if t.Kind != ner.KWord {
			continue
		}
		if capWord(t) {
			if t.Flags&(ner.FGiven|ner.FSurname|ner.FPlace|ner.FPlacePre|ner.FRegion|ner.FStreet|ner.FUnit|ner.FTitle) != 0 || ner.Region(text[t.S:t.E]) {
				return false
			}
			caps++
			continue
		}
		if !(t.Shape == ner.ShLower && (foreignWord(text, t) || closedWord(text, t) || particleLike(text, t))) {
			return false
		}
	}
	return caps >= 2 && otherTongue(text, ts, a, win)
}

// headingLabel reports whether the tagger span ts[a..b] opens its line and
// a colon follows it ("Aviso: la Junta …", "Rappel : l'Assemblée …",
// "Påminnelse: Personalmötet …") in a line of another language, with no
// word a name, place or region list holds: a heading or a notice's label,
// not a name. A speaker before a colon in a chat ("Anja: Hat jemand …",
// "Rocío: llego tarde") is a listed name and stays.
func headingLabel(text string, ts []ner.Token, a, b int, win *windowLang) bool {
	if !(a == 0 || ts[a].NL) || b+1 >= len(ts) || ts[b+1].NL || text[ts[b+1].S:ts[b+1].E] != ":" {
		return false
	}
	for k := a; k <= b; k++ {
		t := &ts[k]
		if t.Kind == ner.KNum {
			return false
		}
		if t.Kind == ner.KWord && (t.Flags&(ner.FGiven|ner.FSurname|ner.FPlace|ner.FPlacePre|ner.FRegion) != 0 || ner.Region(text[t.S:t.E])) {
			return false
		}
	}
	return otherTongue(text, ts, a, win)
}

// asciiWord reports whether w is spelt in ASCII letters only.
func asciiWord(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] >= 0x80 {
			return false
		}
	}
	return true
}
