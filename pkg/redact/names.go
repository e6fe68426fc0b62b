package redact

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

type word struct {
	s, e      int    // byte offsets
	flags     uint16 // gazetteer flags of the folded word
	cap       bool   // first letter upper case
	allCaps   bool
	initial   bool // single upper-case letter
	dot       bool // immediately followed by '.'
	sentStart bool // first word of a sentence/line/field
	spaceGap  bool // only spaces/tabs (or "X. " after an initial/title) between previous word and this one
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.Is(unicode.Mn, r) }

// tokenize splits text into letter words (with inner apostrophes/hyphens).
func tokenize(text string, s *scratch) {
	ws := s.words[:0]
	n := len(text)
	prevEnd := -1
	for i := 0; i < n; {
		r, size := rune(text[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
		}
		if !isWordRune(r) {
			i += size
			continue
		}
		st := i
		upper := unicode.IsUpper(r)
		allUp := upper
		letters := 0
		for i < n {
			r, size = rune(text[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(text[i:])
			}
			if isWordRune(r) {
				letters++
				if unicode.IsLower(r) {
					allUp = false
				}
				i += size
				continue
			}
			if (r == '\'' || r == '\u2019' || r == '-') && i+size < n {
				r2, _ := utf8.DecodeRuneInString(text[i+size:])
				if isWordRune(r2) {
					i += size
					continue
				}
			}
			break
		}
		if wordBefore(text, st) { // glued to digits: "3rd", "A1"
			prevEnd = i
			continue
		}
		w := word{s: st, e: i, cap: upper, allCaps: allUp && letters > 1, initial: upper && letters == 1}
		w.dot = i < n && text[i] == '.'
		// gap analysis
		if prevEnd < 0 {
			w.sentStart = true
		} else {
			gap := text[prevEnd:st]
			w.spaceGap = true
			for x := 0; x < len(gap); x++ {
				c := gap[x]
				if c == ' ' || c == '\t' {
					continue
				}
				w.spaceGap = false
				if c == '.' || c == '!' || c == '?' || c == '\n' || c == ':' || c == '"' || c == '(' || c == '*' || c == '>' {
					w.sentStart = true
				}
			}
			if !w.spaceGap && len(ws) > 0 {
				p := ws[len(ws)-1]
				// "Dr. Smith", "R. Janković": the dot does not end a sentence
				if p.dot && (p.initial || p.flags&fTitle != 0) && strings.TrimLeft(gap, ". \t") == "" {
					w.spaceGap = true
					w.sentStart = false
				}
			}
		}
		if letters <= 40 {
			s.buf = foldAppend(s.buf[:0], text[st:i])
			w.flags = lex[string(s.buf)]
		}
		ws = append(ws, w)
		prevEnd = i
	}
	s.words = ws
}

// lowerBefore returns up to max bytes of text before i, lower-cased ASCII,
// with trailing spaces trimmed (into s.buf).
func lowerBefore(text string, i, max int, s *scratch) string {
	j := i
	for j > 0 && (text[j-1] == ' ' || text[j-1] == '\t') {
		j--
	}
	k := j - max
	if k < 0 {
		k = 0
	}
	s.buf = s.buf[:0]
	for x := k; x < j; x++ {
		c := text[x]
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		s.buf = append(s.buf, c)
	}
	return string(s.buf) // small; only called at name candidates
}

var personCtx = []string{"name is", "name's", "names are", "named", "called", "name:", "name was", "last name", "first name", "surname", "surname:", "signed", "dear", "attn:", "attn", "sincerely,", "regards,", "my wife", "my husband", "my son", "my daughter", "my kid", "my brother", "my sister", "my mother", "my father", "my mom", "my dad", "my friend", "my boss", "my colleague", "my partner", "my uncle", "my aunt", "my cousin", "my grandmother", "my grandfather", "i am", "i'm", "this is", "contact", "speak to", "speak with", "talk to", "talk with", "ask for", "ask", "thanks", "thank you", "hi", "hello", "hey", "cc:", "from:", "to:", "user:", "patient", "author", "by", "with", "and", "met", "meet", "married", "told", "asked", "says", "said", "let", "for", "&", "spoke", "called", "directed by:", "written by:", "by:", "visited", "like", "to"}
var strongPersonCtx = map[string]bool{"name is": true, "name's": true, "named": true, "called": true, "name:": true, "name was": true, "last name": true, "first name": true, "surname": true, "surname:": true, "signed": true, "dear": true, "attn:": true, "attn": true, "names are": true, "directed by:": true, "written by:": true, "by:": true}

var locStrongCtx = []string{"live in", "lives in", "living in", "lived in", "moved to", "move to", "moving to", "born in", "located in", "based in", "flew to", "fly to", "flying to", "travel to", "traveled to", "travelled to", "trip to", "visit", "visiting", "visited", "city of", "town of", "village of", "state of", "country of", "capital of", "relocated to", "headquartered in", "grew up in", "raised in", "vacation in", "holiday in", "reside in", "resides in", "residing in", "we are in", "i am in", "i'm in", "arrived in", "arrive in", "near", "outside", "downtown", "from", "in", "to", "at", "of", "across", "around"}
var locWeak = map[string]bool{"from": true, "in": true, "to": true, "at": true, "of": true, "across": true, "around": true, "near": true, "outside": true, "downtown": true}

func endsWithWord(hay, w string) bool {
	if !strings.HasSuffix(hay, w) {
		return false
	}
	k := len(hay) - len(w)
	return k == 0 || !isAlnum(hay[k-1])
}

func matchCtx(before string, list []string) string {
	for _, c := range list {
		if endsWithWord(before, c) {
			return c
		}
	}
	return ""
}

// name-like surname morphology (Slavic, Nordic, Baltic, Greek, Georgian, ...)
var surnameSuffixes = []string{"ović", "ovic", "ević", "evic", "ić", "ová", "ova", "ská", "ski", "ska", "sky", "ský", "cki", "dzki", "wicz", "czyk", "sson", "ssen", "sen", "son", "berg", "ström", "strom", "stein", "mann", "enko", "idze", "adze", "shvili", "yan", "ian", "escu", "opoulos", "poulos", "akis", "oglu", "oğlu", "ucci", "etti", "elli", "ini", "ov", "ev", "eva", "ina", "kin", "ovich", "inen", "nen", "lainen", "dottir", "dóttir", "sdóttir", "ez", "es", "ães"}

func surnameLike(text string, w word) bool {
	if w.e-w.s < 5 || !w.cap || w.allCaps {
		return false
	}
	t := text[w.s:w.e]
	for _, suf := range surnameSuffixes {
		if strings.HasSuffix(t, suf) && len(t) > len(suf)+2 {
			return true
		}
	}
	return false
}

func (r *Redactor) findNames(text string, s *scratch, hasDigit bool) {
	tokenize(text, s)
	ws := s.words
	doPerson, doLoc := r.enabled(Person), r.enabled(Location)
	if doLoc {
		r.findPlaces(text, s)
		if hasDigit {
			findAddresses(text, s)
		}
	}
	if !doPerson {
		return
	}
	for i := 0; i < len(ws); i++ {
		w := ws[i]
		if !w.cap && i > 0 && w.flags&fStop == 0 && (w.flags&(fFirst|fLast) != 0) {
			before := lowerBefore(text, w.s, 16, s)
			if strongPersonCtx[matchCtx(before, personCtx)] {
				k := i + 1
				for k < len(ws) && k-i < 3 && ws[k].spaceGap && ws[k].flags&fStop == 0 {
					k++
				}
				s.add(w.s, ws[k-1].e, Person, prioPersonHi)
				i = k - 1
				continue
			}
		}
		if !w.cap || w.allCaps {
			continue
		}
		// Title: "Mr. X Y", "Dr Jane Doe"
		if w.flags&fTitle != 0 && (w.flags&fStop == 0 || w.dot || i+1 < len(ws)) {
			j := i + 1
			k := j
			for k < len(ws) && k-j < 3 && ws[k].cap && ws[k].spaceGap && ws[k].flags&fStop == 0 && !ws[k].allCaps {
				k++
			}
			if k > j && (w.flags&fStop != 0 || true) && (text[w.s:w.e] != "Lord" || k-j >= 1) {
				// require the title be a real title word followed by a name
				s.add(ws[j].s, ws[k-1].e, Person, prioPersonHi)
				i = k - 1
				continue
			}
		}
		if w.flags&fStop != 0 && w.flags&(fFirst|fLast) == 0 {
			continue
		}
		// the run of capitalised words starting here
		k := i + 1
		for k < len(ws) && k-i < 4 && ws[k].cap && ws[k].spaceGap && !ws[k].allCaps && (ws[k].flags&fStop == 0 || ws[k].initial) {
			k++
		}
		// a trailing initial is not part of the name
		for k > i+1 && ws[k-1].initial && !(k < len(ws) && ws[k].spaceGap && ws[k].cap) {
			k--
		}
		run := k - i
		first := w.flags&fFirst != 0 && w.flags&fStop == 0
		last := w.flags&fLast != 0 && w.flags&fStop == 0
		amb := w.flags&fAmbig != 0
		place := w.flags&(fPlace|fPlacePrefix) != 0
		before := ""
		if i > 0 {
			before = lowerBefore(text, w.s, 24, s)
		}
		ctx := matchCtx(before, personCtx)
		strong := strongPersonCtx[ctx]
		if run >= 2 {
			lastW := ws[k-1]
			lastIsSurname := (lastW.flags&fLast != 0 && lastW.flags&fStop == 0) || surnameLike(text, lastW) || (lastW.flags&fFirst != 0 && lastW.flags&fStop == 0)
			if (first && (!amb || lastIsSurname)) || strong || (lastIsSurname && !place && w.flags&fStop == 0 && (last || !w.sentStart || ctx != "")) {
				s.add(w.s, ws[k-1].e, Person, prioPerson)
				i = k - 1
				continue
			}
			// Unknown capitalised words: a name when the run fills a whole
			// line (signature/address block header) or stands mid-sentence
			// after a lower-case word, is not followed by a capitalised
			// organisation/stop word and contains no place.
			if run <= 3 && w.flags&fStop == 0 && !runHasPlace(ws[i:k]) && !(k < len(ws) && ws[k].cap && ws[k].spaceGap) {
				lineStart := w.sentStart && lineStartAt(text, w.s)
				lineEnd := k == len(ws) || lineEndAt(text, ws[k-1].e)
				if (lineStart && lineEnd) || (!w.sentStart && i > 0 && !ws[i-1].cap) {
					s.add(w.s, ws[k-1].e, Person, prioPerson-1)
					i = k - 1
				}
			}
			continue
		}
		// single capitalised word
		speaker := w.sentStart && lineStartAt(text, w.s) && w.e < len(text) && text[w.e] == ':' && w.flags&(fStop|fPlace) == 0
		switch {
		case speaker:
			s.add(w.s, w.e, Person, prioPerson)
		case strong:
			s.add(w.s, w.e, Person, prioPersonHi)
		case first && !amb:
			s.add(w.s, w.e, Person, prioPerson)
		case last && !amb && (!w.sentStart || ctx != ""):
			s.add(w.s, w.e, Person, prioPerson)
		case (first || last) && amb && ctx != "" && !locWeak[ctx]:
			s.add(w.s, w.e, Person, prioPerson)
		case ctx != "" && !locWeak[ctx] && !place && w.flags == 0 && surnameLike(text, w):
			s.add(w.s, w.e, Person, prioPerson)
		}
	}
}

// findPlaces: gazetteer places (multi-word first) and places after strong
// location context ("lives in X", "moved to X").
func (r *Redactor) findPlaces(text string, s *scratch) {
	ws := s.words
	for i := 0; i < len(ws); i++ {
		w := ws[i]
		if !w.cap {
			continue
		}
		matched := 0
		if w.flags&fPlacePrefix != 0 {
			for n := min(maxPhr, len(ws)-i); n >= 2; n-- {
				s.buf = s.buf[:0]
				ok := true
				for x := i; x < i+n; x++ {
					if x > i {
						if !(ws[x].spaceGap || (ws[x-1].dot && text[ws[x-1].e:ws[x].s] == ". ")) {
							ok = false
							break
						}
						s.buf = append(s.buf, ' ')
					}
					s.buf = foldAppend(s.buf, text[ws[x].s:ws[x].e])
					if x > i && ws[x-1].dot && text[ws[x-1].e:ws[x].s] == ". " {
						// "St. Louis": key contains "st. louis"
						s.buf = append(s.buf[:len(s.buf)-(ws[x].e-ws[x].s)-1], '.', ' ')
						s.buf = foldAppend(s.buf, text[ws[x].s:ws[x].e])
					}
				}
				if ok && phrases[string(s.buf)] {
					matched = n
					break
				}
			}
		}
		before := ""
		if i > 0 {
			before = lowerBefore(text, w.s, 24, s)
		}
		ctx := matchCtx(before, locStrongCtx)
		prio := prioLoc
		if ctx != "" {
			prio = prioLocHi
		}
		if matched > 0 {
			s.add(w.s, ws[i+matched-1].e, Location, prio)
			i += matched - 1
			continue
		}
		if w.flags&fPlace != 0 && w.flags&fStop == 0 {
			// a place that is also a given name/ambiguous word needs context
			if w.flags&(fFirst|fAmbig) != 0 && ctx == "" && !w.allCaps {
				continue
			}
			s.add(w.s, w.e, Location, prio)
			continue
		}
		if ctx != "" && !locWeak[ctx] && w.flags&(fStop|fFirst) == 0 && !w.allCaps {
			k := i + 1
			for k < len(ws) && k-i < 3 && ws[k].cap && ws[k].spaceGap && ws[k].flags&fStop == 0 {
				k++
			}
			s.add(w.s, ws[k-1].e, Location, prioLocHi)
			i = k - 1
			continue
		}
		// weak context ("in X", "from X"): a single unknown capitalised
		// word that is not sentence initial and not followed by another
		// capitalised word (which would more likely be an organisation).
		if ctx != "" && locWeak[ctx] && (ctx == "in" || ctx == "near" || ctx == "from") && w.flags == 0 && !w.sentStart && !w.allCaps &&
			!(i+1 < len(ws) && ws[i+1].cap && ws[i+1].spaceGap) && w.e-w.s >= 4 && !surnameLike(text, w) {
			s.add(w.s, w.e, Location, prioLoc)
		}
	}
}

var (
	unitRe    = regexp.MustCompile(`(?i)\b(?:apt|apartment|suite|ste|unit|room|flat|floor|fl)\.?\s?#?\s?\d+[a-z]?\b`)
	poBoxRe   = regexp.MustCompile(`(?i)\bp\.?\s?o\.?\s?box\s+\d+\b|\bPSC\s+\d+,?\s+Box\s+\d+\b|\b[AFD]PO\s+A[AEP]\s+\d{5}\b|\bUnit\s+\d+\s+Box\s+\d+\b|\bUSN?[SV]\s+\p{Lu}\w+\b`)
	streetRe  = regexp.MustCompile(`\b\d{1,6}[A-Za-z]?(?:\s\p{Lu}[\p{L}'.-]*){1,4}\s(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|Terrace|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Crescent|Close|Mews|Row|Alley|Plaza|Path|Walk|Loop|Pike|Expressway|Freeway|Greens?|Heights|Park|Hills?|Pass|Union|Mall|Prairie|Islands?|Landing|Ridge|Ranch|Crossing|View|Vista|Station|Point|Port|Harbor|Gardens|Grove|Fort|Falls|Ferry|Fields?|Glen|Haven|Hollow|Junction|Knoll|Manor|Meadows?|Mills?|Mission|Motorway|Orchard|Oval|Route|Shores?|Springs?|Summit|Valley|Village|Ville|Wells?|Estates?|Flats?|Gateway|Lakes?|Stream|Underpass|Viaduct)\b\.?`)
	sufStRe   = regexp.MustCompile(`\b\p{Lu}[\p{L}-]*(?:vej|gade|gatan|vägen|vagen|straße|strasse|str\.|weg|katu|kuja|tie|utca|ulica|vei|veien|laan|straat|gasse|platz|allee|stræde|väg|polku|rinne|stien|gata|veg|vegen|torget|torg|plass|cesta|ulice|třída|náměstí|út|útja|sor|körút)\s\d{1,5}[a-zA-Z]?\b\.?`)
	preStRe   = regexp.MustCompile(`\b(?:Rua|Via|Viale|Calle|Avenida|Av\.|Rue|Piazza|Largo|Travessa|Plaza|Camino|Carrer|ul\.|ulica|Strada|Corso|Paseo|Praça|Estrada|Rambla|Boulevard|Avenue)\s(?:\p{L}[\p{L}'.-]*\s){0,5}\d{1,5}\b`)
	numNameRe = regexp.MustCompile(`\b\d{1,6}\s\p{Lu}[\p{L}'-]+(?:\s\p{Lu}[\p{L}'-]+){0,2}\s\d{1,4}\b\.?`)
	cityStRe  = regexp.MustCompile(`\b\p{Lu}[\p{L}'.-]+(?:\s\p{Lu}[\p{L}'.-]+){0,2},\s?[A-Z]{2}\s\d{5}(?:-\d{4})?\b`)
	addrCtxRe = regexp.MustCompile(`(?i)\b(?:address(?:\s+is)?|addr|located\s+at|lives?\s+at|living\s+at|resides?\s+at|residing\s+at|ship(?:ped)?\s+to|deliver(?:ed)?\s+to|send\s+(?:it\s+)?to|mail\s+(?:it\s+)?to)\s*:?\s+`)
)

func anchored(re *regexp.Regexp) *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + re.String() + `)`)
}

