package redact

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// locSpansOf returns the PERSON and LOCATION candidates addTagSpans makes
// of text when a tagger's draw tags the tokens of its substring span as
// one LOCATION (B-LOC, then I-LOC) and every other token O.
func locSpansOf(text, span string) []string { return runSpansOf(text, "LOC:"+span) }

// TestAddressSpansStopWhereTheAddressStops: a LOCATION span a tagger's
// draw runs on past the place — into a signature, a person, an ordinary
// word, a code, a time, a remark in brackets or the next sentence — is cut
// where the address (street number, street and type, unit, postcode,
// city, region or country) stops, and a company or a person before the
// address is cut off its start; a person cut off is a PERSON. Addresses
// whose parts look like such ends (a state's code after a dash, a place
// with a bracket, a box number before a town, an abbreviation's dot, a
// country after a blank line, a town that is a surname) stay whole.
func TestAddressSpansStopWhereTheAddressStops(t *testing.T) {
	for _, c := range []struct {
		text, span string
		want       []string
	}{
		// a dash between spaces
		{"Send it to Kapelska 2, Zawidów, 74722 — Buddha", "Kapelska 2, Zawidów, 74722 — Buddha", []string{"Kapelska 2, Zawidów, 74722/LOCATION"}},
		{"Office: Szögliget 61595, Belgium – Vieve Poels", "Szögliget 61595, Belgium – Vieve Poels", []string{"Szögliget 61595, Belgium/LOCATION", "Vieve Poels/PERSON"}},
		{"Office: Aqani, Austria 8831 - Vieve Poels", "Aqani, Austria 8831 - Vieve Poels", []string{"Aqani, Austria 8831/LOCATION", "Vieve Poels/PERSON"}},
		{"Loja: Rua Augusta 1508, Consolação, São Paulo - SP, 01304-001", "Rua Augusta 1508, Consolação, São Paulo - SP, 01304-001", []string{"Rua Augusta 1508, Consolação, São Paulo - SP, 01304-001/LOCATION"}},
		// an opening bracket the span does not close
		{"Our team in Nepal (UTC+5:45) signs off early", "Nepal (UTC", []string{"Nepal/LOCATION"}},
		{"Flights land at Kangerlussuaq (SFJ) daily", "Kangerlussuaq (SFJ)", []string{"Kangerlussuaq (SFJ)/LOCATION"}},
		{"Nicosia office, Cyprus (Greek) 51034", "Cyprus (Greek) 51034", []string{"Cyprus (Greek) 51034/LOCATION"}},
		// a sentence's full stop; an abbreviation's dot stays
		{"We met in Babót. FYI Noviana will join", "Babót. FYI Noviana", []string{"Babót/LOCATION"}},
		{"Adresse: An der Evgl. Kirche 41b Bükkszenterzsébet 96221", "An der Evgl. Kirche 41b Bükkszenterzsébet 96221", []string{"An der Evgl. Kirche 41b Bükkszenterzsébet 96221/LOCATION"}},
		{"Meet at 12 Baker St. Quellbrunn", "12 Baker St. Quellbrunn", []string{"12 Baker St. Quellbrunn/LOCATION"}},
		{"Meet at 12 Baker St. Quellbrunn 4410", "12 Baker St. Quellbrunn 4410", []string{"12 Baker St. Quellbrunn 4410/LOCATION"}},
		// a word after the postcode that ends the address
		{"Krusty Krab, Finžgarjeva ulica 98c, Bókaháza, Uganda 5031 WFH today", "Finžgarjeva ulica 98c, Bókaháza, Uganda 5031 WFH", []string{"Finžgarjeva ulica 98c, Bókaháza, Uganda 5031/LOCATION"}},
		{"Zijlstrapark 325b Tisztaberek 4741 OP Mikail Humbert-Droz", "Zijlstrapark 325b Tisztaberek 4741 OP Mikail Humbert-Droz", []string{"Mikail Humbert-Droz/PERSON", "Zijlstrapark 325b Tisztaberek 4741 OP/LOCATION"}},
		{"NYÍRTÉT, Sweden 1072 Wonka", "NYÍRTÉT, Sweden 1072 Wonka", []string{"NYÍRTÉT, Sweden 1072/LOCATION"}},
		{"Tengőd 19504-6719 Wonka", "Tengőd 19504-6719 Wonka", []string{"Tengőd 19504-6719/LOCATION"}},
		{"Uplandsvej 78A Flat 196 7458 Szakoly USA Shristi Aryal", "Uplandsvej 78A Flat 196 7458 Szakoly USA Shristi Aryal", []string{"Shristi Aryal/PERSON", "Uplandsvej 78A Flat 196 7458 Szakoly USA/LOCATION"}},
		// a number after a unit or street word, or after a street's name,
		// is no postcode; a house number (three digits) is none either
		{"Mail: P.O. Box 1089 Rakacaszend", "P.O. Box 1089 Rakacaszend", []string{"P.O. Box 1089 Rakacaszend/LOCATION"}},
		{"Moved to 64 Avenue Vaneau 66881 Dunapataj", "64 Avenue Vaneau 66881 Dunapataj", []string{"64 Avenue Vaneau 66881 Dunapataj/LOCATION"}},
		{"Adresa: Kobylákova 123 Csány", "Kobylákova 123 Csány", []string{"Kobylákova 123 Csány/LOCATION"}},
		{"Delivery 97350 393 Geneva Ports", "97350 393 Geneva Ports", []string{"97350 393 Geneva Ports/LOCATION"}},
		{"Unit 7, Riverside Industrial Estate\nDock Road\nTilbury RM18 7EH\nUnited Kingdom", "Unit 7, Riverside Industrial Estate\nDock Road\nTilbury RM18 7EH\nUnited Kingdom", []string{"Unit 7, Riverside Industrial Estate\nDock Road\nTilbury RM18 7EH\nUnited Kingdom/LOCATION"}},
		// a time
		{"Pick-up at 12 Main Street 14:30 sharp", "12 Main Street 14:30", []string{"12 Main Street/LOCATION"}},
		// a person's line under the address; a town that is a surname stays
		{"Deliver to\n55 Clarke Avenue\nGareth Hughes", "55 Clarke Avenue\nGareth Hughes", []string{"55 Clarke Avenue/LOCATION", "Gareth Hughes/PERSON"}},
		{">3369 24 Clarke Avenue\n>Apt. 805\n>Pines Beach\n>New Zealand 34694", "3369 24 Clarke Avenue\n>Apt. 805\n>Pines Beach\n>New Zealand 34694", []string{"3369 24 Clarke Avenue\n>Apt. 805\n>Pines Beach\n>New Zealand 34694/LOCATION"}},
		// a blank line before words that are no address
		{"55275 Geigergasse 20a\nMARIAGER\nChina\n\nMaxfuza Nojeem", "55275 Geigergasse 20a\nMARIAGER\nChina\n\nMaxfuza Nojeem", []string{"55275 Geigergasse 20a\nMARIAGER\nChina/LOCATION", "Maxfuza Nojeem/PERSON"}},
		{"Sven\n\n85199 Avda. Rio Nalon 58\n Apt. 461\n Soto del Barco\n\n Spain 61709", "85199 Avda. Rio Nalon 58\n Apt. 461\n Soto del Barco\n\n Spain 61709", []string{"85199 Avda. Rio Nalon 58\n Apt. 461\n Soto del Barco\n\n Spain 61709/LOCATION"}},
		// the sentence going on in lower case; particles stay
		{"The parcel went to 12 Main Street and then we waited", "12 Main Street and then we waited", []string{"12 Main Street/LOCATION"}},
		{"Ship it to 862 Chemin des Navaux", "862 Chemin des Navaux", []string{"862 Chemin des Navaux/LOCATION"}},
		{"Write to Rue de la Paix 12, Paris", "Rue de la Paix 12, Paris", []string{"Rue de la Paix 12, Paris/LOCATION"}},
		// a company's or a person's line above the address, a person
		// before a comma and the house number
		{"Bluth Company\n5419 Jamie Villages", "Bluth Company\n5419 Jamie Villages", []string{"5419 Jamie Villages/LOCATION"}},
		{"Krusty Krab\nFinžgarjeva ulica 98c, Bókaháza", "Krusty Krab\nFinžgarjeva ulica 98c, Bókaháza", []string{"Finžgarjeva ulica 98c, Bókaháza/LOCATION"}},
		{"Vieve Poels, 56934 40558 River Road Tengőd 19504-6719", "Vieve Poels, 56934 40558 River Road Tengőd 19504-6719", []string{"56934 40558 River Road Tengőd 19504-6719/LOCATION", "Vieve Poels/PERSON"}},
		{"Aleea Romeo, Bloc 80, Apt 514, 691718 Vestbjerg", "Aleea Romeo, Bloc 80, Apt 514, 691718 Vestbjerg", []string{"Aleea Romeo, Bloc 80, Apt 514, 691718 Vestbjerg/LOCATION"}},
		{"Springfield\n12 Main Street", "Springfield\n12 Main Street", []string{"Springfield\n12 Main Street/LOCATION"}},
		// a line above the address that holds a place word is no company's
		// line to cut off, even with a company word beside it: its place
		// would be left in the clear
		{"Paris Company\n5419 Jamie Villages\nLeeds", "Paris Company\n5419 Jamie Villages\nLeeds", []string{"Paris Company\n5419 Jamie Villages\nLeeds/LOCATION"}},
		// places without an address keep their words
		{"She flew to Buenos Aires yesterday", "Buenos Aires", []string{"Buenos Aires/LOCATION"}},
		{"Sede: Neustift an der Lafnitz 12", "Neustift an der Lafnitz 12", []string{"Neustift an der Lafnitz 12/LOCATION"}},
		{"HQ: 1600 Pennsylvania Avenue NW, Washington, DC 20500", "1600 Pennsylvania Avenue NW, Washington, DC 20500", []string{"1600 Pennsylvania Avenue NW, Washington, DC 20500/LOCATION"}},
	} {
		assert.Equal(t, c.want, locSpansOf(c.text, c.span), "%q", c.text)
	}
}
