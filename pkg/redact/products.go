package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// A second, text-level pass over the tagger's output (round 10). The tagger
// reads an unknown capitalised word as a name because almost every such word
// in its training text is one; in workplace prose many are products, vendors
// and code names ("the Chargebee sandbox", "Juno feature flag"). The text
// itself often says so: somewhere it uses the word in a position only a
// product takes. productSet collects those words in one pass over the
// tokens, and veto drops every PERSON or LOCATION span of the tagger whose
// capitalised words are all in the set, wherever in the text it stands.
// Cost: one look at each token, one map lookup per word of a tagger span.

// productNouns are software nouns that follow a product's name directly
// ("the Atlas API", "Asana task", "Chargebee sandbox"; "the Kelvo Sync
// widget" marks Kelvo and Sync). Nouns that also follow a place or a person are left
// out: "office", "team", "cluster", "region", "data", "account", "servers",
// "feedback", "sync", and what business prose does per country or city
// ("the Mexico pricing sheet", "Germany dashboard", "Frankfurt endpoint",
// "Manila tickets", "the Japan flag", "Kenya trial", "Lagos workspace");
// so are plurals that read as a verb after a name ("Amara logs the hours").
var productNouns = map[string]bool{
	"api": true, "apis": true, "sdk": true, "sdks": true, "cli": true, "app": true, "apps": true,
	"integration": true, "integrations": true, "connector": true, "connectors": true,
	"plugin": true, "plugins": true, "webhook": true, "webhooks": true, "widget": true,
	"widgets": true, "bot": true, "sandbox": true, "task": true, "repo": true, "repos": true,
	"docs": true, "mockups": true, "mockup": true, "feature": true, "index": true,
	"crawler": true, "debugger": true, "macros": true, "editor": true, "changelog": true,
	"auth": true, "token": true, "tokens": true, "schema": true, "workbook": true,
	"pro": true, "cloud": true, "enterprise": true,
}

// possessiveNouns follow a product's possessive ("Slack's API", "Gong's
// trust center"); a person's possessive takes almost any noun, so the list
// is shorter than productNouns.
var possessiveNouns = map[string]bool{
	"api": true, "apis": true, "sdk": true, "cli": true, "pricing": true, "integration": true,
	"integrations": true, "connector": true, "plugin": true, "webhook": true, "webhooks": true,
	"debugger": true, "crawler": true, "changelog": true, "status": true, "trust": true,
	"uptime": true,
}

// identNouns are the parts of a lower-case hyphenated identifier (a
// repository, service or channel name) that make its other parts a product:
// "atlas-web", "orion-api", "#atlas-migration".
var identNouns = map[string]bool{
	"web": true, "api": true, "app": true, "site": true, "docs": true, "svc": true,
	"service": true, "sdk": true, "cli": true, "worker": true, "migration": true,
	"server": true, "client": true, "ui": true, "frontend": true, "backend": true,
	"mobile": true, "ios": true, "android": true, "infra": true, "bot": true,
	"dashboard": true,
}

// productSet is the set of folded words one text uses as a product.
type productSet struct {
	words map[string]struct{}
	buf   []byte
}

func (p *productSet) reset() {
	if len(p.words) > 256 {
		p.words = nil // a pooled scratch keeps no huge map
	}
	clear(p.words)
}

// capWord reports whether t is a capitalised or upper-case word.
func capWord(t *ner.Token) bool {
	return t.Kind == ner.KWord && (t.Shape == ner.ShCap || t.Shape == ner.ShMixed || t.Shape == ner.ShUpper)
}

func (p *productSet) mark(w string) {
	if p.words == nil {
		p.words = map[string]struct{}{} // most texts mark nothing
	}
	p.buf = ner.FoldAppend(p.buf[:0], w)
	if _, ok := p.words[string(p.buf)]; !ok {
		p.words[string(p.buf)] = struct{}{}
	}
}

// in reports whether the word w (token t) is in m, a list of ASCII
// lower-case words of at most 12 bytes, without allocating.
func in(m map[string]bool, t *ner.Token, w string) bool {
	if len(w) > 12 || len(w) < 2 {
		return false
	}
	if t.Shape == ner.ShLower {
		return m[w]
	}
	var b [12]byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return m[string(b[:len(w)])]
}

func isPunct(t *ner.Token, text string, c byte) bool {
	return t.Kind == ner.KPunct && t.E-t.S == 1 && text[t.S] == c
}

// scan adds the words that the tokens ts of text use as a product.
func (p *productSet) scan(text string, ts []ner.Token) {
	for i := range ts {
		t := &ts[i]
		if t.Kind != ner.KWord {
			continue
		}
		w := text[t.S:t.E]
		if j := i - 1; i > 0 && ts[j].Shape == ner.ShApos && !ts[j].Space && j > 0 && capWord(&ts[j-1]) {
			// "Gong's trust center"; a person's possessive before any
			// other noun is no cue
			if in(possessiveNouns, t, w) {
				p.mark(text[ts[j-1].S:ts[j-1].E])
			}
		} else if i > 0 && in(productNouns, t, w) {
			// "the Atlas API", "the Kelvo Sync widget": at most two
			// capitalised words right before the noun, on its line
			for n := 0; n < 2 && j >= 0 && capWord(&ts[j]) && ts[j+1].Space && !ts[j+1].NL; n, j = n+1, j-1 {
				p.mark(text[ts[j].S:ts[j].E])
			}
		}
		if t.Shape == ner.ShLower && strings.IndexByte(w, '-') > 0 {
			p.ident(w)
		}
		if capWord(t) && version(text, ts[i+1:]) {
			p.mark(w) // "Kafka 2.8", "LocalStack 3.4"
		}
		if capWord(t) && camel(w) {
			p.mark(w) // "BambooHR", "GrabPay", "WebKit"
		}
	}
}

