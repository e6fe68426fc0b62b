// Package redact finds personal data and credentials in free text and replaces
// them with typed placeholders such as <EMAIL_ADDRESS>.
//
// Entity types follow Microsoft Presidio's names (EMAIL_ADDRESS, PHONE_NUMBER,
// CREDIT_CARD, IBAN_CODE, IP_ADDRESS, US_SSN, URL, PERSON, LOCATION) plus SECRET
// for credentials. Pattern candidates are validated (Luhn, IBAN mod 97, IP
// parsing, SSN rules, phone numbering plans) to keep precision high. PERSON and
// LOCATION beyond the actor's own identity come from a small sequence tagger
// (package ner: an averaged perceptron over token features, with real name and
// place lists as features) and street-address patterns; the model and lists
// are embedded, nothing is downloaded. Time is linear in the text on any input.
//
// Offsets in Span are Unicode code point offsets into the input text (as
// Python indexes strings), end exclusive. Input that is not valid UTF-8 is
// treated as if every invalid byte were U+FFFD (one code point each); the
// output text is always valid UTF-8.
package redact

import (
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/redact/ner"
)

// Entity type names.
const (
	EmailAddress = "EMAIL_ADDRESS"
	PhoneNumber  = "PHONE_NUMBER"
	CreditCard   = "CREDIT_CARD"
	IBANCode     = "IBAN_CODE"
	IPAddress    = "IP_ADDRESS"
	USSSN        = "US_SSN"
	URL          = "URL"
	Person       = "PERSON"
	Location     = "LOCATION"
	Secret       = "SECRET"
)

// AllTypes lists every entity type the redactor can emit.
var AllTypes = []string{EmailAddress, PhoneNumber, CreditCard, IBANCode, IPAddress, USSSN, URL, Person, Location, Secret}

// Actor identifies the author of a text. Their own name (full name and its
// capitalised parts), handle and @mentions are redacted as PERSON; their
// email, like any email, as EMAIL_ADDRESS.
type Actor struct {
	Name   string `json:"name,omitempty"`
	Email  string `json:"email,omitempty"`
	Handle string `json:"handle,omitempty"`
}

// Span is one detected entity. Start and End are Unicode code point offsets
// into the input text, End exclusive.
type Span struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Type  string `json:"type"`
}

// Result is the redacted text and the spans that were replaced, sorted by
// Start and non-overlapping.
type Result struct {
	Text  string `json:"text"`
	Spans []Span `json:"spans"`
}

// Option configures a Redactor.
type Option func(*config)

type config struct {
	types map[string]bool
	names bool
	model *ner.Model
}

// WithTypes restricts detection to the given entity types (default: all).
func WithTypes(types ...string) Option {
	return func(c *config) {
		c.types = map[string]bool{}
		for _, t := range types {
			c.types[t] = true
		}
	}
}

// WithModel tags names and places with m instead of the embedded model.
func WithModel(m *ner.Model) Option { return func(c *config) { c.model = m } }

// WithoutNameHeuristics disables the name/place tagger and the street
// address patterns. Actor names, handles and @mentions are still redacted.
func WithoutNameHeuristics() Option { return func(c *config) { c.names = false } }

// Redactor is safe for concurrent use. Build it once with New.
type Redactor struct {
	cfg   config
	pool  sync.Pool
	model *ner.Model // nil: no PERSON/LOCATION tagging
}

// New builds a Redactor. All regular expressions and gazetteers are compiled
// once (package-level) and shared by all Redactors.
func New(opts ...Option) *Redactor {
	c := config{names: true}
	for _, o := range opts {
		o(&c)
	}
	r := &Redactor{cfg: c}
	r.pool.New = func() any { return &scratch{cands: make([]cand, 0, 16)} }
	if c.names {
		// the embedded model is checked by the tests; a broken one leaves
		// the pattern recognizers working
		r.model, _ = ner.Default()
		if c.model != nil {
			r.model = c.model
		}
		ner.Load() // the lexicon: here, not in the first Redact
	}
	return r
}