var (
	streetA  = anchored(streetRe)
	numNameA = anchored(numNameRe)
	sufStA   = anchored(sufStRe)
)

var unitWords = []string{"apt", "suite", "ste", "unit", "room", "flat", "floor", "fl"}
var preStWords = []string{"Rua", "Via", "Viale", "Calle", "Avenida", "Av.", "Rue", "Piazza", "Largo", "Travessa", "Plaza", "Camino", "Carrer", "ul.", "ulica", "Strada", "Corso", "Paseo", "Praça", "Estrada", "Rambla", "Boulevard", "Avenue"}

func addAll(re *regexp.Regexp, text string, off int, s *scratch, prio int) {
	for _, m := range re.FindAllStringIndex(text, -1) {
		s.add(off+m[0], off+m[1], Location, prio)
	}
}

// findAddresses runs the address patterns, each only where a cheap
// prefilter says it can match (the unicode-class regexps are expensive when
// run over every position).
func findAddresses(text string, s *scratch) {
	for _, w := range unitWords {
		if indexFold(text, w) >= 0 {
			addAll(unitRe, text, 0, s, prioAddress)
			break
		}
	}
	if indexFold(text, "box") >= 0 || strings.Contains(text, "PO ") || strings.Contains(text, "USN") {
		addAll(poBoxRe, text, 0, s, prioAddress)
	}
	for _, w := range preStWords {
		if strings.Contains(text, w) {
			addAll(preStRe, text, 0, s, prioAddress)
			break
		}
	}
	n := len(text)
	for p := 0; p < n; p++ {
		if !isDigit(text[p]) || (p > 0 && isDigit(text[p-1])) || wordBefore(text, p) {
			continue
		}
		q := p
		for q < n && isDigit(text[q]) {
			q++
		}
		// number followed by a capitalised word: "1600 Pennsylvania Avenue", "6750 Koskikatu 25"
		if q+1 < n && (text[q] == ' ' || (q+2 < n && isAlpha(text[q]) && text[q+1] == ' ')) {
			win := text[p:min(n, p+160)]
			if m := streetA.FindStringIndex(win); m != nil {
				s.add(p, p+m[1], Location, prioAddress)
			} else if m := numNameA.FindStringIndex(win); m != nil {
				s.add(p, p+m[1], Location, prioAddress)
			}
		}
		// street name with suffix before the number: "Mellemvej 32"
		if p >= 2 && text[p-1] == ' ' && !isDigit(text[p-2]) && text[p-2] != ' ' {
			w := p - 1
			for w > 0 {
				r, size := utf8.DecodeLastRuneInString(text[:w])
				if !(isWordRune(r) || r == '-' || r == '.') {
					break
				}
				w -= size
			}
			if w < p-2 {
				if m := sufStA.FindStringIndex(text[w:min(n, q+2)]); m != nil {
					s.add(w, w+m[1], Location, prioAddress)
				}
			}
		}
		// "City, ST 12345"
		if q-p == 5 && p >= 5 && text[p-1] == ' ' && text[p-2] >= 'A' && text[p-2] <= 'Z' && text[p-3] >= 'A' && text[p-3] <= 'Z' {
			lo := max(0, p-60)
			addAll(cityStRe, text[lo:min(n, q+5)], lo, s, prioAddress)
		}
		p = q
	}
	// "address is <...>", "Address: <...>": the rest of the line when it
	// contains a digit.
	for _, m := range addrCtxRe.FindAllStringIndex(text, -1) {
		st := m[1]
		e := st
		digit := false
		for e < len(text) && e-st < 160 {
			c := text[e]
			if c == '\n' && !(e+1 < len(text) && (text[e+1] == ' ' || text[e+1] == ',')) {
				break
			}
			if c == '?' || c == '!' || c == ';' {
				break
			}
			if c == '.' && (e+1 >= len(text) || text[e+1] == ' ' || text[e+1] == '\n') {
				// keep abbreviations like "Apt." "St." "P.O."
				k := e
				for k > st && isAlpha(text[k-1]) {
					k--
				}
				if e-k > 3 || e == k {
					break
				}
			}
			if isDigit(c) {
				digit = true
			}
			e++
		}
		for e > st && (text[e-1] == ' ' || text[e-1] == ',' || text[e-1] == '.' || text[e-1] == '\n') {
			e--
		}
		if digit && e > st {
			s.add(st, e, Location, prioAddress+1)
		}
	}
}

