package redact

import (
	"slices"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// Round 22: field labels and structured text. Forms, CSV/TSV rows, JSON,
// key=value logs and XML put a label next to a value: "Vorname: Hannelore",
// "city=Stavanger", {"firstName":"Mariana"}, <city>Reykjavík</city>, a CSV
// header "first_name,last_name,city". The label is no name and no place
// ("Vorname", "Ville", "Lieferanschrift" were tagged as ones), and it says
// what the value is: a first name or surname is a PERSON, a city or country a
// LOCATION, whatever the tagger made of the word.
//
// fieldLabels is a closed list of the words forms and data files use as
// labels, written down by language (English, German, French, Spanish,
// Portuguese, Italian, Dutch, Polish, Scandinavian, Finnish, Czech,
// Hungarian, Romanian, Croatian, Turkish, Russian) from each one's form
// vocabulary, not from any corpus; folded to lower case. Compound labels are
// listed joined ("firstname" stands for "first_name", "firstName", "First
// name"; "nombrecompleto" for "Nombre completo").

// Label kinds: what the value after a label is.
const (
	lblOther   uint8 = iota + 1 // never a name or place itself; its value is not typed (E-Mail, Telefon, Status, sku)
	lblName                     // a generic name or a role (Name, Nom, Owner, Patient): the value is a PERSON when it reads as a name
	lblPerson                   // a given name or surname (Vorname, Prénom, last_name): the value is a PERSON
	lblPlace                    // a town, country, region (Ort, Ville, country): the value is a LOCATION
	lblAddress                  // an address (Lieferanschrift, Dirección): the value is a LOCATION, numbers and all
	lblRoute                    // from/to, origin/destination: the value is what its lists say
	lblCode                     // a code, plan, status, size or room (sku, Tarif, Status, Room): the value is no name or place
)

var fieldLabels = func() map[string]uint8 {
	m := map[string]uint8{}
	add := func(k uint8, s string) {
		for w := range wordSet(s) {
			m[w] = k
		}
	}
	add(lblPerson, `
		firstname lastname surname surnames forename forenames givenname givennames familyname fullname middlename maidenname
		vorname vornamen nachname familienname rufname geburtsname
		prénom prénoms nomdefamille nomcomplet
		apellido apellidos nombres nombrecompleto primerapellido segundoapellido
		sobrenome sobrenomes prenome nomecompleto
		cognome nomeecognome
		voornaam voornamen achternaam familienaam tussenvoegsel
		imię imiona nazwisko imięinazwisko
		förnamn efternamn fornavn efternavn etternavn mellomnavn
		etunimi sukunimi etunimet
		příjmení křestní
		vezetéknév keresztnév utónév családnév
		prenume numedefamilie
		prezime
		soyad soyadı soyadi adısoyadı adsoyad
		имя фамилия отчество фио`)
	add(lblName, `
		name names nom nombre nome naam navn namn nimi jméno név nume ime isim adı όνομα
		customername contactname clientname username user accountholder cardholder holder
		applicant passenger beneficiary tenant patient owner assignee reporter recipient sender addressee
		employee attendee guest driver consultant contact customer client author manager requester
		kunde kundin empfänger absender mieter inhaber ansprechpartner antragsteller
		destinataire expéditeur titulaire locataire
		destinatario remitente titular cliente solicitante
		remetente requerente mittente richiedente intestatario
		klant ontvanger afzender aanvrager huurder
		odbiorca nadawca klient wnioskodawca
		mottagare avsändare mottaker avsender modtager afsender
		vastaanottaja lähettäjä hakija`)
	add(lblPlace, `
		city town village municipality county country province region district prefecture suburb locality state
		birthplace placeofbirth hometown residence countryofresidence branch
		wohnsitz résidence residencia paísderesidencia
		ort stadt wohnort geburtsort land bundesland kanton gemeinde kreis landkreis bezirk staat
		ville pays région commune département localité lieudenaissance
		ciudad país provincia región municipio localidad comuna estado departamento lugardenacimiento
		cidade município distrito concelho região bairro naturalidade
		città paese regione comune località luogodinascita
		plaats woonplaats stad provincie gemeente geboorteplaats
		miasto miejscowość kraj województwo powiat gmina
		postort län kommun kommune fylke poststed postby
		kaupunki maa kunta paikkakunta maakunta kotikunta
		město obec země okres
		város ország megye település
		oraș oraş țară ţară județ judeţ localitate
		grad država županija mjesto
		şehir sehir ülke ilçe
		город страна область регион`)
	add(lblAddress, `
		address addresses streetaddress homeaddress shippingaddress billingaddress deliveryaddress mailingaddress postaladdress shipto
		adresse anschrift lieferanschrift rechnungsadresse lieferadresse postanschrift straße strasse wohnadresse
		adressedelivraison adressedefacturation
		dirección direccion domicilio direccióndeenvío
		endereço morada
		indirizzo
		adres bezorgadres afleveradres factuuradres postadres straat
		adresa adresdostawy ulica
		adress leveransadress fakturaadress leveringsadresse
		osoite toimitusosoite laskutusosoite katuosoite
		cím lakcím
		adresă
		адрес`)
	add(lblRoute, `from to origin destination`)
	add(lblOther, `
		email e-mail mail courriel correo correoelectrónico posta phone telephone telefon téléphone teléfono telefone telefono tel mobile mobil handy
		cell fax date datum fecha data dob dateofbirth birthdate geburtsdatum datedenaissance fechadenacimiento
		id iban bic swift amount total price betrag montant importe
		reference ref account konto cuenta compte conto rekening nationality nationalität nationalité nacionalidad
		relationship reason purpose store service servicio team role msg message
		subject betreff asunto objet oggetto onderwerp summary description notes note comment comments ticket event
		carrier tracking host ip ua plz postleitzahl zip zipcode postcode postalcode cp codepostal cap
		sexo sex gender geschlecht sexe genre
		доставки телефон почта`)
	add(lblCode, `
		sku qty quantity status plan tier tarif tarifa category product warranty priority
		colour color size sizes farbe größe couleur taille talla cor taglia kleur maat
		channel revenue units segment finish room floor seats capacity`)
	return m
}()

// labelAt returns the kind of the label that ends at word token ts[k] and
// the index of its first token: the longest joined run of up to three words
// ending at k (glued by "_", "-" or a space on the line, "first_name",
// "Nombre completo", "Country of residence") that fieldLabels holds, else
// the word alone.
func labelAt(text string, ts []ner.Token, k int) (kind uint8, first int) {
	var buf [96]byte
	for n := 3; n >= 1; n-- {
		b, i, ok := buf[:0], k, true
		words := 0
		// collect n words backwards
		start := k
		for words < n {
			if i < 0 || ts[i].Kind != ner.KWord || ts[i].E-ts[i].S > 24 || i < k && ts[i+1].NL {
				ok = false
				break
			}
			start = i
			words++
			if words < n {
				i--
				if i >= 0 && ts[i].Kind == ner.KPunct && (text[ts[i].S] == '_' || text[ts[i].S] == '-') && !ts[i+1].Space {
					i-- // first_name, e-mail
				}
			}
		}
		if !ok {
			continue
		}
		for j := start; j <= k; j++ {
			if ts[j].Kind == ner.KWord {
				b = foldTo(b, text[ts[j].S:ts[j].E])
			}
		}
		if kind := fieldLabels[string(b)]; kind != 0 {
			return kind, start
		}
	}
	return 0, k
}

// labelOnly reports whether the tagger span ts[a..b] is made of label words
// only (labelAt covers every word) and stands where a label stands: before
// ":" or "=" (a form field, "key=value"), as a quoted key before ":" (JSON),
// between "<" and ">" (XML), alone on its line, or in a line of cells with
// no number (a CSV/TSV header). "Vorname:", "Lieferanschrift", "Nom :".
func labelOnly(text string, ts []ner.Token, a, b int) bool {
	words := 0
	for k := b; k >= a; {
		if ts[k].Kind != ner.KWord {
			k--
			continue
		}
		kind, first := labelAt(text, ts, k)
		if kind == 0 {
			if ts[k].Shape == ner.ShLower && (ts[k].Flags&ner.FFunc != 0 || closedWord(text, &ts[k])) && words > 0 {
				k-- // "Country of residence", "País de residencia"
				continue
			}
			return false
		}
		words++
		k = first - 1
	}
	if words == 0 {
		return false
	}
	n := b + 1
	for m := 0; m < 3 && n < len(ts) && !ts[n].NL && ts[n].Kind == ner.KWord; m++ {
		if kind, _ := labelAt(text, ts, n); kind == 0 {
			break
		}
		n++ // "Адрес доставки:" with "доставки" left out of the span
	}
	if n < len(ts) && !ts[n].NL && ts[n].Shape == ner.ShQuote {
		n++ // "city": …
	}
	if n < len(ts) && !ts[n].NL && (ts[n].Shape == ner.ShColon || text[ts[n].S] == '=' || text[ts[n].S] == '>') {
		return true
	}
	// alone on its line (a heading over an address) or a header row of cells
	lo, hi := lineAround(ts, a, b)
	other, cells := false, false
	for i := lo; i <= hi; i++ {
		if i >= a && i <= b {
			continue
		}
		switch {
		case ts[i].Kind == ner.KNum:
			return false
		case cellSep(text, ts, i):
			cells = true
		case ts[i].Kind == ner.KWord:
			other = true
		}
	}
	return !other || cells
}

// cellSep reports whether token ts[i] separates cells or a key from its
// value in structured text: a double quote, "|", "=", "{", "}", a "<" glued
// to the next token, a ">" glued to the one before (XML, not a quoted
// e-mail's "> " at a line's start),
// a "," or ";" glued to the tokens on both sides (CSV, not prose), a ":"
// right after a word ("Nom : Tremblay", "city:"), or a token a tab comes
// before (TSV). A tagger span is cut there: one cell, one value.
func cellSep(text string, ts []ner.Token, i int) bool {
	t := &ts[i]
	if i > 0 && !t.NL && t.Space {
		for p := ts[i-1].E; p < t.S; p++ {
			if text[p] == '\t' {
				return true
			}
		}
	}
	if t.NL && i > 0 && (rowLine(text, ts, i) || rowLine(text, ts, lineStart(ts, i-1))) {
		return true // a line of a table ends its last cell
	}
	if t.Kind != ner.KPunct {
		return false
	}
	switch text[t.S] {
	case '"', '|', '=', '{', '}':
		return true
	case '\'':
		return t.Shape == ner.ShQuote // a single quote standing alone: SQL's 'Ibadan' (not "O'Brien", not "'s")
	case '>':
		return !t.Space && i > 0 // "<city>Lahore": not a quoted e-mail's ">" at a line's start
	case '<':
		return i+1 < len(ts) && !ts[i+1].Space
	case ',', ';':
		return !t.Space && i+1 < len(ts) && !ts[i+1].Space && i > 0
	case ':':
		return i > 0 && ts[i-1].Kind == ner.KWord && (i+1 >= len(ts) || ts[i+1].Space || ts[i+1].Shape == ner.ShQuote)
	}
	return false
}

// lineStart returns the first token of token i's line (at most 4*lineReach
// tokens back).
func lineStart(ts []ner.Token, i int) int {
	for k := i; k > 0 && i-k < 4*lineReach; k-- {
		if ts[k].NL {
			return k
		}
	}
	return max(0, i-4*lineReach)
}

// rowLine reports whether the line that starts at token i is a row of a
// table: cells split by tabs or "|" (two or more), or by "," or ";" (three
// or more).
func rowLine(text string, ts []ner.Token, i int) bool {
	sep := lineSep(text, ts, i)
	if sep == 0 {
		return false
	}
	var cells [16][2]int
	n := lineCells(text, ts, i, sep, &cells)
	return n >= 3 || n == 2 && (sep == '\t' || sep == '|')
}

// cellWorthy reports whether a piece ts[a..b] of a tagger span cut at cell
// separators holds a word that can carry a name or a place: a capitalised
// word (or one in a script without case), not an initial, not an acronym
// of up to five capitals no list holds, that a name or place list holds or
// that is no ordinary English, product, organisation or calendar word. The
// tagger read the whole row; a cell of numbers, sizes, codes or ordinary
// words ("48211.20", "L", "APAC", "Retail") is nobody.
func cellWorthy(text string, ts []ner.Token, a, b int) bool {
	for k := a; k <= b; k++ {
		t := &ts[k]
		if t.Kind != ner.KWord || t.Shape == ner.ShInit {
			continue
		}
		f := t.Flags
		listed := f&(ner.FGiven|ner.FSurname|ner.FPlace|ner.FPlacePre) != 0
		switch {
		case t.Shape == ner.ShLower && !listed:
			continue
		case t.Shape == ner.ShUpper && t.E-t.S <= 5 && !listed:
			continue
		case listed || f&(ner.FDict|ner.FCommon|ner.FFunc|ner.FProduct|ner.FOrg|ner.FMonth|ner.FChat) == 0:
			return true
		}
	}
	return false
}

// labelTail returns b without the label words that end the span ts[a..b]
// before a ":" ("NAIROBI TO: AMSTERDAM": the span "NAIROBI TO" ends with the
// next field's label).
func labelTail(text string, ts []ner.Token, a, b int) int {
	if b+1 >= len(ts) || ts[b+1].NL || ts[b+1].Shape != ner.ShColon || ts[b].Kind != ner.KWord {
		return b
	}
	if kind, first := labelAt(text, ts, b); kind != 0 && first > a {
		b = first - 1
		for b > a && ts[b].Kind == ner.KPunct && ts[b].Shape != ner.ShParen {
			b--
		}
	}
	return b
}

// fieldValue is the value of a labelled field: tokens lo..hi and the kind of
// the label before them.
type fieldValue struct {
	lo, hi int
	kind   uint8
}

// labelledValues appends to vs the values that a label types on the window's
// tokens: after "Label:" or "key=" on a line, after a quoted JSON key, between
// XML tags named by a label, and in the columns of CSV/TSV/Markdown rows
// under a header of labels. Values come out in token order and do not
// overlap.
func labelledValues(text string, ts []ner.Token, vs []fieldValue) []fieldValue {
	n := len(ts)
	last := -1 // the last token of the last value
	var hdr header
	for i := 0; i < n; i++ {
		if ts[i].NL {
			hdr.line(text, ts, i)
			if hdr.active {
				vs = hdr.values(text, ts, i, vs, &last)
			}
		}
		if i > last && ts[i].Kind == ner.KWord && ts[i].E-ts[i].S == 6 && i+1 < n && text[ts[i+1].S] == '(' && foldEq(text[ts[i].S:ts[i].E], "values") {
			vs = sqlValues(text, ts, i, vs, &last) // INSERT … (name, city) VALUES ('…', '…')
			continue
		}
		if i <= last || ts[i].Kind != ner.KPunct {
			continue
		}
		c := text[ts[i].S]
		if c != ':' && c != '=' && c != '>' {
			continue
		}
		k := i - 1
		if k >= 0 && ts[k].Shape == ner.ShQuote && c == ':' {
			k-- // "city":
		}
		if k < 0 || ts[k].Kind != ner.KWord || ts[i].NL {
			continue
		}
		if c == '>' && (k == 0 || text[ts[k-1].S] != '<') {
			continue // <city>
		}
		kind, first := labelAt(text, ts, k)
		if kind == 0 || kind == lblOther {
			continue
		}
		if c == ':' && !labelStart(text, ts, first) {
			continue
		}
		lo, hi := valueRange(text, ts, i+1, c)
		if lo > hi {
			continue
		}
		vs = append(vs, fieldValue{lo, hi, kind})
		last = hi
	}
	return vs
}

// labelStart reports whether the label whose last part starts at token
// first begins a field: its line, or within five words of it, or it follows
// a cell separator, a gap of spaces or a form's capitals ("CUSTOMER NAME: …
// BRANCH: KANO"). Not "and so we went on to the city: …" deep in a sentence.
func labelStart(text string, ts []ner.Token, first int) bool {
	k := first
	for steps := 0; steps < 5 && k > 0 && !ts[k].NL && (ts[k-1].Kind == ner.KWord || text[ts[k-1].S] == '/') && !gap(text, ts, k); steps++ {
		k--
	}
	if k == 0 || ts[k].NL || gap(text, ts, k) || upperLine(ts, k) {
		return true
	}
	p := &ts[k-1]
	return p.Kind == ner.KPunct && (cellSep(text, ts, k-1) || p.Shape == ner.ShComma || p.Shape == ner.ShParen)
}

// foldEq reports whether ASCII word w is lower-case word low in any case.
func foldEq(w, low string) bool {
	if len(w) != len(low) {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != low[i] {
			return false
		}
	}
	return true
}

// sqlValues appends the typed values of an SQL "(col, col, …) VALUES ('v',
// 'v', …)" at the VALUES token ts[i]: the column list is the bracket right
// before it (at most 16 columns), each value the tokens of one comma-
// separated item, quotes trimmed.
func sqlValues(text string, ts []ner.Token, i int, vs []fieldValue, last *int) []fieldValue {
	if i == 0 || text[ts[i-1].S] != ')' {
		return vs
	}
	var kinds [16]uint8
	col, open := 0, -1
	for k := i - 2; k >= 0 && i-k < 4*lineReach; k-- {
		if c := text[ts[k].S]; ts[k].Kind == ner.KPunct && c == '(' {
			open = k
			break
		}
	}
	if open < 0 {
		return vs
	}
	ncol := 0
	for k := open + 1; k < i-1; k++ {
		if ts[k].Kind == ner.KPunct && text[ts[k].S] == ',' {
			if ncol++; ncol >= len(kinds) {
				return vs
			}
			continue
		}
		if ts[k].Kind == ner.KWord && (k+1 == i-1 || ts[k+1].Kind == ner.KPunct && text[ts[k+1].S] != '_') {
			kinds[ncol], _ = labelAt(text, ts, k)
		}
	}
	lo, quoted := i+2, false
	for k := i + 2; k < len(ts) && k-i < 4*lineReach && col <= ncol; k++ {
		c := text[ts[k].S]
		if ts[k].Kind == ner.KPunct && c == '\'' && ts[k].Shape == ner.ShQuote {
			quoted = !quoted
			continue
		}
		if quoted || ts[k].Kind != ner.KPunct || c != ',' && c != ')' {
			continue
		}
		a, b := lo, k-1
		for a <= b && ts[a].Kind == ner.KPunct {
			a++
		}
		for b >= a && ts[b].Kind == ner.KPunct {
			b--
		}
		if kd := kinds[col]; kd >= lblName && kd != lblRoute && a <= b && a > *last {
			vs = append(vs, fieldValue{a, b, kd})
			*last = b
		}
		col, lo = col+1, k+1
		if c == ')' {
			break
		}
	}
	return vs
}

// gap reports whether two or more spaces or a tab come before token i.
func gap(text string, ts []ner.Token, i int) bool {
	if i == 0 || !ts[i].Space {
		return false
	}
	g := text[ts[i-1].E:ts[i].S]
	return len(g) >= 2 || g == "\t"
}

// upperLine reports whether the words of token i's line before it are all
// in capitals ("CUSTOMER NAME: … BRANCH: KANO"): a form in capitals.
func upperLine(ts []ner.Token, i int) bool {
	for k := i; k >= 0 && i-k < lineReach; k-- {
		if ts[k].Kind == ner.KWord && ts[k].Shape != ner.ShUpper && ts[k].Shape != ner.ShInit {
			return false
		}
		if ts[k].NL {
			return true
		}
	}
	return false
}

// valueRange returns the tokens of the value that starts at ts[i] after the
// label punctuation c: inside quotes up to the closing quote; after "=" up
// to the next space; after ":" or ">" up to the line's end, a "<", a gap of
// two spaces or a tab, a "," or "}" of JSON, a bracket it did not open, or
// the next "LABEL:" of the line.
func valueRange(text string, ts []ner.Token, i int, c byte) (lo, hi int) {
	n := len(ts)
	quoted := false
	if i < n && !ts[i].NL && ts[i].Shape == ner.ShQuote {
		quoted = true
		i++
	}
	lo, hi = i, i-1
	depth := 0
	for k := i; k < n && k-i < lineReach; k++ {
		t := &ts[k]
		if t.NL || (k > i && gap(text, ts, k) && !quoted) {
			break
		}
		if t.Shape == ner.ShParen {
			if c := text[t.S]; c == '(' || c == '[' {
				depth++
			} else if depth--; depth < 0 {
				break // "(owner: Wen Jie)": the bracket closes around the field
			}
		}
		if quoted {
			if t.Shape == ner.ShQuote && text[t.S] == '"' {
				break
			}
		} else {
			if c == '=' && k > i && t.Space {
				break
			}
			if t.Kind == ner.KPunct && (text[t.S] == '<' || text[t.S] == '}' || text[t.S] == '"' || text[t.S] == '=' || (c != ':' && t.Shape == ner.ShComma)) {
				break
			}
			if t.Kind == ner.KWord && k+1 < n && !ts[k+1].NL && ts[k+1].Shape == ner.ShColon && k > i && t.Space {
				// the next label: "FROM: NAIROBI TO: AMSTERDAM"
				j := k
				for j > i && ts[j-1].Kind == ner.KWord && ts[j-1].Shape == t.Shape {
					j--
				}
				if kind, _ := labelAt(text, ts, k); kind != 0 || t.Shape == ner.ShUpper {
					hi = j - 1
					if kind != 0 {
						hi = k - 1
					}
					return lo, hi
				}
			}
		}
		hi = k
	}
	for hi >= lo && ts[hi].Kind == ner.KPunct && ts[hi].Shape != ner.ShParen {
		hi--
	}
	return lo, hi
}

// header tracks a CSV/TSV/Markdown header row of labels and the rows under it.
type header struct {
	hdr    bool // a header row was read and its table goes on
	active bool // the current line is a row of the table
	sep    byte
	ncol   int
	kinds  [16]uint8
}

// lineCells splits the line that starts at token i into cells at the
// separator sep (outside double quotes) and returns the cells' first and last
// tokens; n is -1 when the line has more than 16 cells or runs on past
// 4*lineReach tokens.
func lineCells(text string, ts []ner.Token, i int, sep byte, cells *[16][2]int) int {
	n, lo, quoted := 0, i, false
	k := i
	for ; k < len(ts) && (k == i || !ts[k].NL); k++ {
		if k-i >= 4*lineReach {
			return -1
		}
		t := &ts[k]
		isSep := false
		switch {
		case sep == '\t':
			isSep = k > i && t.Space && containsTab(text[ts[k-1].E:t.S])
		case t.Kind == ner.KPunct && text[t.S] == '"':
			quoted = !quoted
		case t.Kind == ner.KPunct && text[t.S] == sep && !quoted:
			isSep = true
		}
		if isSep {
			if n == len(cells)-1 {
				return -1
			}
			cells[n] = [2]int{lo, k - 1}
			n++
			lo = k + 1
			if sep == '\t' {
				lo = k
			}
		}
	}
	cells[n] = [2]int{lo, k - 1}
	return n + 1
}

func containsTab(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\t' {
			return true
		}
	}
	return false
}