func (r *Redactor) enabled(t string) bool {
	return r.cfg.types == nil || r.cfg.types[t]
}

// cand is a candidate span in byte offsets.
type cand struct {
	start, end int
	typ        string
	prio       int
}

type scratch struct {
	text   string
	cands  []cand
	known  []cand // sorted copy of the candidates found before numbers
	toks   []ner.Token
	tags   []uint8
	spans  []tagSpan    // one window's tagger spans
	fields []fieldValue // one window's labelled values (fields.go)
	// does the window read as a language other than English (foreign.go)
	lang windowLang
	ner  ner.Scratch
	occ  bitmap
	keys []uint64 // radix sort buffers
	idx  []int32
	tmp  []cand
	kept []cand
	buf  []byte
	// words the text uses as a product (products.go)
	products productSet
	// libphonenumber calls left for splitting runs of numbers (bounds the
	// work on adversarial digit soup)
	planBudget int
}

// maxPlanChecks bounds the numbering-plan checks spent on splitting runs of
// adjacent numbers in one text.
const maxPlanChecks = 48

// Priorities: higher wins an overlap; ties go to the longer span, then the
// earlier one.
const (
	prioSecret  = 100
	prioEmail   = 90
	prioURL     = 90
	prioIBAN    = 80
	prioCard    = 78
	prioSSN     = 76
	prioIP      = 74
	prioActor   = 70
	prioPhone   = 60
	prioAddress = 40
	prioPerson  = 30
	prioLoc     = 28
	// A number that is a phone by its shape only (no numbering plan, no
	// context word) yields to a place: inside an address it is a house
	// number or postcode ("Haatso, 05591", "Tokyo 150-0002"). Its parts
	// that no place covers stay PHONE_NUMBER, so no digit is freed.
	prioPhoneWeak = 27
)

func (s *scratch) add(start, end int, typ string, prio int) {
	if end <= start || start < 0 || end > len(s.text) {
		return
	}
	// never split a code point (e.g. an invalid-UTF-8 actor name matching
	// inside U+FFFD)
	if !utf8.RuneStart(s.text[start]) || (end < len(s.text) && !utf8.RuneStart(s.text[end])) {
		return
	}
	s.cands = append(s.cands, cand{start, end, typ, prio})
}

// Redact detects entities in text and returns the redacted text and spans.
func (r *Redactor) Redact(text string, actor *Actor) Result {
	if !utf8.ValidString(text) {
		text = sanitizeUTF8(text)
	}
	s := r.pool.Get().(*scratch)
	s.cands = s.cands[:0]
	s.planBudget = maxPlanChecks
	s.text = text
	r.detect(text, actor, s)
	if v, ok := decodedView(text); ok {
		r.detectDecoded(v, actor, s)
	}
	res := r.finish(text, s)
	s.text = ""
	r.pool.Put(s)
	return res
}

func (r *Redactor) detect(text string, actor *Actor, s *scratch) {
	if len(text) == 0 {
		return
	}
	var hasAt, hasDigit, hasColon, hasDot bool
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '@':
			hasAt = true
		case c >= '0' && c <= '9':
			hasDigit = true
		case c == ':':
			hasColon = true
		case c == '.':
			hasDot = true
		}
	}
	if r.enabled(Secret) {
		findSecrets(text, s)
	}
	if hasAt && r.enabled(EmailAddress) {
		findEmails(text, s)
	}
	if (hasDot || hasColon) && r.enabled(URL) {
		findURLs(text, s)
	}
	if hasDigit {
		if r.enabled(IBANCode) {
			findIBANs(text, s)
		}
		if (hasDot || hasColon) && r.enabled(IPAddress) {
			findIPs(text, s, hasColon)
		}
		if r.enabled(CreditCard) || r.enabled(USSSN) || r.enabled(PhoneNumber) {
			r.findNumbers(text, s)
		}
	} else if hasColon && r.enabled(IPAddress) {
		findIPs(text, s, true)
	}
	if r.enabled(Person) {
		findActor(text, actor, s, hasAt)
	}
	if r.cfg.names && (r.enabled(Person) || r.enabled(Location)) {
		r.findNames(text, s, hasDigit)
	}
}

