package redact

import (
	"strings"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// Round 21: names of organisations, rooms, buildings, products and dishes.
// A capitalised word or two beside a noun that names a kind of place of
// business, room, department, product or dish is that thing's name, not a
// person and not a place: "Paris Bakery", "the Verona Suite", "Oslo Floor
// Lamp", "Caesar Salad", "Raum Elbe", "la Sala Goya", "Service Juridique".
// This extends round 5's legal-form rule ("Soylent Corp": legalForm,
// names.go) from legal forms to the head nouns of such names; like it, it
// reads only the span and the word next to it.
//
// The head lists are closed classes of common nouns written down by
// language (English, German, French, Spanish, Portuguese, Italian, Dutch,
// Polish, Scandinavian), not taken from any corpus; folded to lower case.

// headFinal are the head nouns written after the name they head ("Paris
// Bakery", "Verona Suite", "Stora Salen", "Oslo Floor Lamp").
//
// Left out: nouns of places a person may live at or be found at as an
// address (street types, Park, Square, Station, Airport, Bridge, Tower,
// House, Church, Mountain: those are places), nouns that follow a name as
// often as a thing ("Group", "Bank", "Board", "Table", "Unit").
var headFinal = wordSet(`
	bakery pharmacy clinic hospital hotel hostel motel café cafe cafeteria restaurant bistro brasserie pub tavern diner
	pizzeria trattoria kitchen canteen bar
	room rooms hall lab labs laboratory office team department dept ward wing studio suite lounge library gallery
	museum theatre theater cinema centre center campus academy store shop boutique supermarket salon spa gym garage
	warehouse factory boardroom auditorium atrium foyer reception helpdesk committee division programme program initiative
	lamp rug sofa couch stool armchair chair bench mattress pillow cushion blanket quilt curtain mug vase tote backpack
	hoodie jacket sweater jumper cardigan shirt loafer loafers sneaker sneakers sandal sandals
	salad soup stew curry pie tart cake gateau burger sandwich pizza pasta risotto casserole lasagne lasagna
	bookcase bookshelf wardrobe dresser sideboard cabinet wallet handbag scarf
	tagine stroganoff yoghurt yogurt mustard sauce
	saal kantine büro salen rummet köket kontoret`)

// thingHeads are the heads of headFinal and headFirst that name a room,
// a piece of furniture, a garment or a dish (round 25). A place word in
// such a name names the thing, not where it is: "the Florence Suite",
// "the Oslo Floor Lamp", "the Marseille Rug", "Black Forest Gateau",
// "Boardroom Kensington", "la Sala Goya", "Camisa Toledo" — nobody is in
// Florence because of a suite. The other heads name a place of business
// or a group that stands where its place word says ("the Paris Bakery",
// "Johannesburg warehouse", "London office", "Sofia Studio"): there the
// place is kept (emitHeaded). A room in a building, a product on a shelf
// and a dish on a menu are not at the place they are named after.
var thingHeads = wordSet(`
	room rooms suite boardroom lounge auditorium atrium foyer raum saal sala salle salão zaal aula
	lamp rug sofa couch stool armchair chair bench mattress pillow cushion blanket quilt curtain mug vase tote backpack
	hoodie jacket sweater jumper cardigan shirt loafer loafers sneaker sneakers sandal sandals
	bookcase bookshelf wardrobe dresser sideboard cabinet wallet handbag scarf
	camisa bolso bolsa vestido sandalias zapatos falda chaqueta
	salad soup stew curry pie tart cake gateau burger sandwich pizza pasta risotto casserole lasagne lasagna
	tagine stroganoff yoghurt yogurt mustard sauce`)

// roleHeads are thing heads that also name a role a person holds ("Chair",
// "Bench"): a given name before them keeps its guard.
var roleHeads = wordSet(`chair bench`)

// headFirst are the head nouns written before the name they head in the
// Romance languages, German, Dutch and Polish, and in English room and
// project names ("Raum Elbe", "Sala Goya", "Salle du Conseil",
// "Departamento de Compras", "Room Kilimanjaro", "Hotel Adlon", "Project
// Juno").
var headFirst = wordSet(`
	raum saal sala salle salão zaal aula room boardroom studio hotel hôtel restaurant
	camisa bolso bolsa vestido sandalias zapatos falda chaqueta
	ufficio oficina departamento departament département dipartimento dział biuro
	servizio servicio serviço service direction dirección direzione direção diretoria segreteria secretaría secrétariat
	equipo equipa équipe squadra comité comitato comisión comissão
	project projekt proyecto progetto projet projeto`)

// headArticles are the articles and place prepositions before a room's
// name ("la Sala Goya", "im Raum Elbe", "in Zaal Rembrandt"): a head word
// that is also a listed given name or surname ("Sala", "Zaal", "Salle")
// counts before a name only after one of them.
var headArticles = wordSet(`the in at la le el en im na no pra nella alla dans i w der die das den dem het à au em`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// headWord reports whether t is a title-case word of the head list m.
func headWord(text string, t *ner.Token, m map[string]bool) bool {
	if t.Kind != ner.KWord || t.Shape != ner.ShCap || t.E-t.S > 24 {
		return false
	}
	var low [48]byte
	return m[string(foldTo(low[:0], text[t.S:t.E]))]
}

// nameFlagged reports whether t is a listed given name or surname.
func nameFlagged(t *ner.Token) bool { return t.Flags&(ner.FGiven|ner.FSurname) != 0 }

// headed reports whether the tagger span ts[a..b] names an organisation,
// room, product or dish by its head noun, and returns the span's other
// words (lo..hi) — the name the head noun heads. The head is the span's
// last word after another capitalised word, the word right after the span
// on its line, the span's first word before another capitalised word, or
// the word right before the span on its line. A head that is also a listed
// given name or surname ("Hall", "Ward", "Baker"-like words, "Sala")
// counts only when it cannot be the surname of a name: after a word some
// list knows as something other than a given name, never after a listed
// given name ("Sarah Hall", "Grace Hall" stay), and before a name only
// after an article or place preposition ("la Sala Goya").
func headed(text string, ts []ner.Token, a, b int) (lo, hi int, thing, ok bool) {
	capital := func(i int) bool { return i >= 0 && i < len(ts) && capWord(&ts[i]) }
	sameLine := func(i int) bool { return i > 0 && i < len(ts) && !ts[i].NL && ts[i].Space } // token i on the line of i-1
	// head after the name: the span's last word, or the next word
	final, lo, hi := -1, a, b
	if a < b && headWord(text, &ts[b], headFinal) {
		final, hi = b, b-1
	} else if sameLine(b+1) && headWord(text, &ts[b+1], headFinal) {
		final = b + 1
	}
	for hi > lo && ts[hi].Kind == ner.KPunct {
		hi--
	}
	if final >= 0 && capital(hi) && nameRun(text, ts, lo, hi) && finalHeadCounts(text, ts, lo, hi, final) {
		return lo, hi, headWord(text, &ts[final], thingHeads), true
	}
	// head before the name: the span's first capitalised word (after
	// lower-case words only: "la Salle Monet"), or the word before the span
	f := a
	for f < b && ts[f].Kind == ner.KWord && ts[f].Shape == ner.ShLower {
		f++
	}
	first, lo, hi := -1, a, b
	if f < b && headWord(text, &ts[f], headFirst) {
		first, lo = f, f+1
	} else if f == a && sameLine(a) && headWord(text, &ts[a-1], headFirst) {
		first = a - 1
	}
	if first < 0 || capitals(ts, lo, hi) == 0 || capitals(ts, lo, hi) > 3 || !nameRun(text, ts, lo, hi) {
		return 0, 0, false, false
	}
	if nameFlagged(&ts[first]) {
		p := first - 1
		if p < 0 || !sameLine(first) || ts[p].Kind != ner.KWord || ts[p].Shape != ner.ShLower || !headArticles[text[ts[p].S:ts[p].E]] {
			return 0, 0, false, false
		}
	}
	return lo, hi, headWord(text, &ts[first], thingHeads), true
}

// nameRun reports whether ts[lo..hi] reads as one name: capitalised words
// and initials, with only particles and function words in lower case
// between them ("du Conseil", "de Compras", "Verdi e la Sala Puccini"), on
// one line and without numbers. A span that goes on into a sentence
// ("Dział Kadr przeprowadzi szkolenie…") is no name a head noun heads.
func nameRun(text string, ts []ner.Token, lo, hi int) bool {
	for i := lo; i <= hi; i++ {
		t := &ts[i]
		switch {
		case i > lo && t.NL, t.Kind == ner.KNum:
			return false
		case t.Kind != ner.KWord, capWord(t), t.Shape == ner.ShInit:
		case t.Shape == ner.ShLower && (t.Flags&(ner.FParticle|ner.FFunc) != 0 || closedWord(text, t)):
		default:
			return false
		}
	}
	return true
}

// capitals counts the capitalised words of ts[lo..hi].
func capitals(ts []ner.Token, lo, hi int) int {
	n := 0
	for i := lo; i <= hi; i++ {
		if capWord(&ts[i]) {
			n++
		}
	}
	return n
}

// finalHeadCounts applies the name guards to a head written after the
// name ts[lo..hi]: the name is one or two capitalised words (a longer run
// may be a person's full name before an organisation's: "Ana Lima Sales
// Team"), and its first word is no listed given name that no place list
// holds ("Hope Team", "Sarah Hall" stay; "Paris Bakery" does not). A head
// that is also a listed given name or surname ("Hall", "Ward", "Kitchen")
// counts only when the word before it is known to some list as something
// other than a name (an unlisted given name may stand there: "Adaeze
// Hall"). Before a thing head that names no role (round 25) a given name
// is no guard: a dish or a garment is named after a person, never headed
// by one ("Caesar Salad", "Peach Melba"-like names).
func finalHeadCounts(text string, ts []ner.Token, lo, hi, head int) bool {
	caps, firstGiven := 0, false
	for i := lo; i <= hi; i++ {
		if capWord(&ts[i]) {
			if caps == 0 {
				firstGiven = ts[i].Flags&ner.FGiven != 0 && ts[i].Flags&ner.FPlace == 0
			}
			caps++
		}
	}
	if firstGiven && headWord(text, &ts[head], thingHeads) && !headWord(text, &ts[head], roleHeads) {
		firstGiven = false
	}
	if caps > 2 || firstGiven {
		return false
	}
	if !nameFlagged(&ts[head]) {
		return true
	}
	return ts[hi].Flags&^(ner.FGiven|ner.FSurname) != 0
}

// emitHeaded adds, for a span that names an organisation, room, product or
// dish (headed), the listed places among the name's words as LOCATION
// spans ("Paris Bakery": "Paris"): no place word the tagger redacted leaks
// because it is part of a shop's name. The rest of the span goes.
func emitHeaded(s *scratch, tags []uint8, lo, hi int, doPerson, doLoc, cased bool) {
	for i := lo; i <= hi; i++ {
		if !capWord(&s.toks[i]) || s.toks[i].Flags&(ner.FPlace|ner.FPlacePre) == 0 || headWord(s.text, &s.toks[i], headFirst) || headWord(s.text, &s.toks[i], headFinal) {
			continue
		}
		j := i
		for j+1 <= hi && capWord(&s.toks[j+1]) && s.toks[j+1].Flags&(ner.FPlace|ner.FPlacePre) != 0 && s.toks[j+1].Space && !s.toks[j+1].NL &&
			!headWord(s.text, &s.toks[j+1], headFirst) && !headWord(s.text, &s.toks[j+1], headFinal) {
			j++
		}
		if listedPlace(s.toks[i : j+1]) {
			emitSpan(s, tags, i, j, Location, prioLoc, doPerson, doLoc, cased)
		}
		i = j
	}
}
