package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// runSpansOf returns the PERSON and LOCATION candidates addTagSpans makes
// of text when a tagger's draw tags each substring of runs as one span
// ("PER:Herr Böhm" → B-PER, I-PER; "LOC:…" → B-LOC, I-LOC) and every
// other token O. The tags stand for a draw of the tagger, not the shipped
// model.
func runSpansOf(text string, runs ...string) []string {
	s := &scratch{text: text}
	s.toks = ner.Tokenize(text, nil)
	tags := make([]uint8, len(s.toks))
	for _, r := range runs {
		b, in := uint8(ner.TagBPer), uint8(ner.TagIPer)
		if strings.HasPrefix(r, "LOC:") {
			b, in = ner.TagBLoc, ner.TagILoc
		}
		span := r[4:]
		from := strings.Index(text, span)
		to := from + len(span)
		first := true
		for i, t := range s.toks {
			if int(t.S) >= from && int(t.E) <= to {
				tags[i] = in
				if first {
					tags[i], first = b, false
				}
			}
		}
	}
	return candidatesOf(s, tags)
}

// TestTitlesBesideNames: a title before a name (English, German, French,
// Spanish, Italian, Dutch, Polish forms of address) is no part of the
// name's span, and the name after it is a PERSON whatever type the tagger
// gave the span; a conjunction between two titled names splits them; a
// name after a title the tagger left untagged is added; a span of titles
// alone is none. Words that only look like titles stay as they are: a
// street type after a street name ("Oak Dr."), an address that starts with
// a title, "MS Teams", lower-case "miss", "Don" (a given name), an
// initial "M." in an English line. Every sentence is made up for this
// test.
func TestTitlesBesideNames(t *testing.T) {
	for _, c := range []struct {
		text string
		runs []string
		want []string
	}{
		// the title inside a span, typed LOCATION by the tagger's draw
		{"Sehr geehrter Herr Albrecht,\nvielen Dank.", []string{"LOC:Herr Albrecht"}, []string{"Albrecht/PERSON"}},
		{"Termin bei Frau Dr. Heinemeyer mit Herrn Gruber.", []string{"LOC:Termin bei Frau Dr. Heinemeyer mit Herrn Gruber"}, []string{"Gruber/PERSON", "Heinemeyer/PERSON"}},
		{"Frau Annegret Schulte aus Bielefeld rief an.", []string{"PER:Annegret Schulte aus Bielefeld"}, []string{"Annegret Schulte/PERSON", "Bielefeld/LOCATION"}},
		{"Ask Mr. Okafor on Monday morning.", []string{"PER:Mr. Okafor on Monday morning"}, []string{"Okafor/PERSON"}},
		{"Hi Mr. Okafor, the parcel is late.", []string{"PER:Hi Mr. Okafor"}, []string{"Okafor/PERSON"}},
		// a lexicon flag of the title (Pani, Miss are listed given names) loses in title position
		{"Pani Agnieszka Nowak przyjdzie jutro.", []string{"PER:Pani Agnieszka Nowak"}, []string{"Agnieszka Nowak/PERSON"}},
		{"Please ask Miss Ellery about it.", []string{"PER:Miss Ellery"}, []string{"Ellery/PERSON"}},
		// two titled names joined by a conjunction: two spans ("M." is Monsieur in a French line)
		{"Mme Girardot et M. Vasseur arrivent demain.", []string{"PER:Mme Girardot et M. Vasseur"}, []string{"Girardot/PERSON", "Vasseur/PERSON"}},
		{"Nous avons vu Mme Girardot et M. Vasseur hier soir.", []string{"LOC:Nous avons vu Mme Girardot et M. Vasseur hier soir"}, []string{"Girardot/PERSON", "Vasseur/PERSON"}},
		{"Mevr. van Dijkstra en dhr. Hoogeveen komen morgen.", []string{"LOC:van Dijkstra en dhr. Hoogeveen komen morgen"}, []string{"Hoogeveen/PERSON", "van Dijkstra/PERSON"}},
		// a name after a title the tagger left untagged
		{"El Sr. Iturbide y la Sra. Zubizarreta llegan mañana.", []string{"PER:Iturbide y la"}, []string{"Iturbide/PERSON", "Zubizarreta/PERSON"}},
		{"Il dott. Marchesini e l'avv. Ferraro firmano oggi.", []string{"PER:Marchesini"}, []string{"Ferraro/PERSON", "Marchesini/PERSON"}},
		{"Gentile Sig.ra Brambilla, grazie.", nil, []string{"Brambilla/PERSON"}},
		// a form of address without a name
		{"Dear Madam, I write about my order.", []string{"PER:Madam"}, nil},
		{"Madame, Monsieur, veuillez trouver ci-joint.", []string{"PER:Madame, Monsieur"}, nil},
		// not titles
		{"Turn at Oak Dr. Springfield is next.", []string{"LOC:Oak Dr. Springfield"}, []string{"Oak Dr. Springfield/LOCATION"}},
		{"Drop it at 12 Oak Dr. Springfield tomorrow.", []string{"LOC:12 Oak Dr. Springfield"}, []string{"12 Oak Dr. Springfield/LOCATION"}},
		{"The venue is Dr. Martin Luther King Jr. Blvd 44.", []string{"LOC:Dr. Martin Luther King Jr. Blvd 44"}, []string{"Dr. Martin Luther King Jr. Blvd 44/LOCATION"}},
		{"We use MS Teams and Ing Direct daily.", nil, nil},
		{"I miss Paris so much.", []string{"LOC:Paris"}, []string{"Paris/LOCATION"}},
		{"Don Johnson called twice.", []string{"PER:Don Johnson"}, []string{"Don Johnson/PERSON"}},
		{"M. Laurent Smith wrote the report.", []string{"PER:M. Laurent Smith"}, []string{"M. Laurent Smith/PERSON"}},
	} {
		assert.Equal(t, c.want, runSpansOf(c.text, c.runs...), c.text)
	}
}
