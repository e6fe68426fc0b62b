package redact

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/redact/ner"
	"github.com/stretchr/testify/assert"
)

// productWords returns the sorted folded words the text uses as a product.
func productWords(text string) []string {
	var p productSet
	p.reset()
	p.scan(text, ner.Tokenize(text, nil))
	var out []string
	for w := range p.words {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// Which words each product position marks, and which look-alike positions
// mark nothing (the truth is written by hand).
func TestProductPositions(t *testing.T) {
	cases := []struct {
		text string
		want []string
	}{
		// a software noun right after one or two capitalised words
		{"the Zorvana API returns 500s", []string{"zorvana"}},
		{"link in the Quillet task", []string{"quillet"}},
		{"the Beacon SMS service and the Kelvo Sync widget", []string{"kelvo", "sync"}},
		{"Prefect Cloud pricing is per seat", []string{"prefect"}},
		// a possessive before a noun only a product has
		{"Gong's trust center has both", []string{"gong"}},
		{"Slack's API returns 429", []string{"slack"}},
		// a version number
		{"migrate from Kafka 2.8 to Redpanda", []string{"kafka"}},
		// a lower-case identifier naming a repository or service
		{"Snyk flagged lodash in atlas-web and #orion-migration", []string{"atlas", "orion"}},
		// written like a product
		{"approve it in BambooHR or GrabPay", []string{"bamboohr", "grabpay"}},
		// not product positions
		{"Kofi's laptop and Amara's dashboard", nil},                 // a person's possessive
		{"the Mexico pricing sheet for Guadalajara", nil},            // per-country business nouns
		{"the Lagos office, the Frankfurt cluster, Tokyo team", nil}, // nouns after places
		{"Berlin 12.03.2024 and Dublin 2", nil},                      // a date, a postal district
		{"Amara logs the hours, Kofi flags it", nil},                 // verbs after names
		{"McKenzie, DeShawn, MacArthur, LaToya and DiMaggio", nil},   // names with an inner capital
		{"ping @mei-ling and ji-ho about the release", nil},          // hyphenated names
		{"Kofi\nAPI keys are rotated", nil},                          // the noun on another line
	}
	for _, c := range cases {
		assert.Equal(t, c.want, productWords(c.text), c.text)
	}
}

// The veto drops a tagger span only when every capitalised word of it is
// used as a product somewhere in the same text, and never other spans.
func TestProductVeto(t *testing.T) {
	var p productSet
	p.reset()
	text := "Quillet sync is down. Ask Paris Hilton. The Quillet API and the Hilton app. Kafka broke, says kofi."
	p.scan(text, ner.Tokenize(text, nil))
	at := func(s string) (int, int) {
		i := strings.Index(text, s)
		return i, i + len(s)
	}
	var cs []cand
	add := func(s, typ string, prio int) {
		a, b := at(s)
		cs = append(cs, cand{a, b, typ, prio})
	}
	add("Quillet", Person, prioPerson)      // vetoed: Quillet API
	add("Paris Hilton", Person, prioPerson) // kept: Paris is no product
	add("Kafka", Location, prioLoc)         // kept: no cue in this text
	add("Quillet sync", Location, prioLoc)  // vetoed: its only capitalised word is a product
	add("Hilton", Person, prioActor)        // kept: the actor's name is never vetoed
	add("Quillet", Location, prioAddress)   // kept: addresses are not tagger spans
	add("kofi", Person, prioPerson)         // kept: no capitalised word, no evidence
	got := p.veto(text, slices.Clone(cs), 0)
	var kept []string
	for _, c := range got {
		kept = append(kept, text[c.start:c.end]+"/"+c.typ)
	}
	assert.Equal(t, []string{"Paris Hilton/PERSON", "Kafka/LOCATION", "Hilton/PERSON", "Quillet/LOCATION", "kofi/PERSON"}, kept)
	// candidates before from are never looked at
	assert.Len(t, p.veto(text, slices.Clone(cs), len(cs)), len(cs))
}
