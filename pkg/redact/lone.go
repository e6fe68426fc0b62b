package redact

import (
	"slices"
	"strings"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// Round 23, item 6 of dev3's order: lone first names. A name that stands
// alone where letters and chat put one is a PERSON whatever the tagger
// drew there (loneNames):
//   - a vocative after a greeting at the start of a line: "Hei Sigrid,",
//     "Kære Mette!", "Hola Nacho" — a greeting word (FGreet or chatWord),
//     then one or two capitalised words, then a comma, "!" or the line's
//     end; after a closed-class word of another language ("Hei", "Kære")
//     only before a comma or "!";
//   - a signature: the text's last line, one or two capitalised words (a
//     dash or "—" may come first), after a blank line, a line that ends
//     with a comma ("Pozdrawiam,", "Bises de Quimper,") or a line of
//     greetings and closed-class words only ("Mvh", "Hilsen").
//
// The words must read as a name: a listed given name, or (for one word
// only) a word no list knows as anything but a surname — no ordinary word,
// closed-class word of another language, greeting, place, organisation,
// product, label or head noun ("Kundendienst", "Receptionen", "Team"
// stay). Adding a PERSON never removes a redaction.

// loneWord reports whether t can be a lone first name: a capitalised
// word that is a listed given name, or, when unlisted is true, a word
// no list knows as anything but a surname.
func loneWord(text string, t *ner.Token, unlisted, greet bool) bool {
	if t.Kind != ner.KWord || t.Shape != ner.ShCap || t.E-t.S > 24 {
		return false
	}
	if t.Flags&ner.FGreet != 0 && !(greet && t.Flags&ner.FGiven != 0) {
		return false // "Cheers", "Hilsen"; on a signature line a given name that is also a greeting stays one ("Ola")
	}
	if closedWord(text, t) || t.Flags&(ner.FTitle|ner.FMonth|ner.FFunc|ner.FOrg|ner.FStreet|ner.FUnit) != 0 {
		return false
	}
	if headWord(text, t, headFinal) || headWord(text, t, headFirst) {
		return false
	}
	if t.Flags&(ner.FDict|ner.FCommon|ner.FPlace) != 0 {
		return false // "Hi All,", "Thanks,\nSupport": an ordinary word, whatever name it is too ("Hope", "Will")
	}
	if t.Flags&ner.FGiven != 0 {
		return true
	}
	return unlisted && t.Flags&^ner.FSurname&(ner.FPlace|ner.FPlacePre|ner.FCommon|ner.FDict|ner.FProduct|ner.FRegion|ner.FParticle|ner.FChat|ner.FPersonCtx|ner.FLocCtx) == 0
}

// surnameWord reports whether t is a capitalised listed surname that is no
// ordinary word or place.
func surnameWord(t *ner.Token) bool {
	return t.Kind == ner.KWord && t.Shape == ner.ShCap && t.Flags&ner.FSurname != 0 && t.Flags&(ner.FDict|ner.FCommon|ner.FPlace) == 0
}

// greetingWord reports whether t is a greeting of some language.
func greetingWord(text string, t *ner.Token) bool {
	return t.Kind == ner.KWord && (t.Flags&ner.FGreet != 0 || chatWord(text, t))
}

// loneNames adds the lone first names of the window s.toks as PERSON
// candidates. Linear: it looks at each line's first tokens and at the
// text's last line.
func loneNames(s *scratch, from int) {
	text, ts := s.text, s.toks
	n := len(ts)
	var names []lone
	for k := 0; k < n; k++ {
		if !ts[k].NL || ts[k].Kind != ner.KWord {
			continue
		}
		// a greeting, or a closed-class word of another language ("Hei",
		// "Cześć", "Kære"), which then needs the comma or "!" after the name
		greet := greetingWord(text, &ts[k])
		if !greet && !closedWord(text, &ts[k]) {
			continue
		}
		a := k + 1
		if a < n && !ts[a].NL && (greetingWord(text, &ts[a]) || closedWord(text, &ts[a])) && !loneWord(text, &ts[a], false, false) {
			a++ // "Dzień dobry", "Guten Morgen": a greeting of two words
		}
		b := a
		for b < n && b < a+2 && !ts[b].NL && (loneWord(text, &ts[b], b == a, false) || b > a && surnameWord(&ts[b])) {
			b++ // the name, and a listed surname after it
		}
		if b == a || b-a == 2 && ts[a+1].Flags&(ner.FGiven|ner.FSurname) == 0 {
			continue
		}
		punct := b < n && !ts[b].NL && ts[b].Kind == ner.KPunct && strings.ContainsAny(text[ts[b].S:ts[b].E], ",!")
		if !punct && !(greet && (b == n || ts[b].NL)) {
			continue
		}
		next := b // the first token after the name and its punctuation
		for next < n && ts[next].Kind == ner.KPunct {
			next++
		}
		names = append(names, lone{greet: int(ts[k].S), start: int(ts[a].S), end: int(ts[b-1].E), next: next, named: ts[k].Flags&(ner.FGiven|ner.FSurname) != 0})
	}
	if lo, hi, ok := signature(text, ts); ok {
		names = append(names, lone{greet: int(ts[lo].S), start: int(ts[lo].S), end: int(ts[hi].E), next: n, sig: true})
	}
	if len(names) == 0 {
		return
	}
	// one pass over the window's candidates: a tagger span that starts at
	// the greeting and runs on past the name ("Hei Sigrid,\n\nPakken er
	// sendt til Storgata 14", a place read from the address below) starts
	// after the name, the greeting is no part of it; a PERSON of the
	// greeting and the name loses the greeting ("Hei Aino" → "Aino"),
	// unless the greeting is a listed name too ("Hey Ana" stays whole, as
	// chat.go keeps it); a name a PERSON already covers is not added again
	byStart := func(x lone, at int) int { return x.start - at }
	for i := from; i < len(s.cands); i++ {
		c := &s.cands[i]
		if c.typ != Person && c.typ != Location {
			continue
		}
		if r, ok := slices.BinarySearchFunc(names, c.start, func(x lone, at int) int { return x.greet - at }); ok && !names[r].sig {
			switch {
			case c.end > names[r].end:
				if nx := names[r].next; nx < n && int(ts[nx].S) < c.end {
					c.start = int(ts[nx].S)
				} else {
					c.end = c.start // only punctuation after the name
				}
				continue
			case c.typ == Person && !names[r].named:
				c.start = names[r].start // "Hei Aino", "Kære Mette": the greeting is no part of the name
			}
		}
		if c.typ != Person {
			continue
		}
		r, _ := slices.BinarySearchFunc(names, c.start, byStart)
		for ; r < len(names) && names[r].start < c.end; r++ {
			if names[r].end <= c.end {
				names[r].covered = true
			}
		}
	}
	keep := s.cands[:from]
	for _, c := range s.cands[from:] {
		if c.end > c.start {
			keep = append(keep, c)
		}
	}
	s.cands = keep
	for _, x := range names {
		if !x.covered {
			s.add(x.start, x.end, Person, prioPerson)
		}
	}
}

// lone is a lone first name found by loneNames: where its greeting
// starts (a signature: where it starts), the name's bytes, the token after
// it and its punctuation.
type lone struct {
	greet, start, end, next int
	sig, covered            bool
	named                   bool // the greeting is a listed name too ("Hey")
}

// signature returns the tokens of the text's signature: its last line,
// one or two capitalised words (after a dash), after a blank line, a line
// that ends with a comma, or a closing line of greetings and closed-class
// words only ("Mvh", "Hilsen"), when ts ends the text.
func signature(text string, ts []ner.Token) (lo, hi int, ok bool) {
	n := len(ts)
	if n < 2 || strings.TrimSpace(text[ts[n-1].E:]) != "" {
		return 0, 0, false
	}
	a := n - 1
	for a > 0 && !ts[a].NL {
		a--
	}
	if a == 0 || n-a > 4 {
		return 0, 0, false
	}
	lo = a
	for lo < n && ts[lo].Kind == ner.KPunct && strings.ContainsAny(text[ts[lo].S:ts[lo].E], "-—–") {
		lo++
	}
	words := n - lo
	if words < 1 || words > 2 || !loneWord(text, &ts[lo], words == 1, true) || words == 2 && !loneWord(text, &ts[n-1], false, false) && !surnameWord(&ts[n-1]) {
		return 0, 0, false
	}
	blank := strings.Count(text[ts[a-1].E:ts[a].S], "\n") >= 2
	comma := ts[a-1].Shape == ner.ShComma
	closing := true
	p := a - 1
	for ; p >= 0 && a-p <= 4; p-- {
		t := &ts[p]
		closing = closing && (t.Kind == ner.KPunct || greetingWord(text, t) || closedWord(text, t))
		if t.NL {
			break
		}
	}
	closing = closing && p >= 0 && a-p <= 4
	return lo, n - 1, blank || comma || closing
}
