package ner

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/internal/threadcpu"
	"github.com/consentflow/consentflow/pkg/redact/corpus"
)

// decodeRef is Decode as it was before issue 16 round 4 (one token's
// features, then their lookups, then the Viterbi step): the reference the
// faster Decode is held to, tag for tag.
func (m *Model) decodeRef(ts []Token, tags []uint8) {
	n := len(ts)
	if n == 0 {
		return
	}
	m.SetVocab(ts)
	score := make([][NumTags]float32, n)
	back := make([][NumTags]uint8, n)
	var fs []uint64
	for i := 0; i < n; i++ {
		var acc [NumTags]int32
		fs = Features(ts, i, fs[:0])
		for _, f := range fs {
			if e := m.weights(f); e != nil {
				for t := range acc {
					acc[t] += int32(e.w[t])
				}
			}
		}
		var em [NumTags]float32
		for t := range em {
			em[t] = float32(acc[t]) * m.scale
		}
		viterbiStep(m, score, back, i, em)
	}
	backtrack(score, back, tags)
}

// corpusTexts are the repository's corpus texts (not the fresh set) and
// generated mixes of their words with odd characters.
func corpusTexts(tb testing.TB) []string {
	in, err := corpus.Texts("../eval/testdata/handwritten.json", "../eval/testdata/heldout.json", "../eval/testdata/heldout_disjoint.json", "../eval/testdata/mini.json")
	if err != nil {
		tb.Fatal(err)
	}
	files, _ := filepath.Glob("data/train/handwritten/*.txt")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		in = append(in, strings.Split(string(b), "\n===\n")...)
	}
	var words []string
	for _, t := range in {
		words = append(words, strings.Fields(t)...)
	}
	odd := []string{"\n", "\n\n", ".", ",", ":", "@", "'s", "-", "—", "(", ")", "\"", "!", "?", "#", "42", "12345", "1234567", "É", "ǅ", "İ", "ß", "中文", "\u0301", strings.Repeat("x", 130)}
	rng := rand.New(rand.NewPCG(4, 16))
	for range 3000 {
		var b strings.Builder
		for k := 1 + rng.IntN(40); k > 0; k-- {
			if rng.IntN(5) == 0 {
				b.WriteString(odd[rng.IntN(len(odd))])
			} else {
				b.WriteString(words[rng.IntN(len(words))])
			}
			if rng.IntN(3) > 0 {
				b.WriteByte(' ')
			}
		}
		in = append(in, b.String())
	}
	return in
}

// TestDecodeMatchesReference: Decode tags every corpus and generated text
// exactly as the reference decoder does, with one Scratch reused across
// texts of every length (as the redactor's pool does).
func TestDecodeMatchesReference(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	var s Scratch
	tokens := 0
	for _, text := range corpusTexts(t) {
		ts := Tokenize(text, nil)
		want := make([]uint8, len(ts))
		m.decodeRef(ts, want)
		got := make([]uint8, len(ts))
		m.Decode(ts, got, &s)
		tokens += len(ts)
		if string(got) != string(want) {
			t.Fatalf("tags differ on %q:\n got %v\nwant %v", text, got, want)
		}
	}
	if tokens < 100_000 {
		t.Fatalf("only %d tokens compared", tokens)
	}
}

// BenchmarkDecode is the tagger alone (features, lookups, Viterbi) on the
// held-out texts, tokenized beforehand.
func BenchmarkDecode(b *testing.B) {
	m, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	var toks [][]Token
	n := 0
	for _, text := range corpusTexts(b) {
		ts := Tokenize(text, nil)
		toks = append(toks, ts)
		n += len(ts)
	}
	var s Scratch
	tags := make([]uint8, 4096)
	b.ReportAllocs()
	i := 0
	threadcpu.Lock()
	defer threadcpu.Unlock()
	c0 := threadcpu.Now()
	for b.Loop() {
		m.Decode(toks[i%len(toks)], tags, &s)
		i++
	}
	b.ReportMetric(float64((threadcpu.Now()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