// lineSep returns the cell separator of the line starting at token i: a
// tab, "|", ";" or a "," glued to the next token, or 0.
func lineSep(text string, ts []ner.Token, i int) byte {
	var sep byte
	for k := i; k < len(ts) && (k == i || !ts[k].NL) && k-i < 4*lineReach; k++ {
		t := &ts[k]
		if k > i && t.Space && containsTab(text[ts[k-1].E:t.S]) {
			return '\t'
		}
		if t.Kind != ner.KPunct {
			continue
		}
		switch c := text[t.S]; {
		case c == '|':
			sep = '|'
		case c == ';' && sep != '|':
			sep = ';'
		case c == ',' && sep == 0 && k+1 < len(ts) && !ts[k+1].Space:
			sep = ','
		}
	}
	return sep
}

// onlyPunct reports whether the line that starts at token i has no word or
// number (a Markdown rule row "|---|---|").
func onlyPunct(ts []ner.Token, i int) bool {
	for k := i; k < len(ts) && (k == i || !ts[k].NL) && k-i < 4*lineReach; k++ {
		if ts[k].Kind != ner.KPunct {
			return false
		}
	}
	return true
}

// line reads the line that starts at token i: a header row of labels (two or
// more cells, each one to three words and no number, one of them a person,
// place, name or address label) starts a table; a row of the same separator
// and cell count goes on with it (a Markdown rule row "|---|" is passed
// over); anything else ends it.
func (h *header) line(text string, ts []ner.Token, i int) {
	h.active = false
	sep := lineSep(text, ts, i)
	if sep == 0 {
		h.hdr = h.hdr && onlyPunct(ts, i)
		return
	}
	var cells [16][2]int
	n := lineCells(text, ts, i, sep, &cells)
	if n < 2 {
		h.hdr = false
		return
	}
	if h.hdr && sep == h.sep && n == h.ncol {
		h.active = true
		return
	}
	words, typed, isHeader := 0, false, true
	var kinds [16]uint8
	for c := 0; c < n && isHeader; c++ {
		w := 0
		for k := cells[c][0]; k <= cells[c][1]; k++ {
			if ts[k].Kind == ner.KNum {
				isHeader = false
			}
			if ts[k].Kind == ner.KWord {
				w++
			}
		}
		if w > 3 {
			isHeader = false
		}
		words += w
		for k := cells[c][1]; k >= cells[c][0]; k-- {
			if ts[k].Kind == ner.KWord {
				kinds[c], _ = labelAt(text, ts, k)
				break
			}
		}
		typed = typed || kinds[c] >= lblName && kinds[c] != lblRoute
	}
	h.hdr = isHeader && typed && words > 0
	h.sep, h.ncol, h.kinds = sep, n, kinds
}

