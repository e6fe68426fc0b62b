package redact

import (
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/redact/ner"
	"github.com/stretchr/testify/assert"
)

// TestLoneFirstNames (round 23, lone.go): a first name alone after a
// greeting at a line's start, or on a signature's last line, is a PERSON;
// made-up texts, tags set by hand for what a tagger's draw may do (nil:
// the tagger drew nothing).
func TestLoneFirstNames(t *testing.T) {
	for _, c := range []struct {
		name   string
		text   string
		tagged map[string]string
		want   []string
	}{
		// vocatives
		{"greeting", "Hola Inés,\nte mando la factura.", nil, []string{"Inés/PERSON"}},
		{"greeting, line end", "Hola Inés\nte mando la factura.", nil, []string{"Inés/PERSON"}},
		{"greeting in the span", "Hola Inés,\nte mando la factura.", map[string]string{"Hola": "B-PER", "Inés": "I-PER"}, []string{"Inés/PERSON"}},
		{"listed-name greeting stays", "Hey Inés, the call moved.", map[string]string{"Hey": "B-PER", "Inés": "I-PER"}, []string{"Hey Inés/PERSON"}},
		{"closed word needs the comma", "Hei Inés kommer i morgen.", nil, nil},
		{"closed word needs the comma, line end", "Hei Inés\nkommer du i morgen?", nil, nil},
		{"closed word and comma", "Hei Inés,\nkommer du i morgen?", nil, []string{"Inés/PERSON"}},
		{"not at the line start", "Ich sage Hallo Inés, bis dann.", nil, nil},
		{"ordinary word", "Hi Team,\nthe build is green.", nil, nil},
		{"head noun", "Hola Equipo,\nla reunión es mañana.", nil, nil},
		{"place that is a name", "Hi Florence,\nthe heating is fixed.", nil, nil},
		{"two words", "Hola Inés Quiroga,\nte mando la factura.", nil, []string{"Inés Quiroga/PERSON"}},
		{"greeting span over the text below", "Hej Linnea,\nPaketet ligger i Kalmar",
			map[string]string{"Hej": "B-LOC", "Linnea": "I-LOC", ",": "I-LOC", "Paketet": "I-LOC", "ligger": "I-LOC", "i": "I-LOC", "Kalmar": "I-LOC"},
			[]string{"Linnea/PERSON", "Paketet ligger i Kalmar/LOCATION"}},
		// signatures
		{"signature after a blank line", "Tack för mötet.\n\nHenrik", nil, []string{"Henrik/PERSON"}},
		{"signature after a comma", "Danke für alles,\nJürgen", nil, []string{"Jürgen/PERSON"}},
		{"signature after a closing line", "Det er sendt.\nMvh\nSigrun", nil, []string{"Sigrun/PERSON"}},
		{"signature after a dash", "Approved.\n\n— Marta", nil, []string{"Marta/PERSON"}},
		{"signature of two words", "Best,\nMarta Kowalska", nil, []string{"Marta Kowalska/PERSON"}},
		{"unlisted signature", "Dzięki!\n\nQorvath", nil, []string{"Qorvath/PERSON"}},
		{"greeting that is a name", "Dzięki za wszystko.\n\nOla", nil, []string{"Ola/PERSON"}},
		{"no blank line", "See you soon.\nMarta", nil, nil},
		{"ordinary word signature", "Thanks,\nSupport", nil, nil},
		{"ordinary word that is a given name too", "Regards,\nSales", nil, nil},
		{"greeting no list knows as a name", "Nos vemos pronto.\n\nAbrazos", nil, nil},
		{"greeting signature", "Thanks for all.\n\nCheers", nil, nil},
		{"second word no name", "Best,\nMarta Desk", nil, nil},
		{"not the last line", "Hi,\n\nMarta\nmore text here", nil, nil},
		{"already a PERSON", "Danke für alles,\nJürgen", map[string]string{"Jürgen": "B-PER"}, []string{"Jürgen/PERSON"}},
	} {
		got := tagSpansOf(c.text, c.tagged)
		assert.ElementsMatch(t, c.want, got, c.name+": "+c.text)
	}
}

// TestSignatureEndsTheText: only the text's last line is a signature, not
// the last line of a tagger window that the text goes on after.
func TestSignatureEndsTheText(t *testing.T) {
	text := "Danke für alles,\nJürgen\nund dann ging es weiter."
	cut := strings.Index(text, "und")
	_, _, ok := signature(text, ner.TokenizeRange(text, 0, cut, nil))
	assert.False(t, ok, "a window's last line")
	_, _, ok = signature(text[:cut], ner.Tokenize(text[:cut], nil))
	assert.True(t, ok, "the text's last line")
}
