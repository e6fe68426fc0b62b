package redact

import (
	"strings"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// Round 27: closed classes of capitalised words that name a date, a
// language or a piece of work jargon, not anyone or anywhere — festivals
// and holidays of many calendars ("Eid al-Fitr", "Nowruz", "Semana
// Santa"), weekday and month ranges ("Mon-Wed"), severity levels, time
// zones, environments and compliance standards ("Sev2", "UTC", "UAT",
// "SOC 2 Type II"), languages ("Quechua", "Bahasa Indonesia"), partner
// tiers ("Gold" in a line about tiers) and the labels that open a line of
// notes ("Handoff to CS", "Blocker:"). Every list below is written from
// what its words mean, not from any corpus; a word that a name list also
// holds (Eid, Easter, English, Gold) is dropped only where the context
// says it is the date, the language or the label (closedClassSpan, called
// from emitTagSpan).

// festivals are holidays, festivals and seasons of many calendars, folded
// to lower case, words joined by one space (a hyphenated word stays one
// word: "eid al-fitr"). One-word entries that are also listed given names
// or surnames (eid, easter, christmas, ramadan) need a date's context
// (festivalContext).
var festivals = phraseSet(`
	eid|eid al-fitr|eid al-adha|eid ul-fitr|eid ul-adha|eid mubarak|ramadan|ramazan|iftar|muharram|ashura|mawlid|isra mi'raj|
	kurban bayramı|kurban bayrami|ramazan bayramı|ramazan bayrami|şeker bayramı|seker bayrami|bayram|
	idul fitri|idul adha|idul fitri|lebaran|hari raya|hari raya puasa|hari raya haji|tabaski|sham el-nessim|sham el nessim|
	nowruz|norouz|navruz|nevruz|yalda|
	diwali|deepavali|holi|navratri|dussehra|durga puja|ganesh chaturthi|onam|pongal|raksha bandhan|janmashtami|baisakhi|vaisakhi|
	lohri|makar sankranti|ugadi|gudi padwa|karva chauth|chhath|guru nanak jayanti|eid-ul-fitr|
	chuseok|seollal|songkran|loy krathong|vesak|wesak|tết|tet|obon|golden week|hanami|tanabata|matariki|waitangi day|anzac day|
	lunar new year|chinese new year|mid-autumn festival|dragon boat festival|qingming|spring festival|
	hanukkah|chanukah|passover|pesach|rosh hashanah|yom kippur|sukkot|purim|shavuot|
	christmas|christmas eve|christmas day|easter|easter sunday|easter weekend|good friday|pentecost|whitsun|lent|advent|epiphany|
	semana santa|día de los muertos|dia de los muertos|día de muertos|las posadas|carnaval|carnival|karneval|fasching|rosenmontag|
	karfreitag|ostern|pfingsten|weihnachten|silvester|fronleichnam|midsommar|juhannus|påske|pâques|pascua|noël|navidad|natal|
	nochebuena|reyes|día de reyes|sankt hans|hogmanay|thanksgiving|black friday|cyber monday|juneteenth|kwanzaa|
	halloween|diwali week|bastille day|king's day|koningsdag|oktoberfest|fiestas patrias|inti raymi|
`)

// festivalFirst holds the first word of every festival, for a cheap test
// before the span's words are joined.
var festivalFirst = firstWords(festivals)

// festivalNouns follow a festival's name in a date ("Diwali week", "Eid
// break", "Christmas holidays").
var festivalNouns = map[string]bool{
	"week": true, "weekend": true, "break": true, "holiday": true, "holidays": true, "eve": true, "season": true,
	"period": true, "sale": true, "party": true, "vacation": true, "leave": true, "rush": true, "freeze": true,
}

// datePreps stand before a date ("after Eid", "since Christmas", "during
// Ramadan").
var datePreps = map[string]bool{
	"after": true, "before": true, "during": true, "since": true, "until": true, "till": true, "over": true,
	"around": true, "for": true, "by": true, "through": true, "throughout": true, "ahead": true, "post": true, "pre": true,
}

// languages are the names of languages (and the phrases that name one:
// "bahasa indonesia", "te reo māori") and of nationalities ("iranian",
// "nigerian"), folded to lower case. Those a name list also holds
// (english, french, german, irish, dutch, iraqi, swiss …) need a
// language's context (see language). "Saudi" is left out: "in Saudi" is
// said for the country.
var languages = phraseSet(`
	english|arabic|quechua|aymara|guarani|nahuatl|navajo|cherokee|somali|amharic|tigrinya|oromo|swahili|kiswahili|yoruba|igbo|
	hausa|zulu|xhosa|afrikaans|sesotho|setswana|kinyarwanda|wolof|twi|akan|lingala|shona|malagasy|hindi|urdu|bengali|bangla|
	punjabi|gujarati|marathi|tamil|telugu|kannada|malayalam|sinhala|nepali|pashto|dari|farsi|persian|kurdish|turkish|azerbaijani|
	kazakh|uzbek|kyrgyz|tajik|turkmen|mongolian|tibetan|mandarin|cantonese|chinese|japanese|korean|vietnamese|thai|lao|khmer|
	burmese|tagalog|filipino|cebuano|indonesian|malay|javanese|sundanese|bahasa|bahasa indonesia|bahasa melayu|tiếng việt|
	hawaiian|tongan|samoan|fijian|maori|māori|te reo|te reo māori|te reo maori|hebrew|yiddish|greek|russian|ukrainian|belarusian|
	polish|czech|slovak|slovenian|croatian|serbian|bosnian|bulgarian|macedonian|romanian|hungarian|albanian|lithuanian|latvian|
	estonian|finnish|swedish|norwegian|danish|icelandic|faroese|dutch|flemish|german|french|spanish|portuguese|italian|catalan|
	basque|galician|welsh|irish|gaelic|breton|maltese|luxembourgish|esperanto|latin|georgian|armenian|inuktitut|cree|ojibwe|
	sami|creole|haitian creole|brazilian portuguese|mandarin chinese|simplified chinese|traditional chinese|
	american|british|canadian|mexican|brazilian|argentine|argentinian|chilean|peruvian|colombian|venezuelan|bolivian|
	ecuadorian|cuban|jamaican|nigerian|kenyan|ghanaian|ethiopian|egyptian|moroccan|algerian|tunisian|senegalese|tanzanian|
	ugandan|rwandan|iranian|iraqi|syrian|lebanese|jordanian|emirati|qatari|omani|kuwaiti|yemeni|israeli|palestinian|
	pakistani|indian|bangladeshi|sri lankan|nepalese|afghan|taiwanese|singaporean|malaysian|australian|european|african|
	asian|latino|latina|hispanic|scandinavian|nordic|swiss|austrian|belgian|scottish|
`)

var languageFirst = firstWords(languages)

// languageNouns follow a language used as a modifier ("Somali UI",
// "Arabic RTL", "English version", "Spanish copy").
var languageNouns = map[string]bool{
	"ui": true, "ux": true, "rtl": true, "ltr": true, "version": true, "versions": true, "copy": true, "translation": true,
	"translations": true, "locale": true, "locales": true, "support": true, "keyboard": true, "speaker": true, "speakers": true,
	"text": true, "content": true, "subtitles": true, "voice": true, "course": true, "lessons": true, "class": true, "classes": true,
	"interface": true, "site": true, "page": true, "pages": true, "edition": true, "strings": true, "market": true, "font": true,
}

// languageVerbs and prepositions stand before a language ("speaks
// Somali", "in English", "into Arabic").
var languageVerbs = map[string]bool{
	"in": true, "into": true, "speaks": true, "speak": true, "speaking": true, "spoke": true, "learn": true, "learning": true,
	"translate": true, "translated": true, "native": true, "fluent": true, "and": true, "or": true,
}

// jargon are capitalised words of operations, engineering, security and
// sales writing that no name list should win over: time zones,
// environments, compliance standards, severity prefixes, sales and
// finance acronyms. Upper-case entries match in capitals only.
var jargon = map[string]bool{
	// time zones
	"UTC": true, "GMT": true, "CET": true, "CEST": true, "EET": true, "EEST": true, "WET": true, "BST": true,
	"IST": true, "JST": true, "KST": true, "PST": true, "PDT": true, "EST": true, "EDT": true, "CST": true, "CDT": true,
	"MST": true, "MDT": true, "AEST": true, "AEDT": true, "NZST": true, "NZDT": true, "SGT": true, "HKT": true, "WIB": true,
	"EAT": true, "WAT": true, "SAST": true, "MSK": true, "TRT": true, "GST": true, "PKT": true,
	// environments and testing
	"UAT": true, "QA": true, "SIT": true, "PROD": true, "DEV": true, "STG": true, "CI": true, "CD": true,
	// compliance and standards
	"GDPR": true, "HIPAA": true, "CCPA": true, "SOC": true, "ISO": true, "PCI": true, "DSS": true, "FEDRAMP": true, "LGPD": true,
	"DPA": true, "DPIA": true, "SOX": true, "NIST": true, "WCAG": true,
	// sales, finance and people acronyms
	"IBAN": true, "BIC": true, "SWIFT": true, "ARR": true, "MRR": true, "ACV": true, "TCV": true, "QBR": true, "POC": true,
	"SOW": true, "MSA": true, "NDA": true, "RFP": true, "RFI": true, "CRM": true, "ERP": true, "MQL": true, "MQLs": true,
	"SQL": true, "SQLs": true, "SLA": true, "SLO": true, "SLI": true, "KPI": true, "OKR": true, "OKRs": true, "NPS": true,
	"CSAT": true, "ROI": true, "EOD": true, "ETA": true, "PTO": true, "OOO": true, "RTO": true, "RPO": true, "MTTR": true,
	// product and engineering
	"UI": true, "UX": true, "RTL": true, "SSO": true, "SAML": true, "MFA": true, "API": true, "SDK": true, "CLI": true,
	"SSR": true, "DX": true, "CDN": true, "DNS": true, "VPN": true, "VPC": true, "IAM": true,
}

// severityWords number an incident's severity or a task's priority
// ("Sev1", "SEV-2", "P0").
var severityWords = map[string]bool{"sev": true, "severity": true, "prio": true, "priority": true}

// tierWords are the names of partner, customer and support tiers; they
// are dropped in a line that speaks of tiers ("Partner tier review:
// Deloitte moves to Gold").
var tierWords = map[string]bool{
	"gold": true, "silver": true, "bronze": true, "platinum": true, "diamond": true, "titanium": true, "registered": true,
	"premier": true, "elite": true,
}

// noteLabels open a line or sentence of notes, a ticket or a CRM record
// ("Handoff to CS:", "Blocker: InfoSec review", "Upsell opportunity",
// "Repro in Go 1.22", "Headcount plan"): English nouns of workplace
// writing that a tagger may take for a name at the start of a line.
var noteLabels = map[string]bool{
	"handoff": true, "handover": true, "blocker": true, "blockers": true, "upsell": true, "cross-sell": true, "repro": true,
	"headcount": true, "comms": true, "recap": true, "todo": true, "todos": true, "followup": true, "follow-up": true,
	"kickoff": true, "debrief": true, "takeaway": true, "takeaways": true, "outcome": true, "outcomes": true, "agenda": true,
	"attendees": true, "decision": true, "decisions": true, "risk": true, "risks": true, "ask": true, "asks": true,
	"nextsteps": true, "workaround": true, "rollout": true, "rollback": true, "postmortem": true, "retro": true,
	"hackathon": true, "offsite": true, "onsite": true, "standup": true, "ai": true, "tl": true, "tldr": true, "fyi": true,
}

// closedClassSpan reports whether the tagger span ts[a..b] is a festival,
// a weekday or month range, a severity level, a jargon acronym or
// standard, a language, a tier in a line about tiers or a label opening a
// line of notes.
func closedClassSpan(text string, ts []ner.Token, a, b int) bool {
	if a > b {
		return false
	}
	if acronymRun(text, ts, a, b) {
		return true
	}
	if ts[a].Kind != ner.KWord {
		return false
	}
	if dayRange(text, ts, a, b) || jargonSpan(text, ts, a, b) {
		return true
	}
	// one look-up of the first word says which of the lists may hold the span
	c := firstClass[string(foldASCII(&[16]byte{}, text[ts[a].S:ts[a].E]))]
	return c&cFestival != 0 && festival(text, ts, a, b) || c&cSeverity != 0 && severity(text, ts, a, b) ||
		c&cLanguage != 0 && language(text, ts, a, b) || c&cTier != 0 && tierName(text, ts, a, b) ||
		c&cLabel != 0 && noteLabel(text, ts, a, b)
}

// Classes of a span's first word (firstClass).
const (
	cFestival uint8 = 1 << iota
	cSeverity
	cLanguage
	cTier
	cLabel
)

// firstClass maps the folded first word of every entry of festivals,
// severityWords, languages, tierWords and noteLabels to its classes.
var firstClass = func() map[string]uint8 {
	m := map[string]uint8{}
	for c, set := range map[uint8]map[string]bool{cFestival: festivalFirst, cSeverity: severityWords, cLanguage: languageFirst, cTier: tierWords, cLabel: noteLabels} {
		for w := range set {
			m[w] |= c
		}
	}
	return m
}()

// foldASCII lower-cases the ASCII letters of w into buf; a word longer
// than buf folds to "", which no list holds.
func foldASCII(buf *[16]byte, w string) []byte {
	if len(w) > len(buf) {
		return nil
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return buf[:len(w)]
}

// festival reports whether the span's words are a festival's name. A
// one-word festival that is also a listed given name or surname ("Eid",
// "Easter", "Christmas") needs a date's context: a date preposition before
// it ("after Eid") or a festival noun after it ("Eid break").
func festival(text string, ts []ner.Token, a, b int) bool {
	if !foldIn(festivalFirst, text[ts[a].S:ts[a].E]) || !phraseIn(festivals, text, ts, a, b) {
		return false
	}
	if a == b && ts[a].Flags&(ner.FGiven|ner.FSurname) != 0 {
		return prevWordIn(text, ts, a, datePreps) || nextWordIn(text, ts, b, festivalNouns)
	}
	return true
}

// dayRange reports whether the span is one word of weekday or month
// names joined by hyphens ("Mon-Wed", "Jan-Mar", "Tuesday-Thursday").
func dayRange(text string, ts []ner.Token, a, b int) bool {
	if a != b {
		return false
	}
	w := text[ts[a].S:ts[a].E]
	if strings.IndexByte(w, '-') < 0 {
		return false
	}
	for w != "" {
		p, rest, _ := strings.Cut(w, "-")
		if p == "" || ner.Flags(p)&ner.FMonth == 0 {
			return false
		}
		w = rest
	}
	return true
}

// severity reports whether the span is a severity or priority word glued
// to a one-digit number ("Sev1", "SEV-2", "Sev 3").
func severity(text string, ts []ner.Token, a, b int) bool {
	if b > a+2 || !foldIn(severityWords, text[ts[a].S:ts[a].E]) {
		return false
	}
	k := a + 1
	if k < len(ts) && ts[k].Shape == ner.ShHyphen && !ts[k].Space {
		k++
	}
	return k < len(ts) && k >= b && ts[k].Kind == ner.KNum && ts[k].E-ts[k].S == 1
}

// jargonSpan reports whether the span opens with a jargon acronym written
// in capitals in a line that is not all capitals ("UTC", "Found in UAT",
// "SOC 2 Type II audit", "ISO 27001"): every further word of the span is
// a capitalised word without a name flag, a Roman numeral or a number.
func jargonSpan(text string, ts []ner.Token, a, b int) bool {
	t := &ts[a]
	if t.Shape != ner.ShUpper && !(t.Shape == ner.ShMixed && strings.HasSuffix(text[t.S:t.E], "s")) || !jargon[text[t.S:t.E]] {
		return false
	}
	for i := a + 1; i <= b; i++ {
		u := &ts[i]
		switch {
		case u.Kind == ner.KNum, u.Kind == ner.KPunct:
		case u.Kind == ner.KWord && u.Flags&(ner.FGiven|ner.FSurname|ner.FPlace) == 0:
		case u.Kind == ner.KWord && u.Shape == ner.ShUpper && romanNumeral(text[u.S:u.E]):
		case u.Shape == ner.ShUpper && u.E-u.S == 2 && i+1 < len(ts) && ts[i+1].Kind == ner.KNum && !ts[i+1].Space:
			// "IBAN NO93…": an account number's country prefix
		default:
			return false
		}
	}
	return lineHasLower(ts, a)
}

// romanNumeral reports whether w is I, II, III or IV ("SOC 2 Type II").
func romanNumeral(w string) bool {
	return w == "I" || w == "II" || w == "III" || w == "IV"
}

// lineHasLower reports whether the line of token k holds a lower-case
// word within lineReach tokens (text in capitals spells names in
// capitals too).
func lineHasLower(ts []ner.Token, k int) bool {
	lo, hi := lineAround(ts, k, k)
	for i := lo; i <= hi; i++ {
		if ts[i].Kind == ner.KWord && ts[i].Shape == ner.ShLower {
			return true
		}
	}
	return false
}

// language reports whether the span's words name a language ("Quechua",
// "Bahasa Indonesia", "Te Reo Māori"). A language that a name or place
// list also holds ("English", "German", "Irish") needs a language's
// context: a modifier use ("English version", "Somali UI") or a verb or
// preposition of languages before it ("in English", "speaks German").
// After a title it is a name ("Mr English").
func language(text string, ts []ner.Token, a, b int) bool {
	if !foldIn(languageFirst, text[ts[a].S:ts[a].E]) {
		return false
	}
	for b > a && ts[b].Kind == ner.KWord && foldIn(languageNouns, text[ts[b].S:ts[b].E]) && !phraseIn(languages, text, ts, a, b) {
		b-- // "Arabic RTL", "Somali UI": the language and what it is used for
	}
	if !phraseIn(languages, text, ts, a, b) {
		return false
	}
	if a > 0 && ts[a-1].Kind == ner.KWord && ts[a-1].Flags&ner.FTitle != 0 {
		return false
	}
	if a == b && ts[a].Flags&(ner.FGiven|ner.FSurname|ner.FPlace) != 0 {
		return prevWordIn(text, ts, a, languageVerbs) || nextWordIn(text, ts, b, languageNouns)
	}
	return true
}

// tierName reports whether the span is one tier word ("Gold", "Silver")
// in a line that holds the word "tier" or "tiers".
func tierName(text string, ts []ner.Token, a, b int) bool {
	if a != b || !foldIn(tierWords, text[ts[a].S:ts[a].E]) {
		return false
	}
	lo, hi := lineAround(ts, a, a)
	for i := lo; i <= hi; i++ {
		if ts[i].Kind == ner.KWord && tierWord(text, &ts[i]) {
			return true
		}
	}
	return false
}

func tierWord(text string, t *ner.Token) bool {
	w := text[t.S:t.E]
	return strings.EqualFold(w, "tier") || strings.EqualFold(w, "tiers")
}

// noteLabel reports whether the span is one note label that no lexicon
// list holds ("the Hackathon", "Handoff to CS"), or a listed one opening a
// line or a sentence and followed by a colon or a lower-case word
// ("Blocker: InfoSec review": Blocker is a listed surname). A label that
// is also a listed given name ("Ai") needs the colon.
func noteLabel(text string, ts []ner.Token, a, b int) bool {
	if a != b || !foldIn(noteLabels, text[ts[a].S:ts[a].E]) {
		return false
	}
	if ts[a].Flags == 0 {
		return true // "joining the Hackathon on Saturday": a word no list holds is no name anywhere
	}
	if !(a == 0 || ts[a].NL || ts[a-1].Shape == ner.ShDot || ts[a-1].Shape == ner.ShSentEnd) || b+1 >= len(ts) || ts[b+1].NL {
		return false
	}
	n := &ts[b+1]
	if n.Shape == ner.ShColon {
		return true
	}
	return ts[a].Flags&ner.FGiven == 0 && n.Kind == ner.KWord && n.Shape == ner.ShLower
}

// prevWordIn reports whether the word before token k, folded, is in m.
func prevWordIn(text string, ts []ner.Token, k int, m map[string]bool) bool {
	return k > 0 && ts[k-1].Kind == ner.KWord && !ts[k].NL && foldIn(m, text[ts[k-1].S:ts[k-1].E])
}

// nextWordIn reports whether the word after token k, folded, is in m.
func nextWordIn(text string, ts []ner.Token, k int, m map[string]bool) bool {
	return k+1 < len(ts) && ts[k+1].Kind == ner.KWord && !ts[k+1].NL && foldIn(m, text[ts[k+1].S:ts[k+1].E])
}

// phraseIn reports whether the words of ts[a..b], folded to lower case
// and joined by one space, are an entry of m. Spans of more than six
// tokens are no entry.
func phraseIn(m map[string]bool, text string, ts []ner.Token, a, b int) bool {
	if b-a > 6 {
		return false
	}
	var buf [96]byte
	p := buf[:0]
	for i := a; i <= b; i++ {
		t := &ts[i]
		if i > a && t.Space {
			p = append(p, ' ')
		}
		if len(p)+int(t.E-t.S) > cap(buf) {
			return false
		}
		p = foldTo(p, text[t.S:t.E])
	}
	return m[string(p)]
}

// phraseSet splits a list of entries separated by "|" (white space around
// them ignored) into a set.
func phraseSet(list string) map[string]bool {
	m := map[string]bool{}
	for _, e := range strings.Split(list, "|") {
		if e = strings.Join(strings.Fields(e), " "); e != "" {
			m[e] = true
		}
	}
	return m
}

// firstWords is the set of the first words of m's entries.
func firstWords(m map[string]bool) map[string]bool {
	f := map[string]bool{}
	for e := range m {
		w, _, _ := strings.Cut(e, " ")
		f[w] = true
	}
	return f
}

// currencies are ISO 4217 codes of currencies often written beside an
// amount ("4,500 NOK", "EUR 120").
var currencies = map[string]bool{
	"EUR": true, "USD": true, "GBP": true, "NOK": true, "SEK": true, "DKK": true, "ISK": true, "CHF": true, "JPY": true,
	"CNY": true, "HKD": true, "SGD": true, "KRW": true, "INR": true, "PKR": true, "BDT": true, "IDR": true, "MYR": true,
	"THB": true, "VND": true, "PHP": true, "AUD": true, "NZD": true, "CAD": true, "MXN": true, "BRL": true, "ARS": true,
	"CLP": true, "COP": true, "PEN": true, "ZAR": true, "NGN": true, "KES": true, "GHS": true, "TZS": true, "UGX": true,
	"EGP": true, "MAD": true, "AED": true, "SAR": true, "QAR": true, "TRY": true, "PLN": true, "CZK": true, "HUF": true,
	"RON": true, "UAH": true, "ILS": true,
}

// sizeUnits are units of memory, storage and compute written glued to or
// after a number ("2Gi", "16 GB", "4 vCPU").
var sizeUnits = map[string]bool{
	"Ki": true, "Mi": true, "Gi": true, "Ti": true, "KiB": true, "MiB": true, "GiB": true, "TiB": true, "KB": true, "MB": true,
	"GB": true, "TB": true, "PB": true, "vCPU": true, "vCPUs": true, "GHz": true, "MHz": true,
}

// acronymRun reports whether the span holds only jargon acronyms, sales
// regions, currency codes and size units, numbers and punctuation, with a
// number or at least two such words: an amount ("4,500 NOK"), a size
// ("2Gi"), a list of regions or metrics ("EMEA, APAC, AMER", "240 MQLs, 310
// SQLs").
func acronymRun(text string, ts []ner.Token, a, b int) bool {
	words, nums := 0, 0
	for i := a; i <= b; i++ {
		t := &ts[i]
		switch t.Kind {
		case ner.KNum:
			nums++
		case ner.KWord:
			w := text[t.S:t.E]
			if len(w) > 7 || !(jargon[w] || salesRegions[w] || currencies[w] || sizeUnits[w]) {
				return false
			}
			words++
		}
	}
	return words > 0 && (nums > 0 || words > 1)
}