func runHasPlace(ws []word) bool {
	for _, w := range ws {
		if w.flags&(fPlace|fPlacePrefix) != 0 {
			return true
		}
	}
	return false
}

func lineStartAt(text string, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch text[j] {
		case ' ', '\t', '>', '*', '-':
			continue
		case '\n':
			return true
		}
		return false
	}
	return true
}

func lineEndAt(text string, i int) bool {
	for j := i; j < len(text); j++ {
		switch text[j] {
		case ' ', '\t', '\r', ',':
			continue
		case '\n':
			return true
		}
		return false
	}
	return true
}

// nameParticles start a surname ("van Rossum", "de la Cruz" is not handled).
var nameParticles = map[string]bool{"van": true, "von": true, "de": true, "der": true, "den": true, "da": true, "di": true, "del": true, "della": true, "le": true, "la": true, "dos": true, "das": true, "du": true, "des": true, "ter": true, "ten": true, "bin": true, "ibn": true, "al": true}

// knownName: a given name or surname of the gazetteers that is not a stop word.
func knownName(w word) bool { return w.flags&(fFirst|fLast) != 0 && w.flags&fStop == 0 }

// nameToken: a capitalised word that can be part of a name.
func nameToken(w word) bool {
	return w.cap && !w.allCaps && w.flags&(fStop|fTitle) == 0 && (w.flags&fPlace == 0 || knownName(w))
}

