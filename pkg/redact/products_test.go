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

// TestKnownProductVeto: a tagger span all of whose words are in the product
// and vendor list (ner.Vendor) and none a listed name or place is dropped,
// with no cue in the text; names that are also products ("Paris Hilton",
// "Ruby", "Jordan", "hugo") stay, and so do the actor's and address spans.
func TestKnownProductVeto(t *testing.T) {
	var p productSet
	p.reset()
	text := "Ask Paris Hilton whether Pipedrive or Heroku broke; hugo says Ruby and Jordan saw Twilio's outage. Zendesk Grafana and Heroku Smith too."
	p.scan(text, ner.Tokenize(text, nil))
	var cs []cand
	add := func(s, typ string, prio int) {
		i := strings.Index(text, s)
		cs = append(cs, cand{i, i + len(s), typ, prio})
	}
	add("Paris Hilton", Person, prioPerson)   // kept: names and a place
	add("Pipedrive", Person, prioPerson)      // vetoed
	add("Heroku", Location, prioLoc)          // vetoed
	add("hugo", Person, prioPerson)           // kept: a given name
	add("Ruby", Person, prioPerson)           // kept: a given name
	add("Jordan", Location, prioLoc)          // kept: a name and a place
	add("Twilio's", Person, prioPerson)       // vetoed: the possessive is no part of the word
	add("Zendesk Grafana", Location, prioLoc) // vetoed: every word known
	add("Heroku Smith", Person, prioPerson)   // kept: Smith is a surname
	add("Pipedrive", Person, prioActor)       // kept: the actor's name is never vetoed
	add("Heroku", Location, prioAddress)      // kept: addresses are not tagger spans
	var kept []string
	for _, c := range p.veto(text, slices.Clone(cs), 0) {
		kept = append(kept, text[c.start:c.end]+"/"+c.typ)
	}
	assert.Equal(t, []string{"Paris Hilton/PERSON", "hugo/PERSON", "Ruby/PERSON", "Jordan/LOCATION", "Heroku Smith/PERSON", "Pipedrive/PERSON", "Heroku/LOCATION"}, kept)
}

// TestKnownProductsAreNotRedacted: with the shipped model, products the
// tagger reads as a person or place (it does, without the list: Pipedrive,
// Heroku, Twilio, Mailchimp) are left alone when the list knows them, and
// the people beside them are still redacted.
func TestKnownProductsAreNotRedacted(t *testing.T) {
	r := New()
	for _, c := range []struct{ in, want string }{
		{"Moved the invoices from Zendesk to Pipedrive last week, ask Hugo if Heroku is next.", "Moved the invoices from Zendesk to Pipedrive last week, ask <PERSON> if Heroku is next."},
		{"Twilio sends the codes; Mailchimp still bounces, says Ruby Okafor.", "Twilio sends the codes; Mailchimp still bounces, says <PERSON>."},
		{"flights via Twilio, Jordan will book it", "flights via Twilio, <PERSON> will book it"},
		{"lunch with Jordan and Ruby, then a call with Hubspot", "lunch with <PERSON> and <PERSON>, then a call with Hubspot"},
		{"We pay Hubspot yearly. Paris Hilton booked the hotel.", "We pay Hubspot yearly. <PERSON> booked the hotel."},
	} {
		assert.Equal(t, c.want, Apply(c.in, r.Redact(c.in, nil).Spans), c.in)
	}
}
