package redact

import (
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/redact/ner"
	"github.com/stretchr/testify/assert"
)

// tokensOf returns the tokens of text and the index of the first token of
// span inside it.
func tokensOf(t *testing.T, text, span string) ([]ner.Token, int, int) {
	ts := ner.Tokenize(text, nil)
	at := strings.Index(text, span)
	if at < 0 {
		t.Fatalf("%q not in %q", span, text)
	}
	a, b := -1, -1
	for i, tk := range ts {
		if int(tk.S) == at {
			a = i
		}
		if int(tk.E) == at+len(span) {
			b = i
		}
	}
	if a < 0 || b < a {
		t.Fatalf("%q does not start and end on tokens of %q", span, text)
	}
	return ts, a, b
}

// The veto of tagger spans that cannot be names or places.
func TestPlausibleSpans(t *testing.T) {
	cases := []struct {
		text, span, typ string
		cased, want     bool
	}{
		// places
		{"the coffee machine on floor 2 is broken", "floor 2", Location, true, false},
		{"the app listens on port 3000 now", "port 3000", Location, true, false},
		{"core hours are 14:00–17:00 CET.", "00 CET", Location, true, false},
		{"the page says ¥ 1,200 instead", "1,200", Location, true, false},
		{"Ship to 12 main st, Springfield", "12 main st", Location, true, true},
		{"fails on row 10234, see log", "row 10234", Location, true, false},
		{"i moved to berlin last year", "berlin", Location, false, true},
		{"She lives in Porto now", "Porto", Location, true, true},
		{"Postfach\nAustria 68112", "68112", Location, true, true},
		// people
		{"@nadia pls fix asap", "pls", Person, true, false},
		{"who touched the cache?", "cache", Person, true, false},
		{"Name, VAT and amount", "VAT", Person, true, false},
		{"thanks kwame, merging now", "kwame", Person, true, true},
		{"thanks mark, merging now", "mark", Person, true, true},
		{"Ask Chukwudi about it", "Chukwudi", Person, true, true},
		{"okafor, nowak and haddad", "nowak", Person, false, true},
	}
	for _, c := range cases {
		ts, a, b := tokensOf(t, c.text, c.span)
		assert.Equal(t, c.want, plausible(ts[a:b+1], prevTok(ts, a), c.typ, c.cased), "%s %q in %q", c.typ, c.span, c.text)
	}
}

// A place of numbers and lower-case words only counts next to a place with
// a name (a postcode line), not alone (a ticket number).
func TestWeakPlaces(t *testing.T) {
	ts, a, b := tokensOf(t, "Any update on ticket 55102?", "55102")
	assert.False(t, strongPlace(ts[a:b+1]))
	ts, a, b = tokensOf(t, "Kellerweg 4\nAustria 68112", "Austria 68112")
	assert.True(t, strongPlace(ts[a:b+1]))
	ts, a, b = tokensOf(t, "moving to lisbon", "lisbon")
	assert.True(t, strongPlace(ts[a:b+1]), "a lower-case known place")
	// without capitals anywhere, a lower-case street line is no weaker
	// than any other place
	ts, a, b = tokensOf(t, "the van stops at 4821 dunmore lane 12 today", "4821 dunmore lane 12")
	assert.True(t, weakPlace(ts[a:b+1], true))
	assert.False(t, weakPlace(ts[a:b+1], false))
}

// @here, @channel and @everyone address a group, not a person.
func TestGroupMentions(t *testing.T) {
	r := New(WithTypes(Person))
	for _, m := range []string{"@here", "@channel", "@everyone", "@Here"} {
		res := r.Redact(m+" the release moves to Thursday", nil)
		assert.Contains(t, res.Text, m)
	}
	res := r.Redact("@here ping @mira about the release", nil)
	assert.Contains(t, res.Text, "@here")
	assert.NotContains(t, res.Text, "@mira")
}

// A capitalised surname right after a given name on the same line joins
// the PERSON span; a street type, a month, a line break or a lower-case
// word does not.
func TestSurnameAfterGivenName(t *testing.T) {
	cases := []struct {
		text, given string
		want        bool
	}{
		{"I think Mateo Müller should review it", "Mateo", true},
		{"ask Grace Smith to call back", "Grace", true},
		{"meet at Grace Street tomorrow", "Grace", false},
		{"see you Mark\nSmith", "Mark", false},
		{"ask Grace smith later", "Grace", false},
		{"until Grace May arrives", "Grace", false},
	}
	for _, c := range cases {
		ts, a, _ := tokensOf(t, c.text, c.given)
		assert.Equal(t, c.want, surnameAfter(ts, a), "%q after %q", c.text, c.given)
	}
}
