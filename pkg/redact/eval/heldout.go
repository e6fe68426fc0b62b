package eval

import (
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/redact/ner/synth"
)

// HeldOut generates the held-out corpus: n workplace texts written from
// templates and lists that training never sees (pkg/redact/ner/data/heldout:
// names, cities and addresses of @faker-js/faker locales absent from the
// shipped gazetteers and the training material, as they were when the
// lists were built). dataDir is pkg/redact/ner/data.
func HeldOut(dataDir string, n int, seed uint64) ([]Example, error) {
	ex, _, err := HeldOutDisjoint(dataDir, n, seed, nil, false)
	return ex, err
}

// HeldOutDisjoint is HeldOut with the material first restricted to names,
// cities and addresses none of whose words has a lexicon flag or is known
// (see synth.Material.Disjoint; known nil keeps everything): the lists grew
// after data/heldout was built, so only this filter keeps the evaluation's
// names unknown to the tagger.
// wordNames lets names be ordinary English words that no name or place list
// holds (see synth.Material.Disjoint).
func HeldOutDisjoint(dataDir string, n int, seed uint64, known func(folded string) bool, wordNames bool) ([]Example, synth.DisjointStats, error) {
	m, err := synth.LoadHeldOut(dataDir)
	if err != nil {
		return nil, synth.DisjointStats{}, err
	}
	var st synth.DisjointStats
	if known != nil {
		st = m.Disjoint(known, wordNames)
	}
	g := synth.NewHeldOut(m, seed)
	out := make([]Example, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, FromSynth(g.Next()))
	}
	return out, st, nil
}

// FromSynth converts a generated text (byte offsets) to a corpus example
// (code point offsets).
func FromSynth(t synth.Text) Example {
	e := Example{FullText: t.Text, Spans: []GoldSpan{}}
	for _, sp := range t.Spans {
		st := utf8.RuneCountInString(t.Text[:sp.Start])
		e.Spans = append(e.Spans, GoldSpan{EntityType: sp.Type, EntityValue: t.Text[sp.Start:sp.End], Start: st,
			End: st + utf8.RuneCountInString(t.Text[sp.Start:sp.End])})
	}
	return e
}
