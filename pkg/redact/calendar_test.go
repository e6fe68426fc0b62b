package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFestivalsJargonLanguagesAreNoNames (round 27): a tagger span that is
// a festival of some calendar, a weekday or month range, a severity level,
// a jargon acronym or standard, a language, a tier in a line about tiers
// or a label opening a line of notes is no name and no place; the same
// words stay names where a name list holds them and the context says
// nothing of dates, languages, tiers or labels. Every sentence and name is
// made up for this test; the tags are set by hand.
func TestFestivalsJargonLanguagesAreNoNames(t *testing.T) {
	for _, c := range []struct {
		text string
		runs []string
		want []string
	}{
		// festivals of many calendars, one word and several
		{"We ship after Nowruz as planned.", []string{"PER:Nowruz"}, nil},
		{"Nothing deploys since Kurban Bayramı began.", []string{"PER:Kurban Bayramı"}, nil},
		{"The shop shuts for Día de los Muertos again.", []string{"PER:Día de los Muertos"}, nil},
		{"Invoices wait until Eid al-Fitr is over.", []string{"LOC:Eid al-Fitr"}, nil},
		// a festival that is a listed given name or surname needs a date's context
		{"We meet again after Eid this year.", []string{"PER:Eid"}, nil},
		{"Christmas break starts on the fourth.", []string{"PER:Christmas"}, nil},
		{"Ask Eid about the invoice.", []string{"PER:Eid"}, []string{"Eid/PERSON"}},
		{"Send it to Easter Brankovic today.", []string{"PER:Easter Brankovic"}, []string{"Easter Brankovic/PERSON"}},
		// weekday and month ranges
		{"She is in Kastel Mon-Wed this week.", []string{"PER:Mon-Wed"}, nil},
		{"Budget review Jan-Mar is closed.", []string{"LOC:Jan-Mar"}, nil},
		{"Ask Mon-Brasko about it.", []string{"PER:Mon-Brasko"}, []string{"Mon-Brasko/PERSON"}},
		// severity levels: a severity word glued to one digit
		{"Declared Sev2 at noon.", []string{"LOC:Sev2"}, nil},
		{"Raised to SEV-1 today.", []string{"LOC:SEV-1"}, nil},
		{"Ticket for Sev12 was lost.", []string{"LOC:Sev12"}, []string{"Sev12/LOCATION"}},
		// jargon acronyms and standards, not in text written in capitals
		{"Cron now runs in UTC everywhere.", []string{"LOC:UTC"}, nil},
		{"The SOC 2 Type II audit starts soon.", []string{"LOC:SOC 2 Type II"}, nil},
		{"Pay to IBAN NO9386011117947 now.", []string{"LOC:IBAN NO"}, nil},
		{"Meet QA Marta today.", []string{"PER:QA Marta"}, []string{"QA Marta/PERSON"}},
		{"PASSENGER IBAN BOARDED", []string{"PER:IBAN"}, []string{"IBAN/PERSON"}},
		// amounts, sizes and lists of acronyms
		{"Paid 4,500 NOK today.", []string{"LOC:500 NOK"}, nil},
		{"Bumped memory to 2Gi today.", []string{"LOC:2Gi"}, nil},
		{"Revenue by region (EMEA, APAC, AMER) in Q3.", []string{"LOC:EMEA, APAC, AMER)"}, nil},
		{"Ask RON about it.", []string{"PER:RON"}, []string{"RON/PERSON"}},
		{"Ask SLA about it.", []string{"PER:SLA"}, nil},
		{"Deliver to 12 Brelvo Road today.", []string{"LOC:12 Brelvo Road"}, []string{"12 Brelvo Road/LOCATION"}},
		// languages; one that a name list holds needs a language's context
		{"We need Quechua support next year.", []string{"LOC:Quechua"}, nil},
		{"She speaks Te Reo Māori at home.", []string{"PER:Te Reo Māori"}, nil},
		{"The English version is wrong.", []string{"LOC:English"}, nil},
		{"Please check Arabic RTL today.", []string{"LOC:Arabic RTL"}, nil},
		{"Reports come in English now.", []string{"LOC:English"}, nil},
		{"Ask English about the invoice.", []string{"PER:English"}, []string{"English/PERSON"}},
		{"Ask Dr English support questions.", []string{"PER:English"}, []string{"English/PERSON"}},
		// nationalities, with the same guard
		{"She is a Kenyan national.", []string{"LOC:Kenyan"}, nil},
		{"Ask Iraqi about it.", []string{"PER:Iraqi"}, []string{"Iraqi/PERSON"}},
		// tiers, in a line about tiers only
		{"Partner tier update: Brankel moves to Gold.", []string{"LOC:Gold"}, nil},
		{"Ask Gold about the invoice.", []string{"PER:Gold"}, []string{"Gold/PERSON"}},
		// labels that open a line or sentence of notes
		{"Handoff to support is done.", []string{"PER:Handoff"}, nil},
		{"Notes\nBlocker: legal review pending.", []string{"PER:Blocker"}, nil},
		{"Who is joining the Hackathon on Friday?", []string{"LOC:Hackathon"}, nil},
		{"We thank Blocker for it.", []string{"PER:Blocker"}, []string{"Blocker/PERSON"}},
		{"Ai to send the deck.", []string{"PER:Ai"}, []string{"Ai/PERSON"}},
		{"AI: Brankel to share the deck.", []string{"PER:AI"}, nil},
	} {
		assert.Equal(t, c.want, runSpansOf(c.text, c.runs...), c.text)
	}
}

// TestMoreClosedWordsOfOtherLanguages (round 27): greetings, sign-offs and
// function words of French, German, Norwegian, Swahili, Vietnamese and
// Arabic added to closedWords are no names in a line of their language or
// alone on their line; in an English line a listed surname among them
// stays a name. An unlisted capitalised word that is a language or a
// festival is no proper noun either (properNouns). Made-up sentences,
// hand-set tags.
func TestMoreClosedWordsOfOtherLanguages(t *testing.T) {
	for _, c := range []struct {
		text string
		runs []string
		want []string
	}{
		{"Merci pour tout.\n\nBien à toi,\nÉlodra", []string{"PER:Bien"}, []string{"Élodra/PERSON"}},
		{"Sehr geehrte Damen und Herren,\n\nbitte beachten", []string{"PER:Damen", "PER:Herren"}, nil},
		{"Til stede: Brankel Vosso", []string{"PER:Til", "PER:Brankel Vosso"}, []string{"Brankel Vosso/PERSON"}},
		{"Habari Kemo,\n\nAsante sana.\n\nWako,\nBrenda Kiplo", []string{"PER:Wako", "PER:Brenda Kiplo"}, []string{"Brenda Kiplo/PERSON", "Kemo/PERSON"}},
		{"Ứng dụng sẽ bảo trì vào Chủ Nhật.", []string{"LOC:Chủ Nhật"}, nil},
		{"نرجو الرد.\n\nمع التحية،\nسارة", []string{"PER:مع التحية"}, nil},
		{"Please ask Herren about it.", []string{"PER:Herren"}, []string{"Herren/PERSON"}},
		// an unlisted language or festival after a lower-case line start
		{"please check Quechua on the site", nil, nil},
		{"we ship after Nowruz this year", nil, nil},
		{"please check Brelvano on the site", nil, []string{"Brelvano/LOCATION"}},
	} {
		assert.Equal(t, c.want, runSpansOf(c.text, c.runs...), c.text)
	}
}
