package redact

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// Round 23: bare countries, states and regions, and places written with a
// case ending. The tagger, trained mostly on English, reads a listed place
// that is also a given name ("Georgia", "Chad", "Maine") as a PERSON when
// no English place word stands before it, and a place with a Slavic,
// Finnish, Hungarian or Turkish case ending ("w Gdańsku", "do Olomouce",
// "Tampereella", "İzmir'deyim") is in no list at all. placeSpans gives such
// a word its place reading where its position says it is one:
//   - in a list of places: three or more capitalised words (two with a
//     conjunction) joined by commas and conjunctions, each of them a listed
//     place, one of them no listed given name ("Texas, Ohio, Georgia and
//     Maine", "Jordan, Chad, Niger and Georgia");
//   - after a place preposition of a language other than English that
//     English does not use as a word ("nach", "w", "à", "dans", "aus"; an
//     article may stand between: "in die", "à la"), a listed place;
//   - a word whose stem, less a case ending, is a listed place that is no
//     given name and no ordinary word: after any place preposition of
//     those languages ("w", "u", "do", "v", "na", "z", "i", "en", "in") for
//     the Slavic endings, and anywhere for the Finnish and Hungarian local
//     cases ("-ssa", "-lla", "-ban") and Turkish suffixes after an
//     apostrophe ("İzmir'deyim").
//
// A PERSON span that is only the word becomes a LOCATION; a longer PERSON
// span around it (a foreign clause the tagger read as one name: "jestem
// dziś w Poznaniu") keeps, as a PERSON, only its pieces with a listed given
// name or surname or a capitalised word that starts no sentence, and the
// place is a LOCATION; a word no span covers is added as a LOCATION. Nothing
// is dropped that a list knows as a name: privacy over precision.

// placePrepStrong are place prepositions (and "nach", "aus") of other
// languages that are no English word: a listed place after one is a place.
var placePrepStrong = wordSet(`nach aus w we à dans au aux em ve ze iz från naar nella nel dalla hacia`)

// placePrepWeak are the place prepositions of the languages that inflect
// place names (Polish, Czech, Slovak, Croatian, Serbian, Slovene), some of
// them short or chat words elsewhere ("u", "do", "z"): after one, only a
// word with a case ending whose stem is a listed place counts. Those that
// are common English words ("in", "a", "i", "to") are left out: English
// does not inflect places, and a name after them is a name.
var placePrepWeak = wordSet(`u do na v z od k ke ku pri przy pod nad spod`)

// placeArticles may stand between a preposition and the place ("in die
// Schweiz", "à la Réunion", "nach den Niederlanden").
var placeArticles = wordSet(`die der den dem la le les l el the`)

// foreignArticles are the articles of placeArticles that are no English
// word.
var foreignArticles = wordSet(`die der den dem la le les l el`)

// placeConj join the items of a list of places.
var placeConj = wordSet(`and or und oder et ou y o e i och og ja és ve en`)

// caseEndings are the case endings stripped before the place lookup, longest
// first; local marks the Finnish and Hungarian local cases, which say "in",
// "at", "from", "to" by themselves (no preposition needed).
var caseEndings = []struct {
	end   string
	local bool
}{
	{"ssa", true}, {"ssä", true}, {"sta", true}, {"stä", true}, {"lla", true}, {"llä", true},
	{"lta", true}, {"ltä", true}, {"lle", true}, {"ban", true}, {"ben", true}, {"ból", true},
	{"ből", true}, {"ról", true}, {"ről", true}, {"nál", true}, {"nél", true}, {"tól", true}, {"től", true},
	{"iu", false}, {"ie", false}, {"ia", false}, {"u", false}, {"e", false}, {"ě", false},
	{"a", false}, {"y", false}, {"i", false}, {"ą", false},
}

// isPlace reports whether w is a listed place that no name list, ordinary
// word list or closed class also holds when strict.
func isPlace(w string, strict bool) bool {
	f := ner.Flags(w)
	if f&ner.FPlace == 0 && (f&(ner.FDict|ner.FCommon|ner.FFunc) != 0 || !ner.Region(w)) {
		return false
	}
	return !strict || f&(ner.FGiven|ner.FDict|ner.FCommon|ner.FFunc) == 0
}