// ident marks the other parts of a lower-case hyphenated identifier one of
// whose parts is an identNoun ("atlas-web" marks atlas).
func (p *productSet) ident(w string) {
	hit := false
	for part := range strings.SplitSeq(w, "-") {
		if identNouns[part] {
			hit = true
			break
		}
	}
	if !hit {
		return
	}
	for part := range strings.SplitSeq(w, "-") {
		if part != "" && !identNouns[part] {
			p.mark(part)
		}
	}
}

// version reports whether ts starts with a version number after a space:
// "2.8", "3.4" — digits, one dot, digits, and no second dot with digits (a
// date such as "12.03.2024" is not a version).
func version(text string, ts []ner.Token) bool {
	if len(ts) < 3 || ts[0].Kind != ner.KNum || !ts[0].Space || !isPunct(&ts[1], text, '.') || ts[1].Space || ts[2].Kind != ner.KNum || ts[2].Space {
		return false
	}
	return len(ts) < 5 || !isPunct(&ts[3], text, '.') || ts[3].Space || ts[4].Kind != ner.KNum || ts[4].Space
}

// veto drops, from cs[from:], every PERSON or LOCATION span of the tagger
// whose capitalised words are all words the text uses as a product.
//
// It also drops (round 11) every such span all of whose words are known
// products, vendors or software terms (ner.Vendor) and none a name or place
// of the tagger's lexicon (allKnown): "flights via Navan" needs no cue when a
// list knows the word.
func (p *productSet) veto(text string, cs []cand, from int) []cand {
	out := cs[:from]
	for _, c := range cs[from:] {
		if c.prio == prioPerson || c.prio == prioLoc {
			span := text[c.start:c.end]
			if len(p.words) > 0 && p.allProducts(span) || p.allKnown(span) {
				continue
			}
		}
		out = append(out, c)
	}
	return out
}

// nameFlags are the lexicon flags that keep a word a possible name or place
// whatever product it also names ("Jordan", "Hilton", "Ruby", "Hugo",
// "Paris", "GA").
const nameFlags = ner.FGiven | ner.FSurname | ner.FPlace | ner.FPlacePre | ner.FRegion

// allKnown reports whether span has at least one word and every word of it
// (a possessive 's is not part of the word) is a known product, vendor or
// software term that is no listed given name, surname, place or region code.
func (p *productSet) allKnown(span string) bool {
	n := 0
	ok := eachWord(span, func(w string, _ bool) bool {
		n++
		p.buf = ner.FoldAppend(p.buf[:0], w)
		return ner.Vendor(p.buf) && ner.Flags(w)&nameFlags == 0
	})
	return ok && n > 0
}

// eachWord calls f with each word of span (letters, with inner hyphens and
// apostrophes; a possessive 's is not part of the word) and whether it
// begins with a capital, until f returns false; it reports whether f never did.
func eachWord(span string, f func(w string, capital bool) bool) bool {
	for i := 0; i < len(span); {
		r, n := utf8.DecodeRuneInString(span[i:])
		if !isWordRune(r) {
			i += n
			continue
		}
		j := i + n
		for j < len(span) {
			r2, n2 := utf8.DecodeRuneInString(span[j:])
			if !isWordRune(r2) && !(r2 == '-' || r2 == '\'' || r2 == '’') {
				break
			}
			j += n2
		}
		w := strings.TrimRight(span[i:j], "-'’")
		w = strings.TrimSuffix(strings.TrimSuffix(w, "'s"), "’s")
		if w != "" && !f(w, unicode.IsUpper(r)) {
			return false
		}
		i = j
	}
	return true
}

// allProducts reports whether span has at least one capitalised word and
// every capitalised word of it is in the set (a possessive 's is not part
// of the word).
func (p *productSet) allProducts(span string) bool {
	caps := 0
	ok := eachWord(span, func(w string, capital bool) bool {
		if !capital {
			return true
		}
		caps++
		p.buf = ner.FoldAppend(p.buf[:0], w)
		_, in := p.words[string(p.buf)]
		return in
	})
	return ok && caps > 0
}

// namePrefixes are the first parts of names written with an inner capital
// ("MacArthur", "FitzGerald", "VanDyke", "DelVecchio", "AbuBakar").
var namePrefixes = map[string]bool{
	"mac": true, "fitz": true, "van": true, "von": true, "del": true, "della": true,
	"des": true, "der": true, "den": true, "ter": true, "ten": true, "abu": true,
	"ibn": true, "bin": true, "ben": true, "dos": true, "das": true, "dal": true,
	"san": true, "mck": true,
}

// camel reports whether w is written like a product or company name: a
// capital, at least two lower-case letters, then another capital
// ("BambooHR", "GrabPay", "NetSuite", "WebKit"). Names with an inner capital have a
// short particle before it ("McKenzie", "DeShawn", "LaToya", "DiMaggio") or
// one of namePrefixes.
func camel(w string) bool {
	r, n := utf8.DecodeRuneInString(w)
	if !unicode.IsUpper(r) {
		return false
	}
	lower := 0
	for i := n; i < len(w); {
		r, m := utf8.DecodeRuneInString(w[i:])
		switch {
		case unicode.IsLower(r):
			lower++
		case unicode.IsUpper(r) && lower >= 2:
			return !namePrefixes[strings.ToLower(w[:i])]
		default:
			return false
		}
		i += m
	}
	return false
}
