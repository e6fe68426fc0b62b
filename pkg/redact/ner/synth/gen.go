package synth

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// Entity labels of generated spans (Presidio's names).
const (
	Person   = "PERSON"
	Location = "LOCATION"
	fill     = "fill"
)

// Span is a labelled entity in byte offsets.
type Span struct {
	Start, End int
	Type       string
}

// Text is one generated text and its entities.
type Text struct {
	Text  string
	Spans []Span
	// Fill are the spans of filler words (random dictionary words); they
	// are not entities and stay out of the tagger's vocabulary.
	Fill []Span
}

// Generator fills templates from material.
type Generator struct {
	r         *rand.Rand
	m         *Material
	templates []string
	fill      fillers
	// SyllableShare of names are made up from syllables (not in any list).
	SyllableShare float64
	// LowerShare of texts are written all in lower case.
	LowerShare float64
	// ContextShare of template parts are context templates: made-up
	// products, organisations and features spelt like the made-up names
	// (syllables), and capitalised common words, where names also stand —
	// none of them an entity, so that context rather than the word decides.
	ContextShare float64
	// OrgRefill makes Refill also replace a corpus text's ORGANIZATION
	// spans, in the corpus's own sentences, with another organisation or
	// product: a real one of the shipped product list, one made of
	// dictionary words, or one spelt from syllables like the made-up names
	// (a third each). They are no entity and, like template fillers, stay
	// out of the tagger's vocabulary.
	OrgRefill bool
}

// fillers are the non-entity values (products, organisations, ...).
type fillers struct {
	products, orgs, teams, words []string
}

// NewTraining returns the generator of training texts.
func NewTraining(m *Material, seed uint64) *Generator {
	tpl := append(append(append([]string{}, trainTemplates...), workTemplates...), workTemplates...)
	return &Generator{r: rand.New(rand.NewPCG(seed, 11)), m: m, templates: tpl,
		fill: fillers{trainProducts, trainOrgs, trainTeams, trainWords}, SyllableShare: 0.3, LowerShare: 0.04}
}

// NewHeldOut returns the generator of held-out texts (other templates,
// other fillers, no made-up names).
func NewHeldOut(m *Material, seed uint64) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, 13)), m: m, templates: heldoutTemplates,
		fill: fillers{heldoutProducts, heldoutOrgs, heldoutTeams, heldoutWords}}
}

func (g *Generator) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// person is one generated person.
type person struct {
	given, surname string
}

func (g *Generator) person() person {
	if g.SyllableShare > 0 && g.r.Float64() < g.SyllableShare {
		return person{syllableName(g.r, true), syllableName(g.r, false)}
	}
	c := g.pick(g.m.Cultures)
	p := person{g.pick(g.m.Given[c]), g.pick(g.m.Surnames[c])}
	if g.r.IntN(6) == 0 { // mixed families, second-generation names
		p.surname = g.pick(g.m.Surnames[g.pick(g.m.Cultures)])
	}
	return p
}

func (g *Generator) fullName(p person) string {
	switch n := g.r.IntN(40); {
	case n < 2:
		return p.given + " " + string([]rune(g.person().given)[0:1]) + ". " + p.surname
	case n < 3:
		return p.given + " " + g.person().given + " " + p.surname
	case n < 4:
		return p.given + " " + p.surname + "-" + g.person().surname
	case n < 5:
		return strings.ToUpper(p.given + " " + p.surname)
	case n < 7: // compound surnames joined by a particle ("Espinosa de los Monteros", "Silva dos Santos")
		return p.given + " " + p.surname + " " + g.pick(surnameJoins) + " " + g.person().surname
	}
	return p.given + " " + p.surname
}