// placeTok reports whether the word t is a listed place: in the tagger's
// place list (GeoNames, Faker), or a country, state or region of
// regions.txt.gz ("Österreich", "Schweiz", "Occitanie") that is no
// ordinary English word.
func placeTok(text string, t *ner.Token) bool {
	if t.Flags&ner.FPlace != 0 {
		return true
	}
	return t.Kind == ner.KWord && t.E-t.S <= 48 && t.Flags&(ner.FDict|ner.FCommon|ner.FFunc) == 0 && ner.Region(text[t.S:t.E])
}

// placeStem reports whether the word w, not itself a listed place, is a
// listed place (no given name, no ordinary word) with a case ending: local
// is true when the ending is a local case that needs no preposition
// (Finnish, Hungarian, or a Turkish suffix after an apostrophe). With
// localOnly (no preposition before the word) only those are tried.
func placeStem(w string, localOnly bool) (ok, local bool) {
	if len(w) > 48 || utf8.RuneCountInString(w) < 4 {
		return false, false
	}
	if i := strings.IndexAny(w, "'’"); i > 0 {
		// Turkish: "İzmir'deyim", "Ankara'da", "İstanbul'a"; not the
		// English possessive ("Paris's")
		rest := w[i+1:]
		if _, sz := utf8.DecodeRuneInString(w[i:]); len(w) > i+sz {
			rest = w[i+sz:]
		}
		if rest != "s" && rest != "" && !strings.ContainsAny(rest, "'’") && isPlace(w[:i], true) {
			return true, true
		}
		return false, false
	}
	var buf [64]byte
	for _, ce := range caseEndings {
		if localOnly && !ce.local || !strings.HasSuffix(w, ce.end) {
			continue
		}
		st := w[:len(w)-len(ce.end)]
		if utf8.RuneCountInString(st) < 3 {
			continue
		}
		if isPlace(st, true) {
			return true, ce.local
		}
		// "Warszawie" → "Warszawa", "Ostravě" → "Ostrava"
		if !ce.local && isPlace(string(append(append(buf[:0], st...), 'a')), true) {
			return true, false
		}
		// Finnish: "Tampereella" → "Tamperee" → "Tampere"
		if r, sz := utf8.DecodeLastRuneInString(st); ce.local && sz > 0 {
			if r2, _ := utf8.DecodeLastRuneInString(st[:len(st)-sz]); r2 == r && strings.ContainsRune("aeiouyäö", r) && isPlace(st[:len(st)-sz], true) {
				return true, true
			}
		}
	}
	return false, false
}

// lowerIn reports whether t is a lower-case word of the set m.
func lowerIn(text string, t *ner.Token, m map[string]bool) bool {
	return t.Kind == ner.KWord && t.Shape == ner.ShLower && t.E-t.S <= 8 && m[text[t.S:t.E]]
}

// placeSpans finds the words of s.toks that read as places by their
// position (see the top of this file) and makes them LOCATION spans in
// s.spans; the window's candidates start at s.cands[from]. Linear: one pass over the tokens, one over the spans.
func placeSpans(s *scratch, tags []uint8, from int, doLoc bool) {
	if !doLoc {
		return
	}
	text, ts := s.text, s.toks
	var places []int // token indices, in order
	listed := 0      // no list starts before ts[listed]: its items were read
	english := lineCache{line: -1}
	for k := 0; k < len(ts); k++ {
		t := &ts[k]
		if !capWord(t) || t.E-t.S > 48 {
			continue
		}
		w := text[t.S:t.E]
		// a list of places
		if k < listed {
			// inside a list read before
		} else if n, ok := placeList(text, ts, tags, k); n > 0 && !ok {
			listed = k + n
		} else if ok {
			for i := k; i < k+n; i++ {
				if capWord(&ts[i]) && placeTok(text, &ts[i]) {
					places = append(places, i)
				}
			}
			k += n - 1
			continue
		}
		p := k - 1 // the preposition, over one article
		strong := false
		if p >= 1 && lowerIn(text, &ts[p], placeArticles) && !ts[p].NL && !ts[p-1].NL {
			// "nach der", "in die Schweiz", "à la Réunion": English "in"
			// counts before an article of another language
			strong = lowerIn(text, &ts[p-1], placePrepStrong) || text[ts[p-1].S:ts[p-1].E] == "in" && lowerIn(text, &ts[p], foreignArticles)
			p--
		}
		strong = strong || p >= 0 && !ts[k].NL && lowerIn(text, &ts[p], placePrepStrong)
		weak := strong || p >= 0 && !ts[k].NL && lowerIn(text, &ts[p], placePrepWeak) && !englishLine(text, ts, k, &english)
		if t.Flags&ner.FPlace != 0 || strong && placeTok(text, t) {
			if strong && !possessive(text, ts, k) && !(k+1 < len(ts) && capWord(&ts[k+1]) && !ts[k+1].NL) {
				// a place alone, not the first word of a longer name ("w Sali Konferencyjnej")
				places = append(places, k)
			}
			continue
		}
		if t.Flags&(ner.FGiven|ner.FSurname) != 0 {
			continue
		}
		if ok, local := placeStem(w, !weak); ok && (local || weak) {
			places = append(places, k)
		}
	}
	if len(places) == 0 {
		return
	}
	placeRetype(s, places, from)
}