// values appends the typed cells of the row that starts at token i.
func (h *header) values(text string, ts []ner.Token, i int, vs []fieldValue, last *int) []fieldValue {
	var cells [16][2]int
	n := lineCells(text, ts, i, h.sep, &cells)
	for c := 0; c < n && c < h.ncol; c++ {
		lo, hi := cells[c][0], cells[c][1]
		for lo <= hi && (ts[lo].Kind == ner.KPunct && ts[lo].Shape != ner.ShParen) {
			lo++
		}
		for hi >= lo && (ts[hi].Kind == ner.KPunct && ts[hi].Shape != ner.ShParen) {
			hi--
		}
		if k := h.kinds[c]; k >= lblName && k != lblRoute && lo <= hi && lo > *last {
			vs = append(vs, fieldValue{lo, hi, k})
			*last = hi
		}
	}
	return vs
}

// fieldSpans types the labelled values of the window (labelledValues): a
// value that reads as a name (a PERSON label) or a place (a place or address
// label) becomes one span of the label's type, and the tagger spans inside
// it go; a value of a generic name or role label ("Name", "Owner") is a
// PERSON only when the tagger found something there or it reads as a name
// (no word of it is an ordinary English or product word only); a "from"/"to"
// value is what its lists say. "Nom : Tremblay", "Region: Waikato",
// {"firstName":"Mariana"}, a CSV "city" column.
func fieldSpans(s *scratch, doPerson, doLoc bool) {
	s.fields = labelledValues(s.text, s.toks, s.fields[:0])
	if len(s.fields) == 0 {
		return
	}
	slices.SortFunc(s.spans, func(x, y tagSpan) int { return x.start - y.start })
	ts, nsp := s.toks, len(s.spans)
	p := 0
	for _, v := range s.fields {
		vs, ve := int(ts[v.lo].S), int(ts[v.hi].E)
		for p < nsp && s.spans[p].end <= vs {
			p++
		}
		tagged := ""
		q := p
		for ; q < nsp && s.spans[q].start < ve; q++ {
			if tagged == "" && s.spans[q].typ != "" && s.spans[q].end > vs {
				tagged = s.spans[q].typ
			}
		}
		lo, hi := v.lo, v.hi
		if nx, ok := titleAt(s.text, ts, lo); ok && nx <= hi {
			lo = nx // "Consultant: Dr. Whaanga": the title stays outside
		}
		for hi > lo && ts[hi].Kind == ner.KWord && ts[hi].Flags&ner.FTitle != 0 && ts[hi].Flags&(ner.FGiven|ner.FSurname) == 0 {
			hi-- // "MWANGI/JOSEPH KAMAU MR"
		}
		if v.kind == lblCode || codeValue(s.text, ts, lo, hi) {
			// "sku":"MAPLE-DESK", "Tarif: Komfort Plus", a "colour" column:
			// a code, plan or size is no name or place; since round 25 not
			// even when a listed place names it ("Forest Green", "Berlin
			// Plus"): like a room or a dish (thingHeads, heads.go), a product
			// named after a place says nothing of where anyone is
			if ok, _, _, _, _ := valueReads(s.text, ts, lo, hi, true); ok && hi-lo < 8 {
				for k := p; k < q; k++ {
					if s.spans[k].start >= vs && s.spans[k].end <= ve {
						s.spans[k].typ = ""
					}
				}
			}
			p = q
			continue
		}
		typ := valueType(s.text, ts, fieldValue{lo, hi, v.kind}, tagged)
		if typ == "" || typ == Person && !doPerson || typ == Location && !doLoc {
			p = q
			continue
		}
		for k := p; k < q; k++ {
			sp := &s.spans[k]
			if sp.start >= vs && sp.end <= ve {
				if v.kind == lblAddress && sp.typ == Person && lo <= hi && sp.start == int(ts[lo].S) && commaAfter(ts, sp.end, hi) {
					// "Ship to: Jana Horáková, Vinohradská 1511/230, …": the
					// addressee first on the line, before a comma, stays a
					// PERSON, the address starts after her ("Adres: Atatürk
					// Bulvarı No: 45" is a street)
					for lo <= hi && int(ts[lo].S) < sp.end {
						lo++
					}
					for lo <= hi && ts[lo].Kind == ner.KPunct {
						lo++
					}
					continue
				}
				sp.typ = "" // the value's span replaces it
			}
		}
		p = q
		prio := prioPerson
		if typ == Location {
			prio = prioLoc
		}
		for k := lo; k <= hi+1; k++ {
			// a place value lists places: "Mérida, Yucatán" is two
			if k > hi || typ == Location && v.kind == lblPlace && ts[k].Shape == ner.ShComma {
				e := k - 1
				for e >= lo && ts[e].Kind == ner.KPunct && ts[e].Shape != ner.ShParen {
					e--
				}
				if lo <= e {
					s.spans = append(s.spans, tagSpan{int(ts[lo].S), int(ts[e].E), typ, prio, false})
				}
				lo = k + 1
			}
		}
	}
	keep := s.spans[:0]
	for _, sp := range s.spans {
		if sp.typ != "" {
			keep = append(keep, sp)
		}
	}
	s.spans = keep
}

