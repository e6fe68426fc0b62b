package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHeadNounsNameThings: a capitalised word or two before a head noun of
// an organisation, room, facility, product or dish ("… Bakery", "…
// Lounge", "… Salad"), or after a head noun of a language that writes it
// first ("Raum …", "la Salle …", "Departamento de …"), is that thing's
// name: no PERSON, and no LOCATION except for a listed place inside it,
// which stays redacted ("Paris Bakery": "Paris"). A head that is also a
// surname does not count after a listed given name or a word no list
// knows ("Sarah Hall", "Qemalo Hall"); no head counts after a listed given
// name ("Maria Team"), after three capitalised words, on the next line,
// or when the span runs on into a sentence. Every sentence is made up for
// this test; the tags stand for a draw of the tagger (runSpansOf).
func TestHeadNounsNameThings(t *testing.T) {
	for _, c := range []struct {
		text string
		runs []string
		want []string
	}{
		// head after the name, inside the span or right after it
		{"Order from Zorvik Pharmacy before noon.", []string{"PER:Zorvik Pharmacy"}, nil},
		{"Coffee in the Kelmora Lounge after lunch.", []string{"PER:Kelmora"}, nil},
		{"Today: Brelvan Salad and a soup.", []string{"PER:Brelvan Salad"}, nil},
		// a listed place inside the name stays redacted
		{"Order from Paris Bakery before noon.", []string{"PER:Paris Bakery"}, []string{"Paris/LOCATION"}},
		{"Parcel for the Leeds Pharmacy counter.", []string{"LOC:Leeds"}, []string{"Leeds/LOCATION"}},
		{"The Oslo Floor Lamp is back in stock.", []string{"LOC:Oslo Floor Lamp"}, nil}, // round 25: a lamp is not in Oslo
		// surname guards
		{"Meet Sarah Hall at noon.", []string{"PER:Sarah Hall"}, []string{"Sarah Hall/PERSON"}},
		{"Qemalo Hall joins on Monday.", []string{"PER:Qemalo Hall"}, []string{"Qemalo Hall/PERSON"}},
		{"I told Maria Team lunch moved.", []string{"PER:Maria"}, []string{"Maria/PERSON"}},
		{"cc Kiremo Dastani Velu Office hours", []string{"PER:Kiremo Dastani Velu"}, []string{"Kiremo Dastani Velu/PERSON"}},
		{"Signed for by Zorvik PHARMACY dept", []string{"PER:Zorvik"}, []string{"Zorvik/PERSON"}}, // a head counts in title case only
		{"Thanks,\nZorvik\nPharmacy opens at nine", []string{"PER:Zorvik"}, []string{"Zorvik/PERSON"}},
		// head before the name
		{"Die Schulung ist im Raum Trelbo.", []string{"PER:Raum Trelbo"}, nil},
		{"Raum Trelbo kommt morgen.", []string{"PER:Raum Trelbo"}, []string{"Raum Trelbo/PERSON"}},
		{"Rappel : la Salle Vormand est réservée.", []string{"LOC:la Salle Vormand"}, nil},
		{"El Departamento de Compras revisará la factura.", []string{"PER:Departamento de Compras"}, nil},
		{"Please reserve Studio Kelmora for Friday.", []string{"PER:Kelmora"}, nil},
		// a head word inside the name is no place to keep ("Sala" is a listed town)
		{"Ci vediamo nella Sala Trelbo e nella Sala Vormand.", []string{"PER:Sala Trelbo e nella Sala Vormand"}, nil},
		// a span that runs on into a sentence is left as drawn
		{"Project Zelt meets Anna Kowal", []string{"PER:Project Zelt meets Anna Kowal"}, []string{"Project Zelt meets Anna Kowal/PERSON"}},
	} {
		assert.Equal(t, c.want, runSpansOf(c.text, c.runs...), c.text)
	}
}

// TestThingHeadsKeepNoPlace (round 25): a place word that names a room, a
// piece of furniture, a garment or a dish names the thing, not where it is,
// and is not redacted ("the Vienna Suite", "Boardroom Lisbon"); a place
// word that names a shop, office or warehouse stays ("our Lisbon
// Warehouse"). A listed given name before a dish or a garment is no guard
// ("Hugo Salad"), before a head that is also a role it is ("Hugo Chair").
// Made-up sentences; the tags stand for a draw of the tagger.
func TestThingHeadsKeepNoPlace(t *testing.T) {
	for _, c := range []struct {
		text string
		runs []string
		want []string
	}{
		{"Heating in the Vienna Suite is off again.", []string{"LOC:Vienna"}, nil},
		{"New this week: the Lisbon Rug in grey.", []string{"LOC:Lisbon"}, nil},
		{"Dessert is Vienna Gateau with cream.", []string{"LOC:Vienna"}, nil},
		{"Please book Boardroom Lisbon for Friday.", []string{"LOC:Lisbon"}, nil},
		{"Die Schulung ist im Raum Wien.", []string{"LOC:Wien"}, nil},
		{"Ship it to our Lisbon Warehouse today.", []string{"LOC:Lisbon"}, []string{"Lisbon/LOCATION"}},
		{"Lunch today: Hugo Salad, then cake.", []string{"PER:Hugo Salad"}, nil},
		{"Vote for Hugo Chair of the club.", []string{"PER:Hugo"}, []string{"Hugo/PERSON"}},
		{"Back in stock: the Kelmora Bookcase.", []string{"PER:Kelmora"}, nil},
		{"Stir in the Tervin Yoghurt last.", []string{"PER:Tervin Yoghurt"}, nil},
		{"Novedades: Bolso Trelvo en negro.", []string{"PER:Bolso Trelvo"}, nil},
	} {
		assert.Equal(t, c.want, runSpansOf(c.text, c.runs...), c.text)
	}
}

// TestShopAboveAnAddress: the brief's case end to end through the shipped
// model — a shop's name on the line above an address is no person; the
// listed place in it stays redacted.
func TestShopAboveAnAddress(t *testing.T) {
	r := New()
	got := r.Redact("Paris Bakery\n12 Oak Road, Leeds", nil)
	assert.Equal(t, "<LOCATION> Bakery\n<LOCATION>, <LOCATION>", got.Text)
}
