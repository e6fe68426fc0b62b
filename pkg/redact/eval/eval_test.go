package eval

import (
	_ "embed"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/consentflow/consentflow/pkg/redact"
	"github.com/consentflow/consentflow/pkg/redact/ner"
	"github.com/consentflow/consentflow/pkg/redact/ner/synth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

//go:embed testdata/mini.json
var mini []byte

func TestEvaluateMini(t *testing.T) {
	ex, err := Parse(mini)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ex), 20)
	rep := Evaluate(redact.New(), ex)
	byType := map[string]Row{}
	for _, r := range rep.Rows {
		byType[r.Type] = r
	}
	for _, typ := range []string{redact.EmailAddress, redact.PhoneNumber, redact.CreditCard, redact.IBANCode, redact.IPAddress, redact.USSSN, redact.URL} {
		r := byType[typ]
		assert.Greater(t, r.Gold, 0, typ)
		assert.Equal(t, 1.0, r.Recall, typ)
		assert.Equal(t, 1.0, r.Precision, typ)
	}
	assert.GreaterOrEqual(t, byType[redact.Person].Recall, 0.75)
	assert.GreaterOrEqual(t, byType[redact.Location].Recall, 0.75)
	assert.Equal(t, 7, byType[redact.Location].Gold) // GPE + STREET_ADDRESS mapped
	var sb strings.Builder
	WriteTable(&sb, rep)
	assert.Contains(t, sb.String(), "PHONE_NUMBER")
}

func TestScoring(t *testing.T) {
	ex := []Example{
		// caught exactly
		{FullText: "mail a@b.com", Spans: []GoldSpan{{EntityType: "EMAIL_ADDRESS", Start: 5, End: 12}}},
		// missed
		{FullText: "nothing", Spans: []GoldSpan{{EntityType: "EMAIL_ADDRESS", Start: 0, End: 7}}},
		// a PERSON prediction over an ORGANIZATION: a false positive on a non-target span
		{FullText: "Michael Johnson Inc", Spans: []GoldSpan{{EntityType: "ORGANIZATION", Start: 0, End: 19}}},
		// an address covered for 12 of its 15 non-space characters (80%: caught)
		// and one covered for 5 of 15 (lenient only)
		{FullText: "12 Oak Street, Springfield", Spans: []GoldSpan{{EntityType: "STREET_ADDRESS", Start: 0, End: 13}}},
		{FullText: "12 Oak Street, Springfield", Spans: []GoldSpan{{EntityType: "STREET_ADDRESS", Start: 0, End: 13}}},
		// a LOCATION prediction over a PERSON: wrong type, but PII (precision_any)
		{FullText: "Paris Hilton", Spans: []GoldSpan{{EntityType: "PERSON", Start: 0, End: 12}}},
	}
	res := []redact.Result{
		{Spans: []redact.Span{{Start: 5, End: 12, Type: redact.EmailAddress}}},
		{},
		{Spans: []redact.Span{{Start: 0, End: 15, Type: redact.Person}}},
		{Spans: []redact.Span{{Start: 3, End: 13, Type: redact.Location}}},
		{Spans: []redact.Span{{Start: 0, End: 6, Type: redact.Location}}},
		{Spans: []redact.Span{{Start: 0, End: 5, Type: redact.Location}}},
	}
	rep := Score(ex, res, time.Second)
	rows := map[string]Row{}
	for _, r := range rep.Rows {
		rows[r.Type] = r
	}
	em := rows[redact.EmailAddress]
	assert.Equal(t, 2, em.Gold)
	assert.Equal(t, 0.5, em.Recall)
	assert.Equal(t, 1.0, em.Precision)
	assert.InDelta(t, 5*0.5/(4+0.5), em.F2, 1e-9)
	pe := rows[redact.Person]
	assert.Equal(t, 1, pe.Predicted)
	assert.Equal(t, 1, pe.OnNonTarget)
	assert.Equal(t, 0.0, pe.Precision)
	assert.Equal(t, 0.0, pe.Recall) // "Paris Hilton" was labelled LOCATION
	// "12 Oak Street" has 11 non-space characters; "Oak Street" covers 9 (82%),
	// "12 Oak" covers 5 (45%)
	loc := rows[redact.Location]
	assert.Equal(t, 2, loc.Gold)
	assert.Equal(t, 1, loc.Covered)
	assert.Equal(t, 0.5, loc.Recall)
	assert.Equal(t, 1.0, loc.Lenient)
	assert.Equal(t, 3, loc.Predicted)
	assert.InDelta(t, 2.0/3, loc.Precision, 1e-9)
	assert.Equal(t, 1.0, loc.PrecAny)
	assert.Equal(t, 6.0, rep.TextsPS)
	assert.Equal(t, "LOCATION", MapType("GPE"))
	assert.Equal(t, "LOCATION", MapType("STREET_ADDRESS"))
	assert.Equal(t, "URL", MapType("DOMAIN_NAME"))
	assert.Equal(t, "", MapType("ORGANIZATION"))
}