// commaAfter reports whether the token that starts at byte end (at most
// token hi) is a comma.
func commaAfter(ts []ner.Token, end, hi int) bool {
	k, _ := slices.BinarySearchFunc(ts[:hi+1], end, func(t ner.Token, e int) int { return int(t.S) - e })
	return k <= hi && int(ts[k].S) == end && ts[k].Shape == ner.ShComma
}

// valueType returns the type the label of v gives its value, or "" when
// the value does not read as one (valueReads); tagged is the type of a
// tagger span over it, if any.
func valueType(text string, ts []ner.Token, v fieldValue, tagged string) string {
	ok, plainName, plainPlace, named, placed := valueReads(text, ts, v.lo, v.hi, v.kind == lblAddress)
	if !ok {
		return ""
	}
	switch v.kind {
	case lblPerson:
		return Person
	case lblPlace:
		if plainPlace {
			return "" // "Country: Other"
		}
		return Location
	case lblAddress:
		// an address block may start with its addressee ("Billing address:
		// Ana Dias" above the street): a value without a number is typed
		// only when it holds a street, unit or listed place word and the
		// tagger did not read it as a name
		word := false
		for k := v.lo; k <= v.hi; k++ {
			if ts[k].Kind == ner.KNum {
				return Location
			}
			word = word || ts[k].Flags&(ner.FStreet|ner.FUnit|ner.FPlace) != 0
		}
		if word && tagged != Person {
			return Location
		}
		return ""
	case lblName:
		if tagged != "" || !plainName {
			return Person
		}
	case lblRoute:
		switch {
		case placed && !named:
			return Location // "FROM: NAIROBI"
		case tagged != "":
			return "" // the tagger's reading stands
		case placed:
			return Location
		case named:
			return Person
		}
	}
	return ""
}