// detectDecoded runs the recognisers on the decoded view of s.text and adds
// what they find there as spans of s.text: the escapes that spell the value.
func (r *Redactor) detectDecoded(v view, actor *Actor, s *scratch) {
	text := s.text
	found := append([]cand(nil), s.cands...)
	s.cands = s.cands[:0]
	s.text = v.text
	r.detect(v.text, actor, s)
	s.text = text
	for _, c := range s.cands {
		c.start, c.end = v.origin(c.start, c.end)
		found = append(found, c)
	}
	s.cands = found
}

// container reports whether a span of type t holds what it contains as part
// of one value: a URL's path and query, an email's local part.
func container(t string) bool { return t == URL || t == EmailAddress }

// absorb drops every candidate that lies inside a longer URL or email
// candidate, so that the container is kept whole: a token in a query string
// must not save the rest of the URL (the name in its path, the email in its
// query) by winning the overlap. cs is sorted by start on return.
func (r *Redactor) absorb(s *scratch, cs []cand, text string) []cand {
	if len(text) < maxRadixOffset {
		s.sortCands(cs, byStart)
	} else {
		slices.SortStableFunc(cs, func(a, b cand) int { return a.start - b.start })
	}
	// Sweep by start: end is the furthest end of a container started so
	// far, at is its start. A candidate starting at or after `at` and
	// ending by `end`, and shorter than that container, is inside it.
	out := cs[:0]
	end, at := -1, -1
	for i := 0; i < len(cs); {
		// candidates with the same start: the containers among them first
		j := i
		for j < len(cs) && cs[j].start == cs[i].start {
			if c := cs[j]; container(c.typ) && c.end > end && r.enabled(c.typ) {
				end, at = c.end, c.start
			}
			j++
		}
		for _, c := range cs[i:j] {
			if c.end <= end && c.end-c.start < end-at {
				continue // inside a longer container
			}
			out = append(out, c)
		}
		i = j
	}
	return out
}