// Strict precision: a prediction counts only when at least 80% of its
// non-space characters lie inside gold spans of its type; the overlap
// precision beside it is unchanged.
func TestStrictPrecision(t *testing.T) {
	loc := func(s, e int) []GoldSpan { return []GoldSpan{{EntityType: "GPE", Start: s, End: e}} }
	ex := []Example{
		// 0: an over-long span over a sentence around a gold place: overlap yes, strict no
		{FullText: "Le confirmamos la reserva de Valencia", Spans: loc(29, 37)},
		// 1: exactly the gold place
		{FullText: "Le confirmamos la reserva de Valencia", Spans: loc(29, 37)},
		// 2: "X Cruz": 4 of 5 non-space characters inside (80%: strict)
		{FullText: "X Cruz", Spans: loc(2, 6)},
		// 3: "XY Cruz": 4 of 6 (67%: not strict)
		{FullText: "XY Cruz", Spans: loc(3, 7)},
		// 4: one prediction over two adjacent gold places; the space between does not count
		{FullText: "Berlin   Munich", Spans: []GoldSpan{{EntityType: "LOCATION", Start: 0, End: 6}, {EntityType: "GPE", Start: 9, End: 15}}},
		// 5: a PERSON prediction inside a gold place: wrong type, not strict
		{FullText: "Paris Hilton", Spans: loc(0, 12)},
		// 6: a prediction over a non-target span only
		{FullText: "Acme Corp", Spans: []GoldSpan{{EntityType: "ORGANIZATION", Start: 0, End: 9}}},
	}
	res := []redact.Result{
		{Spans: []redact.Span{{Start: 15, End: 37, Type: redact.Location}}},
		{Spans: []redact.Span{{Start: 29, End: 37, Type: redact.Location}}},
		{Spans: []redact.Span{{Start: 0, End: 6, Type: redact.Location}}},
		{Spans: []redact.Span{{Start: 0, End: 7, Type: redact.Location}}},
		{Spans: []redact.Span{{Start: 0, End: 15, Type: redact.Location}}},
		{Spans: []redact.Span{{Start: 0, End: 5, Type: redact.Person}}},
		{Spans: []redact.Span{{Start: 0, End: 9, Type: redact.Location}}},
	}
	rep := Score(ex, res, time.Second)
	rows := map[string]Row{}
	for _, r := range rep.Rows {
		rows[r.Type] = r
	}
	l := rows[redact.Location]
	assert.Equal(t, 6, l.Predicted)
	assert.Equal(t, 5, l.TPPred)   // every LOCATION prediction but the one over the organisation overlaps a place
	assert.Equal(t, 3, l.TPStrict) // 1, 2 and 4
	assert.InDelta(t, 5.0/6, l.Precision, 1e-9)
	assert.InDelta(t, 3.0/6, l.PrecStrict, 1e-9)
	p := rows[redact.Person]
	assert.Equal(t, 0, p.TPStrict)
	assert.Equal(t, 0.0, p.PrecStrict)
	assert.Equal(t, 7, rep.Overall.Predicted)
	assert.Equal(t, 3, rep.Overall.TPStrict)
	assert.InDelta(t, 3.0/7, rep.Overall.PrecStrict, 1e-9)
	var sb strings.Builder
	WriteTable(&sb, rep)
	assert.Contains(t, sb.String(), "p_strict")
	assert.Contains(t, sb.String(), "0.500") // LOCATION's strict precision is printed
}

