package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFieldLabelsTypeTheirValues: a form's, a data file's or a log's label
// ("Vorname", "Ville", "city", "Lieferanschrift") is no name and no place
// where it stands as a label (before ":" or "=", as a JSON key, alone on its
// line, in a header row); it types the value after it — a given name or
// surname label makes a PERSON, a town, country or region label a LOCATION,
// whatever the tagger drew there or if it drew nothing — after "Label:",
// "key=", a JSON key, an XML tag and in a CSV/TSV/Markdown column under a
// header of labels. A generic name or role label ("Owner", "Name") types a
// value only when it reads as a name or the tagger found one; a value with a
// number (outside an address), an acronym, a sentence or an ordinary word
// alone is not typed. A tagger span is cut at cell separators and quotes.
// Every line is made up for this test (the names and towns are in no list);
// the tags stand for a draw of the tagger (runSpansOf).
func TestFieldLabelsTypeTheirValues(t *testing.T) {
	for _, c := range []struct {
		text string
		runs []string
		want []string
	}{
		// a label is no name; its value is typed by it
		{"Lieferanschrift\nwird nachgereicht", []string{"LOC:Lieferanschrift"}, nil},
		{"Prénom : Zorvane", []string{"PER:Prénom"}, []string{"Zorvane/PERSON"}},
		{"Vorname: Qemalo\nNachname: Dastani", nil, []string{"Dastani/PERSON", "Qemalo/PERSON"}},
		{"Region: Vastrelo", []string{"PER:Vastrelo"}, []string{"Vastrelo/LOCATION"}},
		{"Ciudad: Kastrelo, Brelvania", nil, []string{"Brelvania/LOCATION", "Kastrelo/LOCATION"}},
		// not in a label's place, a label word the tagger took stays
		{"I spoke with Vorname today.", []string{"PER:Vorname"}, []string{"Vorname/PERSON"}},
		// JSON, XML, key=value
		{`{"firstName":"Qemalo","city":"Kastrelo","plan":"Gold"}`, nil, []string{"Kastrelo/LOCATION", "Qemalo/PERSON"}},
		{"<row><name>Qemalo Dastani</name><city>Kastrelo</city></row>", nil, []string{"Kastrelo/LOCATION", "Qemalo Dastani/PERSON"}},
		{"user=Qemalo city=Kastrelo plan=Gold", nil, []string{"Kastrelo/LOCATION", "Qemalo/PERSON"}},
		// SQL: the column list types the VALUES; a span across the quotes is cut
		{"INSERT INTO guests (full_name, city, notes) VALUES ('Qemalo Dastani', 'Kastrelo', 'late');", []string{"LOC:notes) VALUES ('Qemalo Dastani', 'Kastrelo"}, []string{"Kastrelo/LOCATION", "Qemalo Dastani/PERSON"}},
		{"INSERT INTO guests (full_name, city) VALUES ('Dastani, Qemalo', 'Kastrelo');", nil, []string{"Dastani, Qemalo/PERSON", "Kastrelo/LOCATION"}},
		// columns under a header of labels; a span across cells is cut
		{"id,first_name,last_name,city\n7,Qemalo,Dastani,Kastrelo", nil, []string{"Dastani/PERSON", "Kastrelo/LOCATION", "Qemalo/PERSON"}},
		{"Vorname\tNachname\tStadt\nQemalo\tDastani\tKastrelo", []string{"LOC:Vorname\tNachname\tStadt"}, []string{"Dastani/PERSON", "Kastrelo/LOCATION", "Qemalo/PERSON"}},
		{"\"Name\";\"Ort\"\n\"Qemalo Dastani\";\"Kastrelo\"", []string{`PER:Qemalo Dastani";"Kastrelo`}, []string{"Kastrelo/LOCATION", "Qemalo Dastani/PERSON"}},
		{"| Owner | Task |\n|---|---|\n| Qemalo | Migrate the cluster |", nil, []string{"Qemalo/PERSON"}},
		// forms in capitals: a value ends at a gap or at the next label
		{"FROM: NAIROBI TO: LISBON", nil, []string{"LISBON/LOCATION", "NAIROBI/LOCATION"}},
		{"CUSTOMER NAME: QEMALO DASTANI   BRANCH: KASTRELO", nil, []string{"KASTRELO/LOCATION", "QEMALO DASTANI/PERSON"}},
		{"PASSENGER: DASTANI/QEMALO MR   SEAT: 23C", nil, []string{"DASTANI/QEMALO/PERSON"}},
		{"FROM: NAIROBI TO: LISBON", []string{"PER:NAIROBI TO"}, []string{"LISBON/LOCATION", "NAIROBI/LOCATION"}},
		{"- budget review (owner: Qemalo Dastani)", nil, []string{"Qemalo Dastani/PERSON"}},
		// the addressee first in an address stays a person
		{"Ship to: Qemalo Dastani, 12 Brelvo Road, Kastrelo", []string{"PER:Qemalo Dastani"}, []string{"12 Brelvo Road, Kastrelo/LOCATION", "Qemalo Dastani/PERSON"}},
		// a street the tagger read as a name, before no comma, is the address's ("No:" is part of it)
		{"Adres: Brelvo Bulvarı No: 45, 06420 Kastrelo", []string{"PER:Brelvo Bulvarı"}, []string{"Brelvo Bulvarı No: 45, 06420 Kastrelo/LOCATION"}},
		// cells of numbers and codes are nobody; a row's line break ends a cell
		{"ref,shade,stock\nZX-12,Velmoro,40", []string{"LOC:ZX-12,Velmoro,40"}, []string{"Velmoro/LOCATION"}},
		{"shade,stock,bin\nVelmoro,40,A\nBrelvan,12,B", []string{"LOC:Velmoro,40,A\nBrelvan"}, []string{"Brelvan/LOCATION", "Velmoro/LOCATION"}},
		// a plan, status, size or code is no name
		{"Tarif: Komfort Plus", []string{"PER:Komfort Plus"}, nil},
		// round 25: a listed place in a code, plan or colour value names the product, not where anyone is
		{"Tarif: Berlin Plus", []string{"LOC:Berlin"}, nil},
		{"sku,colour,stock\nZX-12,Vienna Blue,40", []string{"LOC:Vienna"}, nil},
		{"City: Vienna", []string{"LOC:Vienna"}, []string{"Vienna/LOCATION"}},
		// values that do not read as a name or a place
		{"Owner: Platform Team", nil, nil},
		{"Country: Other", nil, nil},
		{"Region: Kastrelo-1", nil, nil},
		{"region: EMEA", nil, nil},
		{"Notes from the city: the bins were late", nil, nil},
		{"After a long talk we finally agreed on a name: Brelvo", nil, nil},
		{"City: Kastrelo was flooded again", nil, nil}, // a sentence is left to the tagger
		{"Status: Closed\nCategory: Hardware", nil, nil},
	} {
		assert.Equal(t, c.want, runSpansOf(c.text, c.runs...), c.text)
	}
}