// valueReads reports whether the tokens lo..hi read as a name or a place:
// one to five words (twelve with numbers in an address), a capitalised one
// among them that is no label, closed-class word, weekday or month, no
// lower-case word but name particles and function words (an address may
// also hold street words), no number unless address, and no "@", ":" or
// other punctuation than a name's or an address's ("-", ".", "'", "/", ",",
// brackets; an address also ":" and "#"). plainName: a capitalised word is an ordinary English, function,
// product or organisation word that no name list holds ("Platform");
// plainPlace: one that no place list holds ("Other"); named: a word is a
// listed given name or surname; placed: a word is a listed place.
func valueReads(text string, ts []ner.Token, lo, hi int, address bool) (ok, plainName, plainPlace, named, placed bool) {
	words, caps := 0, 0
	max := 5
	if address {
		max = 12
	}
	for k := lo; k <= hi; k++ {
		t := &ts[k]
		switch t.Kind {
		case ner.KNum:
			if !address {
				return
			}
			continue
		case ner.KPunct:
			switch text[t.S] {
			case '-', '.', '\'', '/', ',', '(', ')':
				continue
			case ':', '#':
				if address {
					continue // "Atatürk Bulvarı No: 45", "Unit #4"
				}
			}
			if t.Shape == ner.ShApos || t.Shape == ner.ShHyphen || t.Shape == ner.ShQuote && text[t.S] != '"' {
				continue
			}
			return
		}
		words++
		if words > max {
			return
		}
		f := t.Flags
		switch {
		case t.Shape == ner.ShLower:
			if f&(ner.FParticle|ner.FFunc) == 0 && !closedWord(text, t) && !(address && f&(ner.FStreet|ner.FUnit) != 0) {
				return
			}
			continue
		case t.Shape == ner.ShInit:
			continue
		}
		if kind, _ := labelAt(text, ts, k); kind != 0 && f&(ner.FGiven|ner.FSurname|ner.FPlace) == 0 || closedWord(text, t) || f&ner.FMonth != 0 && f&ner.FGiven == 0 {
			continue
		}
		if t.Shape == ner.ShUpper && t.E-t.S <= 4 && f&(ner.FGiven|ner.FSurname|ner.FPlace|ner.FPlacePre) == 0 {
			continue // "EMEA", "APAC": an acronym
		}
		caps++
		if f&(ner.FDict|ner.FCommon|ner.FFunc|ner.FProduct|ner.FOrg) != 0 {
			plainName = plainName || f&(ner.FGiven|ner.FSurname) == 0
			plainPlace = plainPlace || f&(ner.FPlace|ner.FPlacePre) == 0
		}
		named = named || f&(ner.FGiven|ner.FSurname) != 0
		placed = placed || f&(ner.FPlace|ner.FPlacePre) != 0
	}
	ok = caps > 0
	return
}
