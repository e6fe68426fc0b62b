package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestClosedClassWordsAreNoNames: a span made only of closed-class words
// of another European language (articles, prepositions, pronouns,
// weekdays, months, greeting and closing formulas) is no name and no place
// in a line of that language or on a line of its own; in an English line
// such a word that is also a surname stays a name, a span that holds other
// words keeps them (name particles), and capitals of under five letters
// are codes, not words. Every sentence is made up for this test; the tags
// stand for a draw of the tagger (runSpansOf).
func TestClosedClassWordsAreNoNames(t *testing.T) {
	for _, c := range []struct {
		text string
		runs []string
		want []string
	}{
		{"Wir treffen uns am Montag in Regensburg.", []string{"LOC:Montag", "LOC:Regensburg"}, []string{"Regensburg/LOCATION"}},
		{"Hoogachtend,\nJan de Vries", []string{"PER:Hoogachtend", "PER:Jan de Vries"}, []string{"Jan de Vries/PERSON"}},
		{"Srdačan pozdrav,\nIvana", []string{"LOC:Srdačan pozdrav", "PER:Ivana"}, []string{"Ivana/PERSON"}},
		{"Dzień dobry Pani Agnieszko,", []string{"PER:Dzień", "PER:Agnieszko"}, []string{"Agnieszko/PERSON"}},
		{"Ana de la Cruz llega el lunes.", []string{"PER:Ana de la Cruz", "LOC:lunes"}, []string{"Ana de la Cruz/PERSON"}},
		// an English line: a surname that is a weekday elsewhere stays a name
		{"Please send Freitag an update on the invoice.", []string{"PER:Freitag"}, []string{"Freitag/PERSON"}},
		// capitals of under five letters: a code ("SA" is a region), not "sa"
		{"Ship it to Tallinn,\nSA", []string{"LOC:Tallinn", "LOC:SA"}, []string{"SA/LOCATION", "Tallinn/LOCATION"}},
		// a capitalised word in a lower-case line is a proper noun unless it is closed-class
		{"ok wir sehen uns dann Mittwoch", nil, nil},
	} {
		assert.Equal(t, c.want, runSpansOf(c.text, c.runs...), c.text)
	}
}