func (g *Generator) address() string {
	a := g.m.Addresses[g.r.IntN(len(g.m.Addresses))]
	street := a.Street
	if g.r.IntN(5) == 0 { // a building or lot number before the street
		street = fmt.Sprint(1+g.r.IntN(99999)) + " " + street
	}
	if g.r.IntN(10) == 0 {
		street = "P.O. Box " + fmt.Sprint(1+g.r.IntN(9999))
	}
	var parts []string
	parts = append(parts, street)
	if g.r.IntN(4) == 0 {
		parts = append(parts, g.pick([]string{"Apt ", "Apt. ", "Suite ", "Unit ", "Flat ", "Floor ", "Room ", "Ste "})+fmt.Sprint(1+g.r.IntN(999)))
	}
	city := a.City
	if city == "" || g.r.IntN(5) == 0 {
		city = g.pick(g.m.Cities)
	}
	if g.r.IntN(5) == 0 {
		city = strings.ToUpper(city)
	}
	region := a.Region
	if !latin(region) {
		region = ""
	}
	pc := a.Postcode
	country := ""
	if g.r.IntN(3) == 0 {
		country = g.pick(g.m.Countries)
	}
	switch g.r.IntN(6) {
	case 0: // US style: City, ST 12345
		if region != "" {
			parts = append(parts, city+", "+region+" "+pc)
		} else {
			parts = append(parts, city+" "+pc)
		}
	case 1: // continental: 12345 City
		parts = append(parts, pc+" "+city)
	case 2: // city, then country and postcode
		parts = append(parts, city)
		if country == "" {
			country = g.pick(g.m.Countries)
		}
		parts = append(parts, country+" "+pc)
		country = ""
	case 3:
		parts = append(parts, city)
	case 4:
		parts = append(parts, city, pc)
	default:
		if g.r.IntN(2) == 0 {
			parts = parts[:1] // the street alone
		} else {
			parts = append(parts, city)
		}
	}
	if country != "" {
		parts = append(parts, country)
	}
	sep := g.pick([]string{", ", ", ", ", ", " ", "\n", "\n ", "\n> ", ",\n"})
	return strings.Join(parts, sep)
}

func handleOf(p person, r *rand.Rand) string {
	g, s := asciiLower(p.given), asciiLower(p.surname)
	if g == "" || s == "" {
		return "user" + fmt.Sprint(r.IntN(1000))
	}
	switch r.IntN(5) {
	case 0:
		return g + "." + s
	case 1:
		return g[:1] + s
	case 2:
		return g + "_" + s[:1]
	case 3:
		return g
	}
	return g + s[:min(3, len(s))]
}