// The committed held-out corpus parses and holds every target type.
func TestHeldOutCorpus(t *testing.T) {
	ex, err := Load(filepath.Join("testdata", "heldout.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ex), 500)
	types := map[string]int{}
	for _, e := range ex {
		rs := []rune(e.FullText)
		for _, g := range e.Spans {
			types[MapType(g.EntityType)]++
			require.Equal(t, g.EntityValue, string(rs[g.Start:g.End]))
		}
	}
	for _, typ := range []string{redact.Person, redact.Location, redact.EmailAddress, redact.PhoneNumber, redact.CreditCard, redact.IBANCode, redact.IPAddress, redact.USSSN, redact.URL} {
		assert.Greater(t, types[typ], 10, typ)
	}
}

// The disjoint held-out corpus parses, holds every target type, and no word
// of its PERSON spans, nor of its LOCATION spans other than countries and
// closed-class address words (street types, units, particles), is in the
// tagger's lexicon: its recall is recall on names and places the tagger
// has never been told about.
func TestDisjointCorpusNamesAreUnknown(t *testing.T) {
	checkDisjoint(t, filepath.Join("testdata", "heldout_disjoint.json"))
}

func checkDisjoint(t *testing.T, path string) {
	ex, err := Load(path)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ex), 500)
	types := map[string]int{}
	words, known := 0, 0
	var alts []string
	for _, c := range synth.Countries() {
		alts = append(alts, regexp.QuoteMeta(c), regexp.QuoteMeta(strings.ToUpper(c)))
	}
	sort.Slice(alts, func(i, j int) bool { return len(alts[i]) > len(alts[j]) }) // "United Kingdom" before "UK"
	country := regexp.MustCompile(`\b(?:` + strings.Join(alts, "|") + `)\b`)
	for _, e := range ex {
		rs := []rune(e.FullText)
		for _, g := range e.Spans {
			typ := MapType(g.EntityType)
			types[typ]++
			require.Equal(t, g.EntityValue, string(rs[g.Start:g.End]))
			if typ != redact.Person && typ != redact.Location {
				continue
			}
			closed := ner.FParticle
			if typ == redact.Location {
				closed |= ner.FStreet | ner.FUnit | ner.FFunc
			}
			v := g.EntityValue
			if typ == redact.Location {
				v = country.ReplaceAllString(v, " ")
			}
			{
				for _, w := range strings.FieldsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' && r != '\u2019' }) {
					w = strings.Trim(w, "'\u2019")
					if len([]rune(w)) < 2 || (typ == redact.Location && (w == "Box" || w == "PO" || w == "P")) {
						continue
					}
					if typ == redact.Location && len(w) == 2 && strings.ToUpper(w) == w {
						continue // a region code
					}
					words++
					if f := ner.Flags(w); f&^closed != 0 && f&closed == 0 {
						known++
						if known <= 5 {
							t.Errorf("%s %q: word %q is in the lexicon (flags %b)", typ, g.EntityValue, w, f)
						}
					}
				}
			}
		}
	}
	assert.Zero(t, known, "of %d name/place words", words)
	for _, typ := range []string{redact.Person, redact.Location, redact.EmailAddress, redact.PhoneNumber, redact.CreditCard, redact.IBANCode, redact.IPAddress, redact.USSSN, redact.URL} {
		assert.Greater(t, types[typ], 10, typ)
	}
}
