package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCodesPartsHolidaysAreNoPlaces (round 26): a tagger span that is a
// stock or model code, a name glued to a number by a hyphen, a sales
// region, a numbered part of a building or document, a holiday or a
// catalogue colour is no name and no place, and a field value of those
// kinds is not typed by its label; names and places that only share a
// shape with them stay. Every sentence and name is made up for this test;
// the tags are set by hand.
func TestCodesPartsHolidaysAreNoPlaces(t *testing.T) {
	for _, c := range []struct {
		text string
		runs []string
		want []string
	}{
		// a hyphenated word with a short part in capitals and one in lower case
		{"Stock moved to bay QX-Marvo today.", []string{"LOC:QX-Marvo"}, nil},
		{"The Velor T-Brisk sold out in a week.", []string{"PER:Velor T-Brisk"}, nil},
		{"The new Brasko Zent-E ships in May.", []string{"PER:Zent-E"}, nil},
		{"She met Anna-Lena Brask at noon.", []string{"PER:Anna-Lena Brask"}, []string{"Anna-Lena Brask/PERSON"}},
		{"We drove through Kastel-Brenn yesterday.", []string{"LOC:Kastel-Brenn"}, []string{"Kastel-Brenn/LOCATION"}},
		{"Our depot is on Bryn-Y-Velorn now.", []string{"LOC:Bryn-Y-Velorn"}, []string{"Bryn-Y-Velorn/LOCATION"}},
		{"PASSENGER DASTANI-QEMALO BOARDED.", []string{"PER:DASTANI-QEMALO"}, []string{"DASTANI-QEMALO/PERSON"}},
		// a listed name beside the code keeps the span
		{"Paid by QX-Pay Daniel yesterday.", []string{"PER:QX-Pay Daniel"}, []string{"QX-Pay Daniel/PERSON"}},
		// a code inside a span with a number may be an address's unit
		{"Deliver to 14 Vastrel Road QX-Marvo today.", []string{"LOC:14 Vastrel Road QX-Marvo"}, []string{"14 Vastrel Road QX-Marvo/LOCATION"}},
		// a word glued to a number by a hyphen
		{"The job runs in Brelvo-3 now.", []string{"LOC:Brelvo"}, nil},
		{"The job runs in Brelvo 3 now.", []string{"LOC:Brelvo"}, []string{"Brelvo/LOCATION"}},
		{"The key Brelvo-8821334455 expired.", []string{"LOC:Brelvo"}, []string{"Brelvo/LOCATION"}},
		{"Ask Brelvo Kastani-2 about it.", []string{"PER:Brelvo Kastani"}, []string{"Brelvo Kastani/PERSON"}},
		// sales regions
		{"Revenue in EMEA and APAC grew.", []string{"LOC:EMEA", "LOC:APAC"}, nil},
		{"Our office in OSLO opens today.", []string{"LOC:OSLO"}, []string{"OSLO/LOCATION"}},
		// numbered parts
		{"The printer on Level 3 is broken again.", []string{"LOC:Level 3"}, nil},
		{"See Clause 12B of the lease.", []string{"LOC:Clause 12B"}, nil},
		{"Ship it to Vastrel 3 please.", []string{"LOC:Vastrel 3"}, []string{"Vastrel 3/LOCATION"}},
		// holidays
		{"We close on Whit Monday and on Boxing Day.", []string{"PER:Whit Monday", "PER:Boxing Day"}, nil},
		{"The office shuts on Queen's Day.", []string{"PER:Day"}, nil},
		{"Ask Doris Day about it.", []string{"PER:Doris Day"}, []string{"Doris Day/PERSON"}},
		{"Ring Brasko Friday about the lease.", []string{"PER:Brasko Friday"}, []string{"Brasko Friday/PERSON"}},
		{"Book Kelvar, Monday at ten.", []string{"LOC:Kelvar, Monday"}, []string{"Kelvar, Monday/LOCATION"}},
		{"Meet at Vastrel, Day two of the fair.", []string{"LOC:Vastrel, Day"}, []string{"Vastrel, Day/LOCATION"}},
		{"Call Maria Friday about the lease.", []string{"PER:Maria Friday"}, []string{"Maria Friday/PERSON"}},
		// catalogue colours; a colour word that is a listed name stays
		{"The chair comes in Charcoal or Taupe.", []string{"LOC:Charcoal", "LOC:Taupe"}, nil},
		{"Ask Ruby about the chair.", []string{"PER:Ruby"}, []string{"Ruby/PERSON"}},
		// field values
		{"region,units\nAPAC,12\nLATAM,7", nil, nil},
		{"region: Brelvo-2\nreplicas: 3", nil, nil},
		{"region: Kastrelo\nreplicas: 3", nil, []string{"Kastrelo/LOCATION", "Kastrelo/LOCATION"}}, // the place finder's span and the value's, merged later
	} {
		assert.Equal(t, c.want, runSpansOf(c.text, c.runs...), c.text)
	}
}
