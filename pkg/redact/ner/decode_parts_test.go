package ner

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSplitFeaturesAreFeatures: the decoder's two halves of Features
// (ownFeatures of a token's ownKey, ctxFeatures) are Features' features, as
// a multiset, for every token of the corpus and generated texts — and
// ownKey holds all that ownFeatures reads: two tokens with one key have one
// set of own features.
func TestSplitFeaturesAreFeatures(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tokens := 0
	byKey := map[ownKey][]uint64{}
	for _, text := range corpusTexts(t) {
		ts := Tokenize(text, nil)
		m.SetVocab(ts)
		for i := range ts {
			want := slices.Sorted(slices.Values(Features(ts, i, nil)))
			k := ownKeyOf(&ts[i])
			own := ownFeatures(&k, nil)
			got := slices.Sorted(slices.Values(ctxFeatures(ts, i, slices.Clone(own))))
			if !slices.Equal(got, want) {
				t.Fatalf("token %d %q of %q: split features %x, Features %x", i, text[ts[i].S:ts[i].E], text, got, want)
			}
			if prev, ok := byKey[k]; ok && !slices.Equal(prev, own) {
				t.Fatalf("token %q: one key, two sets of own features", text[ts[i].S:ts[i].E])
			}
			byKey[k] = own
			tokens++
		}
	}
	if tokens < 100_000 || len(byKey) < 5_000 {
		t.Fatalf("only %d tokens, %d keys compared", tokens, len(byKey))
	}
}

// TestVocabTableIsTheVocabulary: the decoder's open-addressed vocabulary
// (vocabIndex) answers as the model's vocabulary map does, for every word
// of the shipped model, every token of the corpus and generated texts, and
// random keys.
func TestVocabTableIsTheVocabulary(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	check := func(k uint64) {
		t.Helper()
		want, ok := m.vocab[k]
		if !ok {
			want = -1
		}
		if got := m.vocabIndex(k); got != want {
			t.Fatalf("key %x: table %d, vocabulary %d (in it: %v)", k, got, want, ok)
		}
	}
	for k := range m.vocab {
		check(k)
	}
	for _, text := range corpusTexts(t) {
		for _, tok := range Tokenize(text, nil) {
			check(tok.Key)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		check(rng.Uint64())
	}
	check(0)
}
