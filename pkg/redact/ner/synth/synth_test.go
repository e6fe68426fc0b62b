package synth

import (
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/redact/ner"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSentenceTags(t *testing.T) {
	text := "Ask Anna Berg in New York."
	s := Sentence(Text{Text: text, Spans: []Span{{4, 13, Person}, {17, 25, Location}}})
	assert.Equal(t, []uint8{ner.TagO, ner.TagBPer, ner.TagIPer, ner.TagO, ner.TagBLoc, ner.TagILoc, ner.TagO}, s.Tags)
}

func TestRefillKeepsFrame(t *testing.T) {
	m, err := LoadTraining("../data")
	require.NoError(t, err)
	g := NewTraining(m, 3)
	l := Labelled{Text: "Hi Anna, I moved to Oslo.", Spans: []LabelledSpan{{"PERSON", 3, 7}, {"GPE", 20, 24}}}
	for i := 0; i < 20; i++ {
		r := g.Refill(l)
		require.Len(t, r.Spans, 2)
		assert.True(t, strings.HasPrefix(r.Text, "Hi "), r.Text)
		assert.True(t, strings.HasSuffix(r.Text, "."), r.Text)
		assert.Equal(t, Person, r.Spans[0].Type)
		assert.Equal(t, Location, r.Spans[1].Type)
		assert.Contains(t, r.Text, ", I moved to ")
	}
}

// With OrgRefill a refill writes another organisation where the corpus has
// one, in the corpus's sentence, as a filler (no entity, out of the
// vocabulary); names and places are still refilled; without it the
// organisation stays.
func TestRefillReplacesOrganisations(t *testing.T) {
	m, err := LoadTraining("../data")
	require.NoError(t, err)
	l := Labelled{Text: "Anna joined Avalara in Oslo last May.", Spans: []LabelledSpan{{"PERSON", 0, 4}, {"ORGANIZATION", 12, 19}, {"GPE", 23, 27}}}
	g := NewTraining(m, 3)
	for i := 0; i < 10; i++ {
		assert.Contains(t, g.Refill(l).Text, " joined Avalara in ")
	}
	g.OrgRefill = true
	orgs := map[string]bool{}
	for i := 0; i < 60; i++ {
		r := g.Refill(l)
		require.Len(t, r.Spans, 2, r.Text)
		require.Len(t, r.Fill, 1, r.Text)
		assert.Equal(t, Person, r.Spans[0].Type)
		assert.Equal(t, Location, r.Spans[1].Type)
		org := r.Text[r.Fill[0].Start:r.Fill[0].End]
		assert.NotEqual(t, "Avalara", org)
		assert.Equal(t, " joined "+org+" in ", r.Text[r.Spans[0].End:r.Spans[1].Start], r.Text)
		assert.True(t, strings.HasSuffix(r.Text, " last May."), r.Text)
		orgs[org] = true
	}
	assert.Greater(t, len(orgs), 40, "organisations vary")
}

// The held-out names and cities are in none of the shipped lists: an
// evaluation on them measures generalisation.
func TestHeldOutDisjoint(t *testing.T) {
	m, err := LoadHeldOut("../data")
	require.NoError(t, err)
	n := 0
	for _, c := range m.Cultures {
		for _, name := range append(append([]string{}, m.Given[c]...), m.Surnames[c]...) {
			if strings.Contains(name, " ") {
				continue // multi-word names: their parts may be known
			}
			n++
			assert.Zero(t, ner.Flags(name)&(ner.FGiven|ner.FSurname), "%s is a shipped name", name)
		}
	}
	for _, city := range m.Cities {
		if !strings.ContainsAny(city, " -") {
			assert.Zero(t, ner.Flags(city)&ner.FPlace, "%s is a shipped place", city)
		}
	}
	assert.Greater(t, n, 5000)
}