// spacesOnly reports whether text[i:j] is one or two spaces/tabs.
func spacesOnly(text string, i, j int) bool {
	if j <= i || j-i > 2 {
		return false
	}
	for x := i; x < j; x++ {
		if text[x] != ' ' && text[x] != '\t' {
			return false
		}
	}
	return true
}

// extendPersons grows kept PERSON spans (sorted by start, non-overlapping)
// over an adjacent capitalised word, so that the other half of a two-part
// name does not survive when only one half was recognised (typically an
// actor's name part inside a colleague's full name: "Richard <PERSON>"). A
// word to the right is taken when it is a known name or the span ends in a
// known given name; a word to the left when it is a known name, or the span
// starts with a known surname and the word does not start a sentence.
//
// The actor's own given name and surname count as known names.
func extendPersons(text string, s *scratch, kept []cand) {
	ws := s.words
	isFirst := func(w word) bool {
		return (w.flags&fFirst != 0 && w.flags&fStop == 0) || (s.actorFirst != "" && text[w.s:w.e] == s.actorFirst)
	}
	isLast := func(w word) bool {
		return (w.flags&fLast != 0 && w.flags&fStop == 0) || (s.actorLast != "" && text[w.s:w.e] == s.actorLast)
	}
	wi := 0
	for k := range kept {
		c := &kept[k]
		if c.typ != Person || text[c.start] == '@' {
			continue
		}
		for wi < len(ws) && ws[wi].e <= c.start {
			wi++
		}
		// first and last word of the span, by exact boundaries
		first, last := -1, -1
		for x := wi; x < len(ws) && ws[x].s < c.end; x++ {
			if ws[x].s == c.start {
				first = x
			}
			if ws[x].e == c.end {
				last = x
			}
		}
		if first < 0 || last < 0 || !ws[first].cap || !ws[last].cap {
			continue
		}
		lo := 0
		if k > 0 {
			lo = kept[k-1].end
		}
		hi := len(text)
		if k+1 < len(kept) {
			hi = kept[k+1].start
		}
		// left
		for n := 0; n < 2 && first > 0; n++ {
			p := ws[first-1]
			if p.s < lo || !nameToken(p) || !spacesOnly(text, p.e, c.start) {
				break
			}
			if !(knownName(p) || (isLast(ws[first]) && !p.sentStart)) {
				break
			}
			c.start = p.s
			first--
		}
		// right
		for n := 0; n < 2 && last+1 < len(ws); n++ {
			q := ws[last+1]
			// "Margaret <van Rossum>": a surname particle and a capitalised word
			if !q.cap && last+2 < len(ws) && nameParticles[text[q.s:q.e]] && spacesOnly(text, c.end, q.s) {
				q2 := ws[last+2]
				if q2.e <= hi && nameToken(q2) && spacesOnly(text, q.e, q2.s) && (knownName(q2) || isFirst(ws[last])) {
					c.end = q2.e
					last += 2
					continue
				}
				break
			}
			if q.e > hi || !nameToken(q) || !spacesOnly(text, c.end, q.s) {
				break
			}
			if !(knownName(q) || isFirst(ws[last])) {
				break
			}
			c.end = q.e
			last++
		}
	}
}
