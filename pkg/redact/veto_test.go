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

// Two or three capitalised words no list knows as a place (or anything
// else) are a person, even where a preposition made the tagger read a
// place; known places and places with a place word stay places.
func TestNameNotPlace(t *testing.T) {
	for _, c := range []struct{ text, span string }{
		{"Message from Quelani Odrebu: running 10 min late.", "Quelani Odrebu"},
		{"Send the signed contract to Ivaska Muldrene, she signs for us.", "Ivaska Muldrene"},
	} {
		assert.Equal(t, []string{c.span}, found(New(), c.text, nil, Person), c.text)
		assert.Empty(t, found(New(), c.text, nil, Location), c.text)
	}
	for _, c := range []struct{ text, span string }{
		{"We are stuck near Buenos Aires today.", "Buenos Aires"},
		{"They moved to Port Hawkesbury last year.", "Port Hawkesbury"},
		{"The office moved to San Jose last year.", "San Jose"},
	} {
		ts, a, b := tokensOf(t, c.text, c.span)
		assert.False(t, nameNotPlace(ts[a:b+1]), c.span)
		assert.Equal(t, []string{c.span}, found(New(), c.text, nil, Location), c.text)
	}
	ts, a, b := tokensOf(t, "from Gillo M. Zago today", "Gillo M. Zago")
	assert.True(t, nameNotPlace(ts[a:b+1]), "a middle initial")
}

// An agenda's enumeration ("2) Teams 3) AOB") is no address.
func TestEnumerationIsNoPlace(t *testing.T) {
	for _, text := range []string{
		"Agenda: 1) Forecast 2) Teams 3) AOB",
		"Agenda: 1) Headcount 2) Dropbox 3) AOB",
	} {
		assert.Empty(t, found(New(), text, nil, Location), text)
	}
	assert.Contains(t, found(New(), "Agenda (v2): ship to 12 Baker Street, London", nil, Location), "London")
}

// A weekday or a month alone is nobody's name, unless it is a given name.
func TestWeekdayIsNoPerson(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"WFH Tue, back in the office Monday.", false},
		{"Monday", false},
		{"June", true},
	} {
		ts := ner.Tokenize(c.text, nil)
		for i := range ts {
			if ts[i].Kind == ner.KWord && ts[i].Shape == ner.ShCap && c.text[ts[i].S:ts[i].E] != "WFH" {
				assert.Equal(t, c.want, plausible(ts[i:i+1], prevTok(ts, i), Person, true), c.text[ts[i].S:ts[i].E])
			}
		}
	}
	assert.Empty(t, found(New(), "WFH Tue, back in the office Monday.", nil, Person))
}

// A capitalised word that no list knows, right after a name on the same
// line, is the name's surname: "Orlevi Tamsune McKorvath" is one person.
func TestUnknownSurnameJoinsName(t *testing.T) {
	text := "Escalation: Orlevi Tamsune McKorvath threatened to cancel the plan."
	assert.Equal(t, []string{"Orlevi Tamsune McKorvath"}, found(New(), text, nil, Person))
	// words some list knows stay out ("Tomorrow": a weekday word; "Berlin": a place)
	ts := ner.Tokenize("Ask Anna Tomorrow and Anna Berlin", nil)
	assert.False(t, surnameAfter(ts, 1), "Tomorrow")
	assert.False(t, surnameAfter(ts, 4), "Berlin")
}

// A name the tagger reads as a one-word place after a preposition takes
// its unknown surname along and becomes a PERSON: the surname no longer
// survives ("loop in <LOCATION> Skiraestrup" was the known failure).
func TestNameReadAsPlaceKeepsSurname(t *testing.T) {
	text := "Please loop in Yzzutho Skiraestrup before Friday."
	assert.Equal(t, []string{"Yzzutho Skiraestrup"}, found(New(), text, nil, Person))
	assert.Empty(t, found(New(), text, nil, Location))
	// a known place and the capitalised word after it stay apart
	assert.Contains(t, found(New(), "We met in Berlin Yesterday evening.", nil, Location), "Berlin")
}