// lineCache keeps englishLine's answer for the line that starts at token
// line, so that many words of one line cost one count.
type lineCache struct {
	line int
	eng  bool
}

// englishLine reports whether the line of ts[k] (at most lineReach tokens
// either side) reads as English: two or more English function words
// ("the", "and", "to", "do"…) other than the short prepositions of
// placePrepWeak. "do", "u", "z" before a name there are English or chat
// words ("do Rajina a favour", "thank u Chad"), no place preposition.
func englishLine(text string, ts []ner.Token, k int, c *lineCache) bool {
	a := k
	for a > 0 && !ts[a].NL && k-a < lineReach {
		a--
	}
	if c.line == a {
		return c.eng
	}
	n := 0
	for i := a; i < len(ts) && i-a < 2*lineReach && (i == a || !ts[i].NL); i++ {
		if t := &ts[i]; t.Kind == ner.KWord && t.Shape == ner.ShLower && t.Flags&ner.FFunc != 0 && !lowerIn(text, t, placePrepWeak) {
			n++
		}
	}
	c.line, c.eng = a, n >= 2
	return c.eng
}

// possessive reports whether the word ts[k] is followed by "'s".
func possessive(text string, ts []ner.Token, k int) bool {
	return k+1 < len(ts) && ts[k+1].Shape == ner.ShApos
}

// placeList reports the tokens (n, from k) of a list of capitalised words
// joined by commas and conjunctions that starts at ts[k], and whether it is
// a list of places: three or more items (two joined by a conjunction), each
// a listed place, one of them no given name or surname, or one the tagger
// read as a place by itself. n is 0 when no list starts
// at k.
func placeList(text string, ts []ner.Token, tags []uint8, k int) (n int, ok bool) {
	// a clear place: listed and no name, or read as a place by the tagger
	clearAt := func(i int) bool {
		return placeTok(text, &ts[i]) && (ts[i].Flags&(ner.FGiven|ner.FSurname) == 0 || tags[i] == ner.TagBLoc)
	}
	if k > 0 && capWord(&ts[k-1]) && !ts[k].NL {
		return 0, false // the last word of a name or place of two words ("Virginia Mendoza and …")
	}
	if k+1 >= len(ts) || ts[k+1].Shape != ner.ShComma && !lowerIn(text, &ts[k+1], placeConj) {
		return 0, false // no list starts here (most words: no lookup)
	}
	items, conj, clear := 1, false, clearAt(k)
	all := placeTok(text, &ts[k])
	end := k + 1
	for i := k + 1; i < len(ts) && i-k < 4*lineReach; {
		j := i
		sep := false
		if j < len(ts) && ts[j].Shape == ner.ShComma && !ts[j].NL {
			sep = true
			j++
		}
		if j < len(ts) && !ts[j].NL && lowerIn(text, &ts[j], placeConj) {
			sep, conj = true, true
			j++
		}
		if !sep || j >= len(ts) || ts[j].NL || !capWord(&ts[j]) {
			break
		}
		if j+1 < len(ts) && capWord(&ts[j+1]) && !ts[j+1].NL {
			break // an item of two words: a name or a place phrase, no bare list
		}
		items++
		all = all && placeTok(text, &ts[j])
		clear = clear || clearAt(j)
		end = j + 1
		i = j + 1
	}
	if items < 2 || items == 2 && !conj {
		return 0, false
	}
	return end - k, all && clear
}