func asciiLower(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(ner.FoldString(s)) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Next returns one text of 1-3 filled templates.
func (g *Generator) Next() Text {
	var t Text
	var b strings.Builder
	parts := 1 + g.r.IntN(3)
	if g.r.IntN(3) == 0 {
		parts = 1
	}
	for i := 0; i < parts; i++ {
		if i > 0 {
			b.WriteString(g.pick([]string{" ", " ", "\n", "\n\n"}))
		}
		tpl := g.pick(g.templates)
		if g.ContextShare > 0 && g.r.Float64() < g.ContextShare {
			g.fillTemplate(g.pick(contextTemplates), &b, &t)
			continue
		}
		if len(g.m.Words) > 0 {
			switch g.r.IntN(10) {
			case 0:
				tpl = "{sentence} " + tpl
			case 1:
				tpl += " {sentence}"
			case 2:
				tpl = "{Words}\n" + tpl
			case 3:
				tpl = g.pick([]string{"{sentence} {sentence}", "{Words}", "{sentence} {words}.", "{Words}: {words}"})
			}
		}
		g.fillTemplate(tpl, &b, &t)
	}
	t.Text = b.String()
	if g.LowerShare > 0 && g.r.Float64() < g.LowerShare {
		t.Text = strings.ToLower(t.Text)
		if len(t.Text) != b.Len() { // a case change altered byte lengths
			return g.Next()
		}
	}
	return t
}

// fillTemplate writes tpl to b with every {slot} filled and labelled.
func (g *Generator) fillTemplate(tpl string, b *strings.Builder, t *Text) {
	people := map[string]person{}
	get := func(key string) person {
		if p, ok := people[key]; ok {
			return p
		}
		p := g.person()
		people[key] = p
		return p
	}
	for len(tpl) > 0 {
		i := strings.IndexByte(tpl, '{')
		if i < 0 {
			b.WriteString(tpl)
			return
		}
		b.WriteString(tpl[:i])
		j := strings.IndexByte(tpl[i:], '}')
		slot := tpl[i+1 : i+j]
		tpl = tpl[i+j+1:]
		// slot name and optional person key: name2, first2 refer to person 2
		key := "1"
		if n := len(slot); n > 0 && slot[n-1] >= '0' && slot[n-1] <= '9' {
			key, slot = slot[n-1:], slot[:n-1]
		}
		v, typ := g.value(slot, key, get)
		st := b.Len()
		b.WriteString(v)
		if typ == fill {
			t.Fill = append(t.Fill, Span{st, b.Len(), ""})
		} else if typ != "" && v != "" {
			t.Spans = append(t.Spans, Span{st, b.Len(), typ})
		}
	}
}

func (g *Generator) value(slot, key string, get func(string) person) (string, string) {
	switch slot {
	case "name":
		return g.fullName(get(key)), Person
	case "first":
		return get(key).given, Person
	case "last":
		return get(key).surname, Person
	case "name_lc":
		p := get(key)
		if g.r.IntN(2) == 0 {
			return strings.ToLower(p.given), Person
		}
		return strings.ToLower(p.given + " " + p.surname), Person
	case "first_lc":
		return strings.ToLower(get(key).given), Person
	case "handle":
		return handleOf(get(key), g.r), Person
	case "city":
		return g.pick(g.m.Cities), Location
	case "country":
		return g.pick(g.m.Countries), Location
	case "place":
		if g.r.IntN(3) == 0 {
			return g.pick(g.m.Countries), Location
		}
		return g.pick(g.m.Cities), Location
	case "addr":
		return g.address(), Location
	case "street":
		return g.m.Addresses[g.r.IntN(len(g.m.Addresses))].Street, Location
	case "words", "Words", "sentence":
		if len(g.m.Words) == 0 {
			return g.pick(g.fill.words), ""
		}
		n := 1 + g.r.IntN(4)
		if slot != "Words" {
			n = 2 + g.r.IntN(7)
		}
		ws := make([]string, n)
		for i := range ws {
			ws[i] = g.pick(g.m.Words)
			if slot == "Words" || (i == 0 && slot == "sentence") {
				ws[i] = strings.ToUpper(ws[i][:1]) + ws[i][1:]
			}
		}
		v := strings.Join(ws, " ")
		if slot == "sentence" {
			v += g.pick([]string{".", ".", ".", "?", "!", ":", ","})
		}
		return v, fill
	case "q":
		return g.pick([]string{"What's", "Who's", "Where's", "How's", "There's", "Here's", "It's", "That's", "Let's", "What", "Who", "Where", "When", "Why", "How", "Oh", "So", "Ok", "Okay", "Well", "Hey", "Yes", "No", "Sure", "Also", "Btw", "FYI", "Wow", "Hmm", "Please", "Sorry", "Great", "Cool"}), ""
	case "label":
		return g.pick([]string{"Phone", "E-mail", "Email", "Website", "Address", "Fax", "Mobile", "Notes", "Subject", "Date", "Status", "Priority", "Summary", "Description", "Comments", "Location", "Time", "Agenda", "Title", "Department", "Position", "Company", "Occupation", "Job", "Skills", "Education", "Experience"}), ""
	case "locprep":
		return g.pick(locPreps), ""
	case "perprep":
		return g.pick(perPreps), ""
	case "site":
		return g.pick(sites), ""
	case "acr":
		if g.r.IntN(2) == 0 {
			return g.pick([]string{"IBAN", "SSN", "ATM", "PIN", "CEO", "CFO", "CTO", "HR", "IT", "API", "VPN", "PDF", "CSV", "SQL", "URL", "FAQ", "ETA", "EOD", "ASAP", "FYI", "OKR", "KPI", "SLA", "SSO", "MFA", "2FA", "QA", "UX", "UI", "PR", "CI", "CD", "AWS", "GCP", "DNS", "TLS", "HTTP", "JSON", "GDPR", "CCPA", "NDA", "RFP", "POC", "MVP", "Q1", "Q2", "Q3", "Q4"}), ""
		}
		b := make([]byte, 2+g.r.IntN(4))
		for i := range b {
			b[i] = byte('A' + g.r.IntN(26))
		}
		return string(b), ""
	case "greet":
		return g.pick(greetings), ""
	case "signoff":
		return g.pick(signoffs), ""
	case "mtitle":
		return g.pick(multiTitles), ""
	case "chat":
		return g.pick(chatShort), ""
	case "tech":
		return g.pick(techWords), ""
	case "prompt":
		return g.pick(prompts), ""
	case "region":
		if len(g.m.Regions) == 0 {
			return g.pick(g.m.Countries), Location
		}
		return g.pick(g.m.Regions), Location
	case "citystate":
		city := g.pick(g.m.Cities)
		if len(g.m.RegionCodes) == 0 {
			return city, Location
		}
		return city + g.pick([]string{", ", ", ", " "}) + g.pick(g.m.RegionCodes), Location
	case "lang":
		return g.pick([]string{"English", "French", "German", "Spanish", "Portuguese", "Italian", "Dutch", "Polish", "Russian", "Chinese", "Mandarin", "Cantonese", "Japanese", "Korean", "Hindi", "Arabic", "Hebrew", "Turkish", "Greek", "Swahili", "Yoruba", "Vietnamese", "Thai", "Tagalog", "Bengali", "Urdu", "Persian", "Farsi"}), ""
	case "WORDS":
		if len(g.m.Words) == 0 {
			return "PLEASE READ", ""
		}
		n := 1 + g.r.IntN(4)
		ws := make([]string, n)
		for i := range ws {
			ws[i] = strings.ToUpper(g.pick(g.m.Words))
		}
		return strings.Join(ws, " "), fill
	case "kin":
		return g.pick([]string{"kid", "son", "daughter", "wife", "husband", "mom", "mother", "dad", "father", "brother", "sister", "cousin", "uncle", "aunt",
			"boss", "colleague", "friend", "partner", "neighbour", "neighbor", "grandson", "granddaughter", "grandmother", "grandfather", "nephew", "niece",
			"roommate", "manager", "teammate", "landlord", "tenant", "client", "patient", "student", "teacher", "doctor", "lawyer", "fiancé", "ex"}), ""
	case "title":
		return g.pick([]string{"Mr.", "Mrs.", "Ms.", "Dr.", "Mr", "Mrs", "Ms", "Dr", "Prof.", "Miss", "Sir", "Mx.", "Herr", "Frau", "Mme", "Señor", "Sra."}), ""
	case "role":
		return g.pick(roles), ""
	case "vt":
		return g.pick(verbsT), ""
	case "vi":
		return g.pick(verbsI), ""
	case "vmove":
		return g.pick([]string{"moved to", "is moving to", "relocated to", "is relocating to", "will relocate to", "flew to", "is flying to", "drove to",
			"went back to", "is heading to", "transferred to", "commutes from", "came back from", "returned from", "is travelling to", "is visiting",
			"visited", "settled in", "grew up in", "lives in", "stayed in", "is staying in", "emigrated to", "is based in", "works from"}), ""
	case "when":
		return g.pick([]string{"tomorrow", "next week", "last year", "in the spring", "this month", "for good", "soon", "on Monday", "after the holidays", "today", "again"}), ""
	case "trip":
		return g.pick([]string{"trip", "move", "event", "office", "visit", "offsite", "launch", "workshop", "conference", "warehouse", "accounts", "branch", "project", "rollout", "meetup"}), ""
	case "vd":
		return g.pick(verbsD), ""
	case "subj":
		return g.pick([]string{"I", "We", "You", "They", "She", "He", "Someone", "Everyone", "The team", "Please", "Can you", "Could you", "Did you", "Let's", "We should", "I'll", "We still", "Don't forget to"}), ""
	case "noun":
		if len(g.m.Words) > 0 && g.r.IntN(2) == 0 {
			return g.pick(g.m.Words), fill
		}
		return strings.ToLower(g.pick(g.fill.words)), ""
	case "brand":
		// a made-up product/organisation spelt exactly like a made-up name
		return syllableName(g.r, g.r.IntN(2) == 0), fill
	case "Cap":
		// a capitalised common word where a name could stand ("thanks to Billing")
		if len(g.m.Words) == 0 {
			return g.pick(g.fill.teams), ""
		}
		w := g.pick(g.m.Words)
		return strings.ToUpper(w[:1]) + w[1:], fill
	case "company":
		if g.r.IntN(3) == 0 && len(g.m.Words) > 0 {
			return g.madeUpOrg(), fill
		}
		a, b := g.person().surname, g.person().surname
		switch g.r.IntN(7) {
		case 0, 1, 2:
			return a + " " + g.pick([]string{"Inc", "Inc.", "LLC", "Ltd", "PLC", "GmbH", "Group", "and Sons", "& Co", "Holdings", "Partners"}), ""
		case 3:
			return a + " & " + b + " " + g.pick([]string{"LLP", "Law", "Architects", "Dental"}), ""
		case 4:
			return a + " " + g.pick(g.fill.words) + " " + g.pick([]string{"Inc", "Lines", "Systems", "Labs", "Foods", "Bank", "Motors", "Orchestra", "Foundation"}), ""
		}
		return g.pick(g.fill.orgs), ""
	case "product":
		switch n := g.r.IntN(6); {
		case n < 2 && len(g.m.Words) > 0:
			return g.madeUpOrg(), fill
		case n < 4 && len(g.m.Products) > 0:
			return g.pick(g.m.Products), ""
		}
		return g.pick(g.fill.products), ""
	case "org":
		if g.r.IntN(4) == 0 {
			return get("org").surname + g.pick([]string{" & Partners", " Consulting", " Group", " LLC", " GmbH", " Associates", " & Sons"}), ""
		}
		return g.pick(g.fill.orgs), ""
	case "team":
		return g.pick(g.fill.teams), ""
	case "word":
		return g.pick(g.fill.words), ""
	case "weekday":
		return g.pick([]string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "Mon", "Tue", "Wed", "Thu", "Fri"}), ""
	case "month":
		return g.pick([]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December", "Jan", "Feb", "Sept", "Oct", "Nov", "Dec"}), ""
	case "ticket":
		return g.pick([]string{"ENG", "OPS", "SEC", "WEB", "DATA", "INFRA", "PAY", "CORE", "MOB", "SUP"}) + "-" + fmt.Sprint(1+g.r.IntN(9999)), ""
	case "num":
		return fmt.Sprint(1 + g.r.IntN(500)), ""
	case "year":
		return fmt.Sprint(1950 + g.r.IntN(80)), ""
	case "date":
		switch g.r.IntN(4) {
		case 0:
			return fmt.Sprintf("%d/%d/%d", 1+g.r.IntN(12), 1+g.r.IntN(28), 1950+g.r.IntN(80)), ""
		case 1:
			return fmt.Sprintf("%d-%02d-%02d", 1950+g.r.IntN(80), 1+g.r.IntN(12), 1+g.r.IntN(28)), ""
		case 2:
			return fmt.Sprintf("%d %s %d", 1+g.r.IntN(28), g.pick([]string{"Jan", "March", "May", "Oct", "December"}), 1990+g.r.IntN(40)), ""
		}
		return fmt.Sprintf("%s %d, %d", g.pick([]string{"January", "April", "June", "Sept", "November"}), 1+g.r.IntN(28), 1990+g.r.IntN(40)), ""
	case "id":
		return fmt.Sprint(100000 + g.r.IntN(90000000)), ""
	case "amount":
		return fmt.Sprintf("%s%d.%02d", g.pick([]string{"$", "€", "£", "", "USD "}), g.r.IntN(5000), g.r.IntN(100)), ""
	case "nat":
		n := g.pick(nationalities)
		switch g.r.IntN(4) {
		case 0:
			return strings.ToLower(n), ""
		case 1:
			return n + "s", ""
		}
		return n, ""
	case "time":
		return fmt.Sprintf("%d:%02d", 1+g.r.IntN(12), g.r.IntN(4)*15), ""
	case "version":
		return fmt.Sprintf("v%d.%d.%d", g.r.IntN(5), g.r.IntN(20), g.r.IntN(10)), ""
	case "email":
		p := get(key)
		return handleOf(p, g.r) + "@" + g.pick([]string{"example.com", "corp.example", "mail.example.org", "gmail.com", "outlook.com", "firma.de"}), "EMAIL_ADDRESS"
	case "url":
		return genURL(g.r, g.pick(g.fill.words)), "URL"
	case "phone":
		return genPhone(g.r), "PHONE_NUMBER"
	case "card":
		return genCard(g.r), "CREDIT_CARD"
	case "iban":
		return genIBAN(g.r), "IBAN_CODE"
	case "ssn":
		return genSSN(g.r), "US_SSN"
	case "ip":
		return genIP(g.r), "IP_ADDRESS"
	}
	panic("synth: unknown slot {" + slot + "}")
}

// madeUpOrg makes an organisation or product name from dictionary words:
// "Brightcounter", "TrailBox", "Walk Loop", "Datalytics", "Brightly".
func (g *Generator) madeUpOrg() string {
	w := func() string {
		x := g.pick(g.m.Words)
		return strings.ToUpper(x[:1]) + x[1:]
	}
	switch g.r.IntN(6) {
	case 0:
		return w() + strings.ToLower(w())
	case 1:
		return w() + w()
	case 2:
		return w() + " " + w()
	case 3:
		x := w()
		return x[:min(len(x), 3+g.r.IntN(4))] + g.pick([]string{"ly", "ify", "io", "ex", "tech", "soft", "lytics", "ware", "base", "hub", "stack", "ra", "o", "a", "ix"})
	case 4:
		return w() + " " + g.pick([]string{"Inc", "Labs", "Capital", "Software", "Systems", "Partners", "Analytics", "Media", "Health", "Foods", "Energy", "Logistics"})
	}
	return w()
}

// Sentence converts a text to a training sentence: a tag per token.
func Sentence(t Text) ner.Sentence {
	toks := ner.Tokenize(t.Text, nil)
	tags := make([]uint8, len(toks))
	si := 0
	for i, tk := range toks {
		for si < len(t.Spans) && t.Spans[si].End <= int(tk.S) {
			si++
		}
		if si >= len(t.Spans) {
			continue
		}
		sp := t.Spans[si]
		if sp.Type != Person && sp.Type != Location {
			continue
		}
		if int(tk.S) >= sp.Start && int(tk.E) <= sp.End {
			first := i == 0 || int(toks[i-1].E) <= sp.Start
			switch {
			case sp.Type == Person && first:
				tags[i] = ner.TagBPer
			case sp.Type == Person:
				tags[i] = ner.TagIPer
			case first:
				tags[i] = ner.TagBLoc
			default:
				tags[i] = ner.TagILoc
			}
		}
	}
	return ner.Sentence{Text: t.Text, Tags: tags}
}

// ------------------------------------------------------------ syllable names

var nationalities = []string{"Spanish", "Japanese", "German", "French", "Italian", "American", "British", "Canadian", "Mexican", "Brazilian", "Indian", "Chinese",
	"Korean", "Nigerian", "Kenyan", "Egyptian", "Turkish", "Greek", "Polish", "Swedish", "Norwegian", "Danish", "Finnish", "Dutch", "Belgian", "Swiss",
	"Austrian", "Irish", "Scottish", "Australian", "Icelandic", "Czech", "Hungarian", "Romanian", "Ukrainian", "Russian", "Portuguese", "Vietnamese", "Thai"}

var locPreps = []string{"in", "at", "near", "from", "to", "around", "outside", "across", "via", "through", "towards", "into", "back to", "out of",
	"based in", "located in", "moving to", "relocating to", "flying to", "driving to", "stuck in", "stuck near", "born in", "living in", "stationed in",
	"covers", "visiting", "leaving", "arriving from", "arriving in", "north of", "south of", "close to", "on the way to", "somewhere near"}
var perPreps = []string{"with", "from", "for", "by", "to", "via", "cc", "per", "and", "or", "than", "like", "about", "behind", "after", "before",
	"instead of", "on behalf of", "together with", "handover from", "looping in", "adding", "thanks to", "ask", "tell", "remind", "ping", "ask for", "waiting on",
	"blocked on", "assigned to", "reviewed by", "approved by", "sent by", "signed by", "owned by", "reported by", "hosted by", "led by", "shadowing", "replacing"}
var sites = []string{"office", "branch", "team", "warehouse", "site", "campus", "store", "plant", "hub", "datacenter", "clinic", "airport", "station", "HQ", "event", "meetup", "accounts", "region"}
var roles = []string{"new starter", "intern", "contractor", "manager", "team lead", "PM", "designer", "engineer", "on call", "legal", "HR", "finance", "sales", "support", "ops", "QA"}

var verbsT = []string{"met", "called", "thanked", "hired", "emailed", "told", "asked", "helped", "invited", "visited", "blamed", "paid", "replaced",
	"joined", "followed", "interviewed", "congratulated", "shouted at", "waved at", "laughed at", "talked to", "spoke with", "worked with",
	"argued with", "waited for", "looked for", "married", "introduced", "trained", "mentored", "texted", "warned", "forgave", "hugged", "kissed",
	"phoned", "pinged", "messaged", "reminded", "promoted", "fired", "sued", "cited", "quoted", "interviewed", "defeated", "beat", "loves", "hates",
	"knows", "misses", "trusts", "supports", "replaced", "succeeded", "covered for"}

// verbsD take two objects, a person first: "owe Ana a coffee", "send Ana the link".
var verbsD = []string{"owe", "owes", "owed", "give", "gave", "send", "sent", "buy", "bought", "get", "got", "show", "showed", "offer", "offered",
	"hand", "handed", "lend", "lent", "pass", "bring", "brought", "wish", "wished", "tell", "told", "teach", "promise", "promised", "pay", "paid",
	"leave", "left", "email", "emailed", "text", "texted", "forward", "sell", "sold", "write", "wrote", "make", "made", "save", "saved", "grant",
	"award", "assign", "assigned", "ask", "asked", "find", "found", "book", "booked", "order", "ordered"}

// surnameJoins join two surnames into one (Spanish, Portuguese, Dutch, German, French, Italian, Arabic, Vietnamese usage).
var surnameJoins = []string{"de", "de la", "de los", "de las", "del", "y", "i", "da", "das", "do", "dos", "e", "van", "van der", "van den", "von", "von der",
	"du", "des", "di", "della", "dalla", "al", "el", "bin", "binti", "ibn"}

var verbsI = []string{"left", "arrived", "resigned", "laughed", "agreed", "complained", "replied", "wrote", "sang", "won", "lost", "retired", "smiled",
	"disagreed", "apologised", "apologized", "called back", "dropped off", "signed off", "logged in", "is typing", "is away", "is late", "was right",
	"will join later", "cannot make it", "said no", "said yes", "nodded", "shrugged", "cried", "objected", "volunteered", "died", "was born", "graduated"}

var (
	onsets   = []string{"b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kr", "tr", "st", "sh", "ch", "th", "j", "y", "w", "mb", "nd", "kw", "zh", "ts", "gr", "fl", "sl"}
	vowels   = []string{"a", "e", "i", "o", "u", "a", "e", "i", "o", "ai", "ei", "ou", "ia", "ie", "oa", "ä", "é", "ö", "ü", "y"}
	codas    = []string{"", "", "", "n", "r", "l", "s", "m", "k", "t", "nd", "rt", "sk", "ng", "x"}
	givenEnd = []string{"", "a", "o", "i", "e", "ia", "en", "ar", "ine", "el", "is", "ko", "ji", "na", "ta", "ko", "ro", "ele", "ina"}
	surnEnd  = []string{"", "son", "sen", "ez", "ski", "ova", "ic", "ian", "yan", "adze", "escu", "poulos", "oglu", "enko", "berg", "stein", "mann", "ini", "elli", "ez", "ovic", "wala", "ama", "ola", "uwa", "kar", "ani", "ui", "ato", "oto", "ang", "ong", "er", "ley", "ford", "ton", "by", "well"}
)

// syllableName makes up a capitalised name from syllables; it is in none of
// the gazetteers (the caller does not check: the space of names is large and
// a clash only turns one training name into a known one).
func syllableName(r *rand.Rand, given bool) string {
	var b strings.Builder
	n := 1 + r.IntN(3)
	for i := 0; i < n; i++ {
		if i > 0 || r.IntN(4) != 0 {
			b.WriteString(onsets[r.IntN(len(onsets))])
		}
		b.WriteString(vowels[r.IntN(len(vowels))])
		if i == n-1 || r.IntN(3) == 0 {
			b.WriteString(codas[r.IntN(len(codas))])
		}
	}
	if given {
		b.WriteString(givenEnd[r.IntN(len(givenEnd))])
	} else {
		b.WriteString(surnEnd[r.IntN(len(surnEnd))])
	}
	s := b.String()
	if utf8.RuneCountInString(s) < 3 {
		s += "ran"
	}
	rs := []rune(s)
	rs[0] = unicode.ToUpper(rs[0])
	return string(rs)
}
