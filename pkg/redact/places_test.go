package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// tagLine tags every word of text from the word first on as one PERSON run
// (the tagger reading a foreign clause as one name).
func tagLine(text, first string) map[string]string {
	m := map[string]string{}
	on := false
	for _, w := range strings.FieldsFunc(text, func(r rune) bool { return r == ' ' || r == ',' || r == '.' }) {
		if w == first {
			on = true
			m[w] = "B-PER"
			continue
		}
		if on {
			m[w] = "I-PER"
		}
	}
	return m
}

// TestPlacesByPosition (round 23, places.go): a listed place reads as a
// place in a list of places, after a place preposition of another
// language, and with a case ending whose stem is a listed place; made-up
// sentences, tags set by hand for what a tagger's draw may do.
func TestPlacesByPosition(t *testing.T) {
	for _, c := range []struct {
		name   string
		text   string
		tagged map[string]string
		want   []string
	}{
		// a list of places: every listed place in it is one, also a given name
		{"list", "Our depots are in Nevada, Idaho, Virginia and Montana.", map[string]string{"Nevada": "B-PER", "Virginia": "B-PER", "Montana": "B-PER"},
			[]string{"Idaho/LOCATION", "Montana/LOCATION", "Nevada/LOCATION", "Virginia/LOCATION"}},
		{"list read by the tagger", "Flights to Jordan, Nevada or Virginia", map[string]string{"Jordan": "B-LOC", "Virginia": "B-PER"},
			[]string{"Jordan/LOCATION", "Nevada/LOCATION", "Virginia/LOCATION"}},
		// a list of names that are places too: no clear place, they stay
		{"list of names", "Thanks to Virginia, Montana and Jordan for the help.", map[string]string{"Virginia": "B-PER", "Montana": "B-PER", "Jordan": "B-PER"},
			[]string{"Jordan/PERSON", "Montana/PERSON", "Virginia/PERSON"}},
		{"surnames", "Murphy and Mendoza signed it.", map[string]string{"Murphy": "B-PER", "Mendoza": "B-PER"}, []string{"Mendoza/PERSON", "Murphy/PERSON"}},
		// two items need a conjunction; an item of two words is no bare list
		{"two without conjunction", "Virginia, Idaho", map[string]string{"Virginia": "B-PER"}, []string{"Virginia/PERSON"}},
		{"two words after", "Idaho and Virginia Mendoza", map[string]string{"Virginia": "B-PER", "Mendoza": "I-PER"}, []string{"Virginia Mendoza/PERSON"}},
		{"two words", "Virginia Mendoza and Idaho", map[string]string{"Virginia": "B-PER", "Mendoza": "I-PER"}, []string{"Virginia Mendoza/PERSON"}},
		// a place preposition of another language
		{"nach", "Die Ware geht morgen nach Schweden.", nil, []string{"Schweden/LOCATION"}},
		{"in der", "Der Kurier ist schon in der Slowakei.", nil, []string{"Slowakei/LOCATION"}},
		{"à", "Le colis part à Toulouse demain.", map[string]string{"Toulouse": "B-PER"}, []string{"Toulouse/LOCATION"}},
		{"English in", "She works in Virginia today.", map[string]string{"Virginia": "B-PER"}, []string{"Virginia/PERSON"}},
		{"longer name", "Szkolenie odbędzie się w Sali Kominkowej.", nil, nil},
		{"possessive", "Liebe Grüße aus Virginia's Team", map[string]string{"Virginia": "B-PER"}, []string{"Virginia/PERSON"}},
		// a case ending whose stem is a listed place
		{"Polish -ie", "Spotkanie w Krakowie w piątek.", nil, []string{"Krakowie/LOCATION"}},
		{"Polish -a", "Jedziemy do Wrocławia jutro rano.", nil, []string{"Wrocławia/LOCATION"}},
		{"Polish -ie for -a", "Mieszkam teraz w Warszawie.", nil, []string{"Warszawie/LOCATION"}},
		{"Croatian -u", "Vidimo se sutra u Zagrebu.", nil, []string{"Zagrebu/LOCATION"}},
		{"Finnish -ssa", "Kokous on huomenna Espoossa.", nil, []string{"Espoossa/LOCATION"}},
		{"Finnish double vowel", "Juna lähtee Tampereelta kello kuusi.", nil, []string{"Tampereelta/LOCATION"}},
		{"Hungarian -ben", "A konferencia Debrecenben lesz.", nil, []string{"Debrecenben/LOCATION"}},
		{"Turkish apostrophe", "Yarın Ankara'dayım, görüşürüz.", nil, []string{"Ankara'dayım/LOCATION"}},
		{"English possessive", "Ankara's mayor spoke.", nil, nil},
		// no preposition before a Slavic ending; an English line; a stem
		// that is a given name; an unlisted stem
		{"no preposition", "Krakowie jest zimno.", nil, nil},
		{"English do", "Can you do Zagrebu and the rest of the list?", nil, nil},
		{"given-name stem", "Idę do Jordana po pracy.", nil, nil},
		// a listed surname is a surname, whatever its stem ("Baghdad" + "-i")
		{"surname", "Byłem wczoraj u Baghdadi w domu.", nil, nil},
		{"unlisted stem", "Jedziemy do Kominkowa jutro.", nil, nil},
		// a foreign clause read as one PERSON keeps only its name
		{"cut", "wczoraj byłam w Toruniu z Anną", tagLine("wczoraj byłam w Toruniu z Anną", "wczoraj"), []string{"Anną/PERSON", "Toruniu/LOCATION"}},
		{"cut, sentence start", "Spotkanie w Krakowie przesunięte.", tagLine("Spotkanie w Krakowie przesunięte.", "Spotkanie"), []string{"Krakowie/LOCATION"}},
	} {
		got := tagSpansOf(c.text, c.tagged)
		assert.ElementsMatch(t, c.want, got, c.name+": "+c.text)
	}
}

// TestPlaceStem: the case endings stripped before the place lookup.
func TestPlaceStem(t *testing.T) {
	for _, c := range []struct {
		w         string
		ok, local bool
	}{
		{"Gdyni", true, false},    // Gdynia, -i for -ia
		{"Lublinie", true, false}, // -ie
		{"Oulusta", true, true},   // Finnish elative
		{"Espoolle", true, true},
		{"Győrben", true, true},
		{"İstanbul'a", true, true},
		{"Lublin", false, false},    // the place itself: no ending to strip
		{"Paris's", false, false},   // English possessive
		{"Ankara's", false, false},  // of a place that is no name either
		{"Virginiae", false, false}, // a given name's stem
		{"Lub", false, false},       // too short
		{"Waie", false, false},      // a stem of two letters ("Wa", a listed town)
	} {
		ok, local := placeStem(c.w, false)
		assert.Equal(t, c.ok, ok, c.w)
		assert.Equal(t, c.local, local, c.w)
	}
}
