package synth

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Labelled is a corpus text with code-point spans in Presidio's types (as
// pkg/redact/eval reads presidio-research corpora).
type Labelled struct {
	Text  string
	Spans []LabelledSpan
}

// LabelledSpan is one gold span: code-point offsets, end exclusive.
type LabelledSpan struct {
	Type       string
	Start, End int
}

// locTypes are the corpus types the tagger learns as LOCATION.
var locTypes = map[string]bool{"GPE": true, "LOCATION": true, "STREET_ADDRESS": true, "ADDRESS": true}

// FromLabelled converts a labelled corpus text to a training text: PERSON
// spans stay PERSON, places and street addresses become LOCATION; every
// other type is left unlabelled (O).
func FromLabelled(l Labelled) Text {
	off := runeOffsets(l.Text)
	t := Text{Text: l.Text}
	for _, sp := range l.Spans {
		typ := ""
		switch {
		case sp.Type == Person:
			typ = Person
		case locTypes[sp.Type]:
			typ = Location
		default:
			continue
		}
		if sp.Start < 0 || sp.End > len(off)-1 || sp.Start >= sp.End {
			continue
		}
		t.Spans = append(t.Spans, Span{off[sp.Start], off[sp.End], typ})
	}
	sortSpans(t.Spans)
	return dropOverlaps(t)
}

// Refill returns a copy of a corpus text whose PERSON and place (GPE)
// spans hold other names and places of the material, written in the same
// case: the sentence frames of the corpus with the variety of the lists.
// Street addresses and other spans are kept; ORGANIZATION spans too unless
// g.OrgRefill.
func (g *Generator) Refill(l Labelled) Text {
	base := FromLabelled(l)
	var b strings.Builder
	out := Text{}
	prev := 0
	gpe := map[int]bool{}
	off := runeOffsets(l.Text)
	for _, sp := range l.Spans {
		if sp.Type == "GPE" && sp.Start >= 0 && sp.Start < len(off) {
			gpe[off[sp.Start]] = true
		}
	}
	spans := base.Spans
	if g.OrgRefill {
		spans = append([]Span(nil), base.Spans...)
		for _, sp := range l.Spans {
			if sp.Type == "ORGANIZATION" && sp.Start >= 0 && sp.End <= len(off)-1 && sp.Start < sp.End {
				spans = append(spans, Span{off[sp.Start], off[sp.End], orgSpan})
			}
		}
		sortSpans(spans)
		spans = dropOverlaps(Text{Spans: spans}).Spans
	}
	for _, sp := range spans {
		b.WriteString(base.Text[prev:sp.Start])
		orig := base.Text[sp.Start:sp.End]
		v := orig
		if sp.Type == orgSpan {
			v = sameCase(orig, g.otherOrg())
			st := b.Len()
			b.WriteString(v)
			out.Fill = append(out.Fill, Span{st, b.Len(), ""})
			prev = sp.End
			continue
		}
		switch {
		case sp.Type == Person:
			p := g.person()
			switch n := len(strings.Fields(orig)); {
			case n == 1 && g.r.IntN(2) == 0:
				v = p.given
			case n == 1:
				v = p.surname
			default:
				v = g.fullName(p)
			}
		case gpe[sp.Start]:
			v = g.pick(g.m.Cities)
			if g.r.IntN(4) == 0 {
				v = g.pick(g.m.Countries)
			}
		}
		v = sameCase(orig, v)
		st := b.Len()
		b.WriteString(v)
		out.Spans = append(out.Spans, Span{st, b.Len(), sp.Type})
		prev = sp.End
	}
	b.WriteString(base.Text[prev:])
	out.Text = b.String()
	return out
}

// orgSpan marks an ORGANIZATION span to replace inside Refill (never a tag).
const orgSpan = "org"

// otherOrg is the organisation or product an OrgRefill writes in place of
// the corpus's: a real product name, one of dictionary words, or one spelt
// from syllables like the made-up names.
func (g *Generator) otherOrg() string {
	switch n := g.r.IntN(3); {
	case n == 0 && len(g.m.Products) > 0:
		return g.pick(g.m.Products)
	case n == 1 && len(g.m.Words) > 0:
		return g.madeUpOrg()
	}
	v := syllableName(g.r, g.r.IntN(2) == 0)
	if g.r.IntN(3) == 0 {
		v += " " + syllableName(g.r, false)
	}
	return v
}

func sameCase(orig, v string) string {
	switch {
	case orig == strings.ToLower(orig):
		return strings.ToLower(v)
	case orig == strings.ToUpper(orig) && strings.IndexFunc(orig, unicode.IsLetter) >= 0 && utf8.RuneCountInString(orig) > 1:
		return strings.ToUpper(v)
	}
	return v
}

func runeOffsets(s string) []int {
	off := make([]int, 0, len(s)+1)
	for i := range s {
		off = append(off, i)
	}
	return append(off, len(s))
}

func sortSpans(sp []Span) {
	for i := 1; i < len(sp); i++ {
		for j := i; j > 0 && sp[j].Start < sp[j-1].Start; j-- {
			sp[j], sp[j-1] = sp[j-1], sp[j]
		}
	}
}

// dropOverlaps keeps the first of overlapping spans (corpus spans rarely
// overlap; a token cannot carry two tags).
func dropOverlaps(t Text) Text {
	out := t.Spans[:0]
	for _, sp := range t.Spans {
		if n := len(out); n > 0 && sp.Start < out[n-1].End {
			continue
		}
		out = append(out, sp)
	}
	t.Spans = out
	return t
}
