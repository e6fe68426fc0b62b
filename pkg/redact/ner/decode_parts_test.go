package ner

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// TestSplitFeaturesAreFeatures: the decoder's parts of Features — token i's
// own group of ownFeatures, the neighbour groups of the tokens around it,
// ctxFeatures — are Features' features, as a multiset, for every token of
// the corpus and generated texts; and ownKey holds all that ownFeatures
// reads: two tokens with one key have the same features in every group.
func TestSplitFeaturesAreFeatures(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	tokens := 0
	byKey := map[ownKey][numGroups][]uint64{}
	for _, text := range corpusTexts(t) {
		ts := Tokenize(text, nil)
		m.SetVocab(ts)
		keys := make([]ownKey, len(ts))
		for i := range ts {
			keys[i] = ownKeyOf(&ts[i])
			var gs [numGroups][]uint64
			for g := range gs {
				gs[g] = ownFeatures(&keys[i], g, nil)
			}
			if prev, ok := byKey[keys[i]]; ok && !reflect.DeepEqual(prev, gs) {
				t.Fatalf("token %q: one key, two sets of own features", text[ts[i].S:ts[i].E])
			}
			byKey[keys[i]] = gs
		}
		for i := range ts {
			want := slices.Sorted(slices.Values(Features(ts, i, nil)))
			got := ownFeatures(&keys[i], gSelf, nil)
			for _, nb := range []struct{ d, g int }{{-1, gAsM1}, {1, gAsP1}, {-2, gAsM2}, {2, gAsP2}} {
				if j := i + nb.d; j >= 0 && j < len(ts) {
					got = ownFeatures(&keys[j], nb.g, got)
				}
			}
			got = slices.Sorted(slices.Values(ctxFeatures(ts, i, got)))
			if !slices.Equal(got, want) {
				t.Fatalf("token %d %q of %q: split features %x, Features %x", i, text[ts[i].S:ts[i].E], text, got, want)
			}
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
