package ner

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultModelLoads(t *testing.T) {
	m, err := Default()
	require.NoError(t, err)
	assert.Greater(t, m.Features(), 5000)
	assert.Greater(t, len(m.vocab), 500)
}

func TestLexicon(t *testing.T) {
	assert.NotZero(t, Flags("Smith")&FSurname)
	assert.NotZero(t, Flags("SMITH")&FSurname)
	assert.NotZero(t, Flags("Adebowale")&FGiven) // Faker yo_NG
	assert.NotZero(t, Flags("Zürich")&FPlace)
	assert.NotZero(t, Flags("zurich")&FPlace) // diacritics folded
	assert.NotZero(t, Flags("IL")&FRegion)
	assert.Zero(t, Flags("il")&FRegion) // codes only in upper case
	assert.NotZero(t, Flags("Street")&FStreet)
	assert.NotZero(t, Flags("unbelievable")&FDict)
	assert.True(t, IsPhrase("new york"))
}

func TestTokenize(t *testing.T) {
	text := "Hi Anna's team,\nmeet O'Brien at 12 Main St. " + strings.Repeat("x", 100)
	ts := Tokenize(text, nil)
	var got []string
	for _, tk := range ts {
		got = append(got, text[tk.S:tk.E])
	}
	assert.Equal(t, []string{"Hi", "Anna", "'s", "team", ",", "meet", "O'Brien", "at", "12", "Main", "St", ".", strings.Repeat("x", 64), strings.Repeat("x", 36)}, got)
	assert.True(t, ts[0].NL)
	assert.True(t, ts[5].NL, "meet starts a line")
	assert.Equal(t, ShApos, ts[2].Shape)
	assert.Equal(t, ShCap, ts[6].Shape)
	assert.Equal(t, ShNum2, ts[8].Shape)
	// a range keeps the offsets of the whole text
	r := TokenizeRange(text, 16, 20, nil)
	require.Len(t, r, 1)
	assert.Equal(t, "meet", text[r[0].S:r[0].E])
	assert.True(t, r[0].NL)
}

// toy builds sentences in which a made-up word after "meet" is a person and
// after "buy" is not.
func toy(r *rand.Rand, n int) []Sentence {
	var out []Sentence
	for i := 0; i < n; i++ {
		w := fmt.Sprintf("Q%sz%c%c", strings.Repeat("u", 1+r.IntN(3)), 'a'+rune(r.IntN(26)), 'a'+rune(r.IntN(26)))
		if r.IntN(2) == 0 {
			out = append(out, Sentence{Text: "please meet " + w + " today", Tags: []uint8{TagO, TagO, TagBPer, TagO}})
		} else {
			out = append(out, Sentence{Text: "please buy " + w + " today", Tags: []uint8{TagO, TagO, TagO, TagO}})
		}
	}
	return out
}

func tagsOf(m *Model, text string) []uint8 {
	ts := Tokenize(text, nil)
	tags := make([]uint8, len(ts))
	var s Scratch
	m.Decode(ts, tags, &s)
	return tags
}

// The trainer learns from context, and a model survives its file format.
func TestTrainAndEncode(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := Train(toy(r, 400), TrainConfig{Epochs: 3, Seed: 1, Vocab: []string{"please", "meet", "buy", "today"}})
	assert.Equal(t, []uint8{TagO, TagO, TagBPer, TagO}, tagsOf(m, "please meet Quuuzxq today"))
	assert.Equal(t, []uint8{TagO, TagO, TagO, TagO}, tagsOf(m, "please buy Quuuzxq today"))
	var buf bytes.Buffer
	require.NoError(t, m.Encode(&buf))
	m2, err := DecodeModel(&buf)
	require.NoError(t, err)
	assert.Equal(t, m.Features(), m2.Features())
	for _, s := range toy(r, 50) {
		assert.Equal(t, tagsOf(m, s.Text), tagsOf(m2, s.Text), s.Text)
	}
	_, err = DecodeModel(strings.NewReader("not a model"))
	assert.Error(t, err)
}

// BenchmarkDecodeModel: the embedded model's load time (gunzip, weights,
// decoder table), paid once per process.
func BenchmarkDecodeModel(b *testing.B) {
	for b.Loop() {
		if _, err := DecodeModel(bytes.NewReader(modelFile)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVendorList: the shipped product/vendor list (data/vendors.txt.gz,
// build/vendors.mjs) holds folded words as the redactor looks them up, one
// a line, sorted and unique, and Vendor finds them (and nothing else).
func TestVendorList(t *testing.T) {
	ws := strings.Split(strings.TrimSuffix(readGz("vendors.txt.gz"), "\n"), "\n")
	require.Greater(t, len(ws), 5000)
	for i, w := range ws {
		require.GreaterOrEqual(t, len(w), 2, w)
		require.Equal(t, FoldString(w), w, "not folded")
		if i > 0 {
			require.Less(t, ws[i-1], w, "not sorted or not unique")
		}
		require.True(t, Vendor([]byte(w)), w)
	}
	assert.True(t, Vendor(FoldAppend(nil, "Pipedrive")))
	assert.False(t, Vendor([]byte("Pipedrive")), "Vendor takes folded words")
	assert.False(t, Vendor([]byte("")))
}