// placeRetype makes the tokens at places LOCATION spans in s.spans (and in
// this window's candidates from s.cands[from:]): a
// PERSON span of just the word is retyped, a longer PERSON span is cut
// around it, a word no span covers is added.
func placeRetype(s *scratch, places []int, from int) {
	ts := s.toks
	covered := make([]bool, len(places))
	// a given name that a conjunction joined to a PERSON (coordinated,
	// already a candidate: "Nevada or Virginia") is a place like the rest
	for i := from; i < len(s.cands); i++ {
		c := &s.cands[i]
		if c.typ != Person {
			continue
		}
		if r, ok := slices.BinarySearchFunc(places, c.start, func(k, x int) int { return int(ts[k].S) - x }); ok && int(ts[places[r]].E) == c.end {
			c.typ, c.prio = Location, prioLoc
			covered[r] = true
		}
	}
	slices.SortFunc(s.spans, func(x, y tagSpan) int { return x.start - y.start })
	nsp := len(s.spans)
	q := 0
	for si := 0; si < nsp; si++ {
		sp := s.spans[si]
		for q < len(places) && int(ts[places[q]].E) <= sp.start {
			q++
		}
		if q >= len(places) {
			break
		}
		var in []int
		for r := q; r < len(places) && int(ts[places[r]].S) < sp.end; r++ {
			if int(ts[places[r]].S) >= sp.start && int(ts[places[r]].E) <= sp.end {
				in = append(in, places[r])
				covered[r] = true
			}
		}
		if len(in) == 0 || sp.typ != Person {
			continue
		}
		// the span's tokens
		a, _ := slices.BinarySearchFunc(ts, sp.start, func(t ner.Token, x int) int { return int(t.S) - x })
		b := a
		for b+1 < len(ts) && int(ts[b+1].E) <= sp.end {
			b++
		}
		s.spans[si].typ = "" // replaced by its pieces
		lo := a
		for _, k := range append(in, b+1) {
			if lo < k {
				personPiece(s, lo, k-1)
			}
			if k <= b {
				s.spans = append(s.spans, tagSpan{int(ts[k].S), int(ts[k].E), Location, prioLoc, false})
			}
			lo = k + 1
		}
	}
	for r, k := range places {
		if !covered[r] {
			s.spans = append(s.spans, tagSpan{int(ts[k].S), int(ts[k].E), Location, prioLoc, false})
		}
	}
	keep := s.spans[:0]
	for _, sp := range s.spans {
		if sp.typ != "" {
			keep = append(keep, sp)
		}
	}
	s.spans = keep
}

// personPiece keeps ts[a..b], a piece of a PERSON span cut around a place,
// as a PERSON when it holds a listed given name or surname or a capitalised
// word that starts no sentence; its place prepositions, articles and
// punctuation at the ends go.
func personPiece(s *scratch, a, b int) {
	text, ts := s.text, s.toks
	for a <= b && (ts[a].Kind == ner.KPunct || lowerIn(text, &ts[a], placePrepWeak) || lowerIn(text, &ts[a], placePrepStrong)) {
		a++
	}
	for b >= a && (ts[b].Kind == ner.KPunct || lowerIn(text, &ts[b], placePrepWeak) || lowerIn(text, &ts[b], placePrepStrong) || lowerIn(text, &ts[b], placeArticles)) {
		b--
	}
	name := false
	for k := a; k <= b && !name; k++ {
		t := &ts[k]
		start := k == 0 || t.NL || ts[k-1].Kind == ner.KPunct && strings.ContainsAny(text[ts[k-1].S:ts[k-1].E], ".!?:")
		name = t.Kind == ner.KWord && (t.Flags&(ner.FGiven|ner.FSurname) != 0 && capWord(t) || capWord(t) && !start)
	}
	if name {
		s.spans = append(s.spans, tagSpan{int(ts[a].S), int(ts[b].E), Person, prioPerson, false})
	}
}