// The number of a ticket key ("ENG-878") is no house number: a name after
// the key is not read as a street address that starts with it.
func TestKeyNumberStartsNoPlace(t *testing.T) {
	for _, c := range []struct{ text, name string }{
		{"ref DATA-387 Quelani Odrebu (contractor, Legal) asked for a laptop", "Quelani Odrebu"},
		{"Blocked by ENG-878 Ivaska Muldrene (intern, Design) waiting on Figma", "Ivaska Muldrene"},
		{"Duplicate of SUP-5033 Thorvo Baskine (new hire, Finance) wants Slack", "Thorvo Baskine"},
	} {
		for _, typ := range []string{Person, Location} {
			for _, sp := range found(New(), c.text, nil, typ) {
				assert.NotRegexp(t, `[0-9]`, sp, "%s: %s span %q", c.text, typ, sp)
			}
		}
		assert.Equal(t, []string{c.name}, found(New(), c.text, nil, Person), c.text)
	}
	assert.Equal(t, []string{"221 Baker Street"}, found(New(), "ship it to 221 Baker Street today", nil, Location))
}

// A single capitalised word no list knows is read from the words around it
// (round 4's context features and training frames): the first object of a
// verb with two objects is a person, a word after a verb of moving a place;
// a compound surname joined by a particle stays one name.
func TestUnknownWordFromContext(t *testing.T) {
	for _, c := range []struct{ text, typ, span string }{
		{"I still owe Zoravek a lunch for the migration.", Person, "Zoravek"},
		{"Can you send Brelunda the slides before standup?", Person, "Brelunda"},
		{"Quick update: Tomas relocated to Vrastemund last spring.", Location, "Vrastemund"},
		{"My sister grew up in Oskelbaai and still visits.", Location, "Oskelbaai"},
		{"The invoice goes to Idoya Garmendi de los Urrutios, finance.", Person, "Idoya Garmendi de los Urrutios"},
	} {
		assert.Contains(t, found(New(), c.text, nil, c.typ), c.span, c.text)
	}
}

// A name followed by a legal form or "& Sons" is an organisation's: no
// PERSON or LOCATION, while the people and places around it stay.
func TestLegalFormMakesAnOrganisation(t *testing.T) {
	for _, c := range []struct{ text, org, keep string }{
		{"Warm wishes,\nAkorfa\nSoylent Corp", "Soylent", "Akorfa"},
		{"Warm wishes,\nSafira\nEldorov LLC\nOur office is in Nechanice.", "Eldorov", "Safira"},
		{"Handover from Tiril Mertoğlu: the keys are with De Fazio & Sons.", "Fazio", "Tiril"},
		{"Invoice from Brankovar Holdings for the Lisbon workshop, approved by Ama Owusu.", "Brankovar", "Ama Owusu"},
		{"Contract signed with Kestrova Ltd in Tallinn.", "Kestrova", "Tallinn"},
	} {
		spans := append(found(New(), c.text, nil, Person), found(New(), c.text, nil, Location)...)
		for _, sp := range spans {
			assert.NotContains(t, sp, c.org, c.text)
		}
		assert.Contains(t, strings.Join(spans, "|"), c.keep, c.text)
	}
}

// A hyphenated compound of English words with a function word ("Check-in",
// "sign-off") or without a listed name among its parts ("team-building")
// is a phrasal noun, not a name or a place; a hyphenated given name and a
// double-barrelled surname of words the name lists hold stay names.
func TestDictionaryCompoundIsNoName(t *testing.T) {
	for _, c := range []struct {
		word string
		want bool
	}{
		{"Check-in", true}, {"sign-off", true}, {"Heads-up", true}, {"add-on", true},
		{"team-building", true}, {"Kick-off", true}, {"roll-out", true},
		{"Rose-Marie", false}, {"Jean-Paul", false}, {"Lane-Fox", false}, {"Fine-tune", false},
		{"Humbert-Droz", false}, {"Niroula-Quliyev", false}, {"Checkin", false},
		{"In-ho", false}, {"Baton-Rouge", false}, // listed whole: a Korean given name, a city
	} {
		text := "see " + c.word + " today"
		ts, a, b := tokensOf(t, text, c.word)
		assert.Equal(t, a, b, c.word)
		assert.Equal(t, c.want, dictCompound(text, &ts[a]), c.word)
	}
	for _, c := range []struct {
		text   string
		people []string
	}{
		{"Check-in opens at 3pm, ask Amara Osei for the keys.", []string{"Amara Osei"}},
		{"Sign-off from legal is still pending.", nil},
		{"Heads-up: the build is red again, Priya is on it.", []string{"Priya"}},
		{"Check-in: Yusuf, Follow-up: Ines", []string{"Yusuf", "Ines"}},
		{"Lane-Fox and Rose-Marie joined the call.", []string{"Lane-Fox", "Rose-Marie"}},
	} {
		assert.Equal(t, c.people, found(New(), c.text, nil, Person), c.text)
		assert.Empty(t, found(New(), c.text, nil, Location), c.text)
	}
}