func (r *Redactor) finish(text string, s *scratch) Result {
	cs := s.cands
	if len(cs) == 0 {
		return Result{Text: text}
	}
	cs = r.absorb(s, cs, text)
	// Deterministic resolution: priority, then length, then position.
	if len(text) < maxRadixOffset {
		s.sortCands(cs, byPriority)
	} else {
		slices.SortStableFunc(cs, func(a, b cand) int {
			if a.prio != b.prio {
				return b.prio - a.prio
			}
			if la, lb := a.end-a.start, b.end-b.start; la != lb {
				return lb - la
			}
			return a.start - b.start
		})
	}
	// Greedy: a candidate is kept when its bytes are free (a bitmap of the
	// bytes taken: checking costs the candidate's length, and each
	// recognizer's candidates barely overlap, so all checks cost a few
	// times the text; marking costs at most the text). A PERSON or
	// LOCATION candidate (or a URL or email that a longer span of higher
	// priority overlaps) keeps its free parts that hold a letter or digit:
	// the tagger's span of a whole address around an address pattern's
	// street line, a name run into an email address, or a URL whose last
	// characters a token runs past, still covers the rest.
	occ := s.occupied(len(text))
	kept := s.kept[:0]
	for _, c := range cs {
		if !r.enabled(c.typ) {
			continue
		}
		if !occ.any(c.start, c.end) {
			occ.set(c.start, c.end)
			kept = append(kept, c)
			continue
		}
		if c.typ != Person && c.typ != Location && !container(c.typ) && c.prio != prioPhoneWeak {
			continue
		}
		for i := c.start; i < c.end; {
			if occ.get(i) {
				i++
				continue
			}
			j := i
			for j < c.end && !occ.get(j) {
				j++
			}
			a, b := i, j
			for a < b && (text[a] == ' ' || text[a] == '\n' || text[a] == '\t' || text[a] == ',') {
				a++
			}
			for b > a && (text[b-1] == ' ' || text[b-1] == '\n' || text[b-1] == '\t' || text[b-1] == ',') {
				b--
			}
			if hasAlnum(text[a:b]) && utf8.RuneStart(text[a]) && (b == len(text) || utf8.RuneStart(text[b])) {
				occ.set(a, b)
				kept = append(kept, cand{a, b, c.typ, c.prio})
			}
			i = j
		}
	}
	s.kept = kept
	if len(kept) == 0 {
		return Result{Text: text}
	}
	if len(text) < maxRadixOffset {
		s.sortCands(kept, byStart)
	} else {
		slices.SortStableFunc(kept, func(a, b cand) int { return a.start - b.start })
	}
	// PERSON or LOCATION pieces of one type that touch or are separated by
	// spaces are one span ("Richard <actor surname>" is one name)
	m := kept[:1]
	for _, c := range kept[1:] {
		if p := &m[len(m)-1]; p.typ == c.typ && (c.typ == Person || c.typ == Location) && onlySpaces(text[p.end:c.start]) {
			p.end = c.end
			continue
		}
		m = append(m, c)
	}
	kept = m

	var b strings.Builder
	n := len(text)
	for _, k := range kept {
		n += len(k.typ) + 2 - (k.end - k.start)
	}
	if n > 0 {
		b.Grow(n)
	}
	spans := make([]Span, len(kept))
	prev := 0
	// Byte offsets to code point offsets in one pass.
	bytePos, runePos := 0, 0
	toRune := func(off int) int {
		if off < bytePos {
			bytePos, runePos = 0, 0
		}
		runePos += utf8.RuneCountInString(text[bytePos:off])
		bytePos = off
		return runePos
	}
	for i, k := range kept {
		b.WriteString(text[prev:k.start])
		b.WriteByte('<')
		b.WriteString(k.typ)
		b.WriteByte('>')
		prev = k.end
		st := toRune(k.start)
		spans[i] = Span{Start: st, End: toRune(k.end), Type: k.typ}
	}
	b.WriteString(text[prev:])
	return Result{Text: b.String(), Spans: spans}
}

// bitmap marks taken byte positions.
type bitmap []uint64

func (s *scratch) occupied(n int) bitmap {
	w := n/64 + 1
	if cap(s.occ) < w {
		s.occ = make(bitmap, w)
	}
	b := s.occ[:w]
	clear(b)
	return b
}

func (b bitmap) get(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }

// any reports whether a position in [i, j) is taken.
func (b bitmap) any(i, j int) bool {
	for i < j {
		if i%64 == 0 && j-i >= 64 {
			if b[i/64] != 0 {
				return true
			}
			i += 64
			continue
		}
		if b[i/64]&(1<<(i%64)) != 0 {
			return true
		}
		i++
	}
	return false
}

// set marks [i, j) taken.
func (b bitmap) set(i, j int) {
	for ; i < j; i++ {
		b[i/64] |= 1 << (i % 64)
	}
}

func onlySpaces(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}

func hasAlnum(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}

// sanitizeUTF8 replaces every invalid byte with U+FFFD, so that each invalid
// byte stays one code point (as Go's range loop counts them).
func sanitizeUTF8(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// SanitizeUTF8 returns the text the offsets of Redact refer to: s with each
// invalid UTF-8 byte replaced by U+FFFD. Valid input is returned unchanged.
func SanitizeUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return sanitizeUTF8(s)
}

// Apply replaces spans (code point offsets into text) with typed placeholders.
// Redact(text).Text == Apply(SanitizeUTF8(text), Redact(text).Spans).
func Apply(text string, spans []Span) string {
	rs := []rune(text)
	var b strings.Builder
	prev := 0
	for _, sp := range spans {
		b.WriteString(string(rs[prev:sp.Start]))
		b.WriteString("<" + sp.Type + ">")
		prev = sp.End
	}
	b.WriteString(string(rs[prev:]))
	return b.String()
}
