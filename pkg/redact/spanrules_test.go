package redact

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// tagSpansOf returns the PERSON and LOCATION candidates addTagSpans makes
// of text when a tagger tags its words as tagged says ("Mai": "B-PER");
// every other token is O. The tags stand for a draw of the tagger (a
// retrain with another seed tags these words so), not the shipped model.
func tagSpansOf(text string, tagged map[string]string) []string {
	s := &scratch{text: text}
	s.toks = ner.Tokenize(text, nil)
	tags := make([]uint8, len(s.toks))
	for i, t := range s.toks {
		for k, name := range ner.TagNames {
			if tagged[text[t.S:t.E]] == name {
				tags[i] = uint8(k)
			}
		}
	}
	return candidatesOf(s, tags)
}

// TestSurnameFirstNames: a listed surname (or two listed name words)
// before a tagged name joins it, in the surname-first order of
// Vietnamese, Hungarian, Japanese or Chinese names, whichever words of
// the name a tagger's draw leaves out; ordinary words, places, products
// and lower-case words before a name do not.
func TestSurnameFirstNames(t *testing.T) {
	for _, c := range []struct {
		text   string
		tagged map[string]string
		want   []string
	}{
		// seed 2 of the recipe: "Nguyễn" O; averaged models: "Nguyễn Thị" O
		{"Nguyễn Thị Mai joined the Hanoi office.", map[string]string{"Thị": "B-PER", "Mai": "I-PER", "Hanoi": "B-LOC"}, []string{"Hanoi/LOCATION", "Nguyễn Thị Mai/PERSON"}},
		{"Nguyễn Thị Mai joined the Hanoi office.", map[string]string{"Mai": "B-PER", "Hanoi": "B-LOC"}, []string{"Hanoi/LOCATION", "Nguyễn Thị Mai/PERSON"}},
		{"Yesterday Nagy Zoltán presented the plan.", map[string]string{"Zoltán": "B-PER"}, []string{"Nagy Zoltán/PERSON"}},
		{"Notes from Tanaka Yui and the team", map[string]string{"Yui": "B-PER"}, []string{"Tanaka Yui/PERSON"}},
		// not pulled in: ordinary words ("Call", "Will" are listed
		// surnames), a place, a product, a lower-case word, another line
		{"Call Maria tomorrow.", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		{"Will Maria join?", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		{"Jordan Maria wrote it.", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		{"via Hubspot Maria wrote it.", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		{"ask nguyễn Mai", map[string]string{"Mai": "B-PER"}, []string{"Mai/PERSON"}},
		{"Nguyễn\nMai wrote it.", map[string]string{"Mai": "B-PER"}, []string{"Mai/PERSON"}},
		// a place keeps its words
		{"Nguyễn Hanoi office", map[string]string{"Hanoi": "B-LOC"}, []string{"Hanoi/LOCATION"}},
	} {
		assert.Equal(t, c.want, tagSpansOf(c.text, c.tagged), c.text)
	}
}

// TestCoordinatedNames: a capitalised listed given name joined by "and",
// "&" or "or" to a tagged PERSON is a PERSON too, whichever of the two a
// tagger's draw leaves out; ordinary words, months, other names' lines
// and words no name list holds are not pulled in.
func TestCoordinatedNames(t *testing.T) {
	for _, c := range []struct {
		text   string
		tagged map[string]string
		want   []string
	}{
		// seed 2 of the recipe leaves "Jordan" O; seed 3 leaves "Ruby" O
		{"lunch with Jordan and Ruby, then a call", map[string]string{"Ruby": "B-PER"}, []string{"Jordan/PERSON", "Ruby/PERSON"}},
		{"lunch with Jordan and Ruby, then a call", map[string]string{"Jordan": "B-PER"}, []string{"Jordan/PERSON", "Ruby/PERSON"}},
		{"Ana & Luis Pereira signed.", map[string]string{"Luis": "B-PER", "Pereira": "I-PER"}, []string{"Ana/PERSON", "Luis Pereira/PERSON"}},
		{"ask Priya or Mina", map[string]string{"Priya": "B-PER"}, []string{"Mina/PERSON", "Priya/PERSON"}},
		// not pulled in
		{"Will and Maria met.", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		{"Monday and Maria", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		{"Hubspot and Maria", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		{"Maria and Kubernetes", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		{"Maria and the team", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		{"Maria and\nJordan", map[string]string{"Maria": "B-PER"}, []string{"Maria/PERSON"}},
		// no PERSON joins a place; since round 23 the two are a list of
		// places (places.go), so the listed place Jordan is a LOCATION too
		{"Porto and Jordan", map[string]string{"Porto": "B-LOC"}, []string{"Jordan/LOCATION", "Porto/LOCATION"}},
	} {
		got := tagSpansOf(c.text, c.tagged)
		assert.Equal(t, c.want, got, c.text)
	}
}

// TestProperNounsInLowerCaseLines: in a line that does not begin like a
// sentence (a search query, a chat line), a capitalised word no list knows
// that the tagger left out is a place, or a person after a word that
// introduces one; listed words, products, plurals of listed words, two
// dictionary words written together, organisations (a legal form
// follows), a line's first word and lines that begin with a capital are
// left alone.
func TestProperNounsInLowerCaseLines(t *testing.T) {
	none := map[string]string{}
	for _, c := range []struct {
		text string
		want []string
	}{
		{"hotel options near Quellbrunnstadt for the offsite", []string{"Quellbrunnstadt/LOCATION"}},
		{"wifi password Tarvaneck pls", []string{"Tarvaneck/LOCATION"}},
		{"can you ask Zorbeline about the invoice?", []string{"Zorbeline/PERSON"}},
		{"thanks Zorbeline, merged", []string{"Zorbeline/PERSON"}},
		{"ok\nvisa docs Quellbrunnstadt 2025", []string{"Quellbrunnstadt/LOCATION"}},
		// left alone
		{"Hotel options near Quellbrunnstadt for the offsite", nil},
		{"Quellbrunnstadt hotel options", nil},
		{"hotel options near Berlin", nil}, // a listed place: the tagger's call
		{"can we not deploy on Fridays pls", nil},
		{"the Handover doc is in the wiki", nil},
		{"reset the Jira token", nil},
		{"the Twilio bill went up", nil}, // a vendor no other list holds
		{"mail me at Quellbrunnstadt@example.com", nil},
		{"hotel options near QUELLBRUNNSTADT", nil},
		{"see the Quell-brunn doc", nil},
		{"set Quellbrunn_api_key in the env", nil},
		// an organisation: a legal form follows ("du Preez GmbH")
		{"du Quellbrunn GmbH", nil},
		{"contract with Quellbrunn Ltd is signed", nil},
		{"contract with Quellbrunn & Sons is signed", nil},
	} {
		assert.Equal(t, c.want, tagSpansOf(c.text, none), c.text)
	}
}

// TestPercentageIsNoPlace: a number a tagger's draw reads as a place (a
// postcode line) is no place when a per cent sign follows it (seed 3 of
// the recipe tags "100" in "100%").
func TestPercentageIsNoPlace(t *testing.T) {
	for _, text := range []string{"100%", "100 %", "we are at 95% now"} {
		assert.Empty(t, tagSpansOf(text, map[string]string{"100": "B-LOC", "95": "B-LOC"}), text)
	}
	assert.Equal(t, []string{"10115 Berlin/LOCATION"}, tagSpansOf("10115 Berlin", map[string]string{"10115": "B-LOC", "Berlin": "I-LOC"}))
	assert.Equal(t, []string{"10115/LOCATION"}, tagSpansOf("10115", map[string]string{"10115": "B-LOC"}))
}

// TestAcronymsAndCodesAreNoNames: a span a tagger's draw makes of
// acronyms ("APM", "SCIM, SAML"), codes (letters glued to digits: "S3",
// "SC045672", "A-55120", "2nd") and lower-case English words is no name
// and no place; two-letter words, listed words ("UK", "LI WEI"), an
// acronym after a word that introduces a place ("in QLD"), unknown
// lower-case words, longer words in capitals and towns beside a postcode
// stay, and in text without capitals an acronym cannot be told from a
// shouted name.
func TestAcronymsAndCodesAreNoNames(t *testing.T) {
	for _, c := range []struct {
		text   string
		tagged map[string]string
		want   []string
	}{
		// acronyms (prosedev, handwritten)
		{"We send all debug logs, APM on every service.", map[string]string{"APM": "B-LOC"}, nil},
		{"We need SCIM, SAML and an admin portal.", map[string]string{"SCIM": "B-LOC", ",": "I-LOC", "SAML": "I-LOC"}, nil},
		{"Please call between 9 and 5 AEST, ask for Bronwyn.", map[string]string{"5": "B-LOC", "AEST": "I-LOC", "Bronwyn": "B-PER"}, []string{"Bronwyn/PERSON"}},
		// codes
		{"Oleksiy: yes, S3 bucket", map[string]string{"S": "B-LOC", "3": "I-LOC", "bucket": "I-LOC"}, nil},
		{"Draft an apology: the export to S3 was late.", map[string]string{"S": "B-LOC", "3": "I-LOC"}, nil},
		{"Our charity number is SC045672.", map[string]string{"SC": "B-LOC", "045672": "I-LOC"}, nil},
		{"Tracking says it is stuck. Order #A-55120.", map[string]string{"A": "B-LOC", "-": "I-LOC", "55120": "I-LOC"}, nil},
		{"Order number is 88213-B.", map[string]string{"88213": "B-LOC", "-": "I-LOC", "B": "I-LOC"}, nil},
		{"i see two charges from the 2nd, please check", map[string]string{"2": "B-LOC", "nd": "I-LOC"}, nil},
		// left alone
		{"Our UK entity is registered in Leeds.", map[string]string{"UK": "B-LOC", "Leeds": "B-LOC"}, []string{"Leeds/LOCATION", "UK/LOCATION"}},
		{"Our new office is in QLD.", map[string]string{"QLD": "B-LOC"}, []string{"QLD/LOCATION"}},
		{"Please ping yaron x2 about it.", map[string]string{"yaron": "B-PER", "x": "I-PER", "2": "I-PER"}, []string{"yaron x2/PERSON"}},
		{"Please ping rose x2 about it.", map[string]string{"rose": "B-PER", "x": "I-PER", "2": "I-PER"}, []string{"rose x2/PERSON"}},
		{"Please ping Maria92 about it.", map[string]string{"Maria": "B-PER", "92": "I-PER"}, []string{"Maria92/PERSON"}},
		{"ping yaron92 about it", map[string]string{"yaron": "B-PER", "92": "I-PER"}, []string{"yaron92/PERSON"}},
		{"Remote in the EU is fine.", map[string]string{"EU": "B-LOC"}, []string{"EU/LOCATION"}},
		{"Thanks,\nLI WEI\nPlatform team", map[string]string{"LI": "B-PER", "WEI": "I-PER"}, []string{"LI WEI/PERSON"}},
		{"Guest list: EMMELY POMP; Asmita", map[string]string{"EMMELY": "B-PER", "POMP": "I-PER"}, []string{"EMMELY POMP/PERSON"}},
		{"I live at Harrogate HG2 8QT now.", map[string]string{"Harrogate": "B-LOC", "HG": "I-LOC", "2": "I-LOC", "8": "I-LOC", "QT": "I-LOC"}, []string{"Harrogate HG2 8QT/LOCATION"}},
		{"Our new office: SW1A 1AA London", map[string]string{"SW": "B-LOC", "1": "I-LOC", "A": "I-LOC", "AA": "I-LOC", "London": "I-LOC"}, []string{"SW1A 1AA London/LOCATION"}},
		{"Thanks,\nANNA\nPlatform team", map[string]string{"ANNA": "B-PER"}, []string{"ANNA/PERSON"}},
		{"Our office is at 4b berlin now.", map[string]string{"4": "B-LOC", "b": "I-LOC", "berlin": "I-LOC"}, []string{"4b berlin/LOCATION"}},
		{"meet at 4b quellbrunn tmrw", map[string]string{"4": "B-LOC", "b": "I-LOC", "quellbrunn": "I-LOC"}, []string{"4b quellbrunn/LOCATION"}},
		{"meet at 12 quellbrunn tmrw", map[string]string{"12": "B-LOC", "quellbrunn": "I-LOC"}, []string{"12 quellbrunn/LOCATION"}},
		{"ship to quellbrunn 10115 pls", map[string]string{"quellbrunn": "B-LOC", "10115": "I-LOC"}, []string{"quellbrunn 10115/LOCATION"}},
		{"SHIP IT TO ZABO TODAY", map[string]string{"ZABO": "B-LOC"}, []string{"ZABO/LOCATION"}},
	} {
		assert.Equal(t, c.want, tagSpansOf(c.text, c.tagged), c.text)
	}
}

// run tags the words of span in text as one span of type typ ("PER" or
// "LOC"): its first word B-, the rest I-; words repeat at their own tag.
func run(span, typ string) map[string]string {
	m := map[string]string{}
	toks := ner.Tokenize(span, nil)
	for i, t := range toks {
		tag := "I-" + typ
		if i == 0 {
			tag = "B-" + typ
		}
		if _, ok := m[span[t.S:t.E]]; !ok {
			m[span[t.S:t.E]] = tag
		}
	}
	return m
}

// TestForeignSentencesAreCut: a tagger span that runs over a sentence of
// another language (lower-case words, one of them a Spanish, French,
// German or Portuguese function word, or a line that reads as one) is cut
// at those words and keeps only its listed names; names with particles
// and articles stay whole, and so does an English span.
func TestForeignSentencesAreCut(t *testing.T) {
	for _, c := range []struct {
		text, span, typ string
		want            []string
	}{
		{"Le confirmamos la reserva para el día 12 en nuestra sede de Valencia.", "Le confirmamos la reserva para el día 12 en nuestra sede de Valencia", "LOC", []string{"Valencia/LOCATION"}},
		{"Votre dossier a bien été transmis au service juridique à Bordeaux.", "Votre dossier a bien été transmis au service juridique à Bordeaux", "LOC", []string{"Bordeaux/LOCATION"}},
		{"Notre admin est Yannick Moreau, merci.", "Notre admin est Yannick Moreau", "LOC", []string{"Yannick Moreau/PERSON"}},
		// a line that reads as French: a span of two lower-case words goes
		{"Le connecteur ne synchronise plus les contacts depuis lundi.", "depuis lundi", "PER", nil},
		// names with particles and articles stay whole
		{"Ana de la Cruz joined today.", "Ana de la Cruz", "PER", []string{"Ana de la Cruz/PERSON"}},
		{"Ask von Trapp about it.", "von Trapp", "PER", []string{"von Trapp/PERSON"}},
		{"Jean-Luc de Souza sent it.", "Jean-Luc de Souza", "PER", []string{"Jean-Luc de Souza/PERSON"}},
		{"Ludwig van Beethoven wrote it.", "Ludwig van Beethoven", "PER", []string{"Ludwig van Beethoven/PERSON"}},
		{"Reach María de los Ángeles Espinosa de los Monteros today.", "María de los Ángeles Espinosa de los Monteros", "PER", []string{"María de los Ángeles Espinosa de los Monteros/PERSON"}},
		// even in a foreign line
		{"Le dossier est chez Ana de la Cruz depuis lundi.", "Ana de la Cruz", "PER", []string{"Ana de la Cruz/PERSON"}},
		// a lower-case name made of listed words, an address, one lower-case word
		{"pls ask maría de los ángeles for the Miro password", "maría de los ángeles", "PER", []string{"maría de los ángeles/PERSON"}},
		{"Our entity is at 2 Rue de la Paix le matin", "Rue de la Paix le matin", "LOC", []string{"Rue de la Paix le matin/LOCATION"}},
		{"Le dossier est chez von Trapp depuis hier.", "von Trapp depuis hier", "PER", []string{"von Trapp/PERSON"}},
		{"Reach Mija Cankar de los Monteros depuis hier.", "Mija Cankar de los Monteros depuis hier", "PER", []string{"Mija Cankar de los Monteros/PERSON"}},
		// an article alone is no particle: "los Monteros" is "the Monteros"
		{"Le dossier est chez los Monteros depuis hier.", "los Monteros depuis hier", "PER", []string{"Monteros/PERSON"}},
		// one lower-case word is not enough to call a span a sentence
		// (no title before it: a titled name stops at its first lower-case word, TestTitlesBesideNames)
		// (the span stays whole here; since round 23 places.go then reads the
		// listed town after "aus" as a LOCATION and the name stays a PERSON)
		{"Gestern hat Annegret Schulte aus Bielefeld angerufen.", "Annegret Schulte aus Bielefeld", "PER", []string{"Annegret Schulte/PERSON", "Bielefeld/LOCATION"}},
		{"Das Buch von Pierre et Marie Curie.", "Pierre et Marie Curie", "PER", []string{"Pierre et Marie Curie/PERSON"}},
		// a listed word alone at a sentence's start ("Sehr" is a surname) goes
		// (tagged LOC as the shipped model does; round 19: the title goes and
		// a titled name is a PERSON, TestTitlesBesideNames)
		{"Sehr geehrter Herr Böhm, anbei die Unterlagen für die Sitzung.", "Sehr geehrter Herr Böhm, anbei die Unterlagen für die Sitzung", "LOC", []string{"Böhm/PERSON"}},
		// one foreign word does not make an English line foreign
		{"Send Maria Garcia tomorrow morning the menu de jour", "Maria Garcia tomorrow morning", "PER", []string{"Maria Garcia tomorrow morning/PERSON"}},
		{"Send Maria Garcia tomorrow morning to the office for the plat du jour and the crème de la crème", "Maria Garcia tomorrow morning", "PER", []string{"Maria Garcia tomorrow morning/PERSON"}},
		{"Nous sommes au 12 rue de la gare à Lausanne.", "12 rue de la gare à Lausanne", "LOC", []string{"12 rue de la gare à Lausanne/LOCATION"}},
		// the line reads as French: a span of unknown lower-case words goes
		{"Le connecteur ne synchronise plus les contacts: journaux manquants", "journaux manquants", "PER", nil},
		// a greeting and a one-word piece starting a sentence go
		{"Olá Beatriz, o relatório do Mixpanel mostra queda", "Olá Beatriz, o relatório", "PER", []string{"Beatriz/PERSON"}},
		{"Die Rechnung ist doppelt. Bitte um Rückruf unter 0521 9876543.", "Rechnung ist doppelt. Bitte um Rückruf unter", "LOC", nil},
		// English lower-case words without a foreign one: left to the other rules
		{"We met Maria Garcia today at noon in Leeds.", "Maria Garcia today", "PER", []string{"Maria Garcia today/PERSON"}},
	} {
		got := tagSpansOf(c.text, run(c.span, c.typ))
		assert.Equal(t, c.want, got, c.text)
	}
}

// TestChatWordsAreTrimmed: an English interjection, greeting or chat
// abbreviation a tagger's draw joins to a name ("omg liah", "Hi Ana",
// "Ana thx") is trimmed off the span and the name kept whole; a chat word
// that a name list holds ("Hey", "Ty" are listed given names) stays, and
// a span of a chat word alone is left to the other rules.
func TestChatWordsAreTrimmed(t *testing.T) {
	for _, c := range []struct {
		text   string
		tagged map[string]string
		want   []string
	}{
		{"omg liah you're a legend", map[string]string{"omg": "B-PER", "liah": "I-PER"}, []string{"liah/PERSON"}},
		{"omg juan ramón you're a legend", map[string]string{"omg": "B-PER", "juan": "I-PER", "ramón": "I-PER"}, []string{"juan ramón/PERSON"}},
		{"Hi Ana, the call moved.", map[string]string{"Hi": "B-PER", "Ana": "I-PER"}, []string{"Ana/PERSON"}},
		{"hi, ana can you check", map[string]string{"hi": "B-PER", ",": "I-PER", "ana": "I-PER"}, []string{"ana/PERSON"}},
		{"FYI Noviana Putri joins", map[string]string{"FYI": "B-PER", "Noviana": "I-PER", "Putri": "I-PER"}, []string{"Noviana Putri/PERSON"}},
		{"Lol Mason is here", map[string]string{"Lol": "B-PER", "Mason": "I-PER"}, []string{"Mason/PERSON"}}, // "Lol" is in no name list
		{"ask Ana thx", map[string]string{"Ana": "B-PER", "thx": "I-PER"}, []string{"Ana/PERSON"}},
		{"omg lol liah", map[string]string{"omg": "B-PER", "lol": "I-PER", "liah": "I-PER"}, []string{"liah/PERSON"}},
		// listed names stay whole
		{"Hey Ana, the call moved.", map[string]string{"Hey": "B-PER", "Ana": "I-PER"}, []string{"Hey Ana/PERSON"}},
		{"Ty Mason is here", map[string]string{"Ty": "B-PER", "Mason": "I-PER"}, []string{"Ty Mason/PERSON"}},
		{"Ana Lopez is here", map[string]string{"Ana": "B-PER", "Lopez": "I-PER"}, []string{"Ana Lopez/PERSON"}},
	} {
		assert.Equal(t, c.want, tagSpansOf(c.text, c.tagged), c.text)
	}
}

// candidatesOf returns the PERSON and LOCATION candidates addTagSpans makes
// of s's tokens under tags, as "text/TYPE", sorted.
func candidatesOf(s *scratch, tags []uint8) []string {
	addTagSpans(s, tags, true, true)
	var out []string
	for _, c := range s.cands {
		out = append(out, s.text[c.start:c.end]+"/"+c.typ)
	}
	sort.Strings(out)
	return out
}
