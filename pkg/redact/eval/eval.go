// Package eval scores the redactor on a corpus in the presidio-research JSON
// format: a list of {"full_text", "spans": [{"entity_type", "entity_value",
// "start_position", "end_position"}]}, offsets in Unicode code points, end
// exclusive.
//
// Type mapping (gold -> ours): GPE, STREET_ADDRESS, LOCATION -> LOCATION;
// DOMAIN_NAME -> URL; the other types we emit map to themselves. Gold types we
// do not emit (ORGANIZATION, DATE_TIME, TITLE, AGE, NRP, ZIP_CODE,
// US_DRIVER_LICENSE, ...) are "non-target": they never count against recall.
//
// Matching rules. Recall (the main figure): a gold span is caught when
// predicted spans of the same (mapped) type cover at least 80% of its
// non-space code points. Lenient recall: a predicted span of the same type
// overlaps it by at least one code point. Exact recall: same type, same
// start and end. Precision: a predicted span is correct when it overlaps a
// gold span of the same type; "precision (any)" also counts a prediction
// that overlaps a gold span of another target type (the PII is redacted,
// under the wrong label). Every other prediction is a false positive for its
// type, including one over a non-target gold span (e.g. PERSON over an
// ORGANIZATION); those are also counted in the "on non-target" column.
// "precision (PII)" counts a prediction as correct when it overlaps any gold
// span, of a non-target type too (an organisation, a date): the reading of
// "the predicted span overlaps some PII". Strict precision mirrors the recall
// rule: a predicted span is correct when at least 80% of its non-space code
// points lie inside gold spans of its (mapped) type, so an over-long span
// that runs over a sentence around a gold place ("Le confirmamos ... de
// Valencia") is a false positive there, though it overlaps the place.
package eval

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/consentflow/consentflow/pkg/redact"
	"github.com/consentflow/consentflow/pkg/redact/corpus"
)

// Example is one corpus record (the format is pkg/redact/corpus's, which the
// redactor's and the tagger's own tests read too: they cannot import eval).
type Example = corpus.Example

// GoldSpan is one labelled entity.
type GoldSpan = corpus.GoldSpan

// TypeMap maps corpus entity types to the redactor's types.
var TypeMap = map[string]string{
	"GPE":            redact.Location,
	"STREET_ADDRESS": redact.Location,
	"LOCATION":       redact.Location,
	"ADDRESS":        redact.Location,
	"DOMAIN_NAME":    redact.URL,
}

// MapType returns our type for a gold type, or "" when it is non-target.
func MapType(t string) string {
	if m, ok := TypeMap[t]; ok {
		return m
	}
	for _, x := range redact.AllTypes {
		if x == t {
			return t
		}
	}
	return ""
}

// Load reads a presidio-research JSON corpus.
func Load(path string) ([]Example, error) { return corpus.Load(path) }

// Parse decodes a presidio-research JSON corpus.
func Parse(b []byte) ([]Example, error) { return corpus.Parse(b) }

// Row holds the scores of one entity type (or "ALL").
type Row struct {
	Type        string  `json:"type"`
	Gold        int     `json:"gold"`
	Predicted   int     `json:"predicted"`
	Covered     int     `json:"covered"`        // gold spans >= 80% covered by same-type predictions
	TPGold      int     `json:"found"`          // gold spans overlapped by a same-type prediction
	TPPred      int     `json:"correct"`        // predictions overlapping a same-type gold span
	TPPredAny   int     `json:"correct_any"`    // predictions overlapping a gold span of any target type
	TPStrict    int     `json:"correct_strict"` // predictions >= 80% inside same-type gold spans
	Exact       int     `json:"exact"`          // gold spans matched exactly
	OnNonTarget int     `json:"on_nontarget"`   // false positives lying over a non-target gold span
	Recall      float64 `json:"recall"`         // 80% coverage rule
	Lenient     float64 `json:"recall_lenient"` // any overlap
	Precision   float64 `json:"precision"`
	PrecAny     float64 `json:"precision_any"`
	PrecPII     float64 `json:"precision_pii"`    // predictions overlapping any gold span, non-target types (ORGANIZATION, DATE_TIME, ...) included
	PrecStrict  float64 `json:"precision_strict"` // predictions with >= 80% of their non-space characters inside same-type gold spans
	F2          float64 `json:"f2"`               // of Recall and Precision
	ExactRecall float64 `json:"exact_recall"`
}

// Error is one false negative or false positive, for inspection.
type Error struct {
	Kind  string `json:"kind"` // FN or FP
	Type  string `json:"type"`
	Value string `json:"value"`
	Text  string `json:"text"`
	Gold  string `json:"gold,omitempty"` // for FP: the gold type under it, if any
	// Partial: for FN, a same-type prediction overlaps the span but covers
	// less than 80% of it.
	Partial bool `json:"partial,omitempty"`
}

// Report is the evaluation result.
type Report struct {
	Examples int     `json:"examples"`
	Seconds  float64 `json:"seconds"`     // time spent in Redact (one goroutine)
	TextsPS  float64 `json:"texts_per_s"` // Examples / Seconds
	Rows     []Row   `json:"rows"`
	Overall  Row     `json:"overall"`
	Errors   []Error `json:"errors,omitempty"`
}

func overlap(a0, a1, b0, b1 int) bool { return a0 < b1 && b0 < a1 }

// Evaluate runs r over the corpus (one goroutine, timed) and scores it.
func Evaluate(r *redact.Redactor, ex []Example) Report {
	r.Redact("warm up", nil) // the first call loads the lexicon
	results := make([]redact.Result, len(ex))
	t0 := time.Now()
	for i, e := range ex {
		results[i] = r.Redact(e.FullText, nil)
	}
	return Score(ex, results, time.Since(t0))
}

// Score scores results[i] (the redactor's output for ex[i]) against the
// gold spans; took is the time the redactor spent.
func Score(ex []Example, results []redact.Result, took time.Duration) Report {
	rows := map[string]*Row{}
	row := func(t string) *Row {
		if rows[t] == nil {
			rows[t] = &Row{Type: t}
		}
		return rows[t]
	}
	for _, t := range redact.AllTypes {
		row(t)
	}
	var rep Report
	rep.Examples = len(ex)
	rep.Seconds = took.Seconds()
	if rep.Seconds > 0 {
		rep.TextsPS = float64(len(ex)) / rep.Seconds
	}
	for i, e := range ex {
		res := results[i]
		runes := []rune(redact.SanitizeUTF8(e.FullText))
		val := func(a, b int) string {
			a, b = max(0, min(a, len(runes))), max(0, min(b, len(runes)))
			return string(runes[a:b])
		}
		for _, g := range e.Spans {
			t := MapType(g.EntityType)
			if t == "" {
				continue
			}
			rw := row(t)
			rw.Gold++
			found, exact := false, false
			for _, p := range res.Spans {
				if p.Type == t && overlap(p.Start, p.End, g.Start, g.End) {
					found = true
					if p.Start == g.Start && p.End == g.End {
						exact = true
					}
				}
			}
			if covered(runes, g, t, res.Spans) {
				rw.Covered++
			} else {
				rep.Errors = append(rep.Errors, Error{Kind: "FN", Type: t, Value: val(g.Start, g.End), Text: e.FullText, Partial: found})
			}
			if found {
				rw.TPGold++
			}
			if exact {
				rw.Exact++
			}
		}
		for _, p := range res.Spans {
			rw := row(p.Type)
			rw.Predicted++
			if inside(runes, p, e.Spans) {
				rw.TPStrict++
			}
			ok, any := false, false
			under := ""
			for _, g := range e.Spans {
				if !overlap(p.Start, p.End, g.Start, g.End) {
					continue
				}
				mt := MapType(g.EntityType)
				if mt == p.Type {
					ok = true
					break
				}
				if mt != "" {
					any = true
				}
				if under == "" || MapType(under) == "" {
					under = g.EntityType
				}
			}
			if ok || any {
				rw.TPPredAny++
			}
			if ok {
				rw.TPPred++
				continue
			}
			if under != "" && MapType(under) == "" {
				rw.OnNonTarget++
			}
			rep.Errors = append(rep.Errors, Error{Kind: "FP", Type: p.Type, Value: val(p.Start, p.End), Text: e.FullText, Gold: under})
		}
	}
	all := Row{Type: "ALL"}
	for _, t := range redact.AllTypes {
		rw := rows[t]
		finish(rw)
		rep.Rows = append(rep.Rows, *rw)
		all.Gold += rw.Gold
		all.Predicted += rw.Predicted
		all.TPGold += rw.TPGold
		all.Covered += rw.Covered
		all.TPPred += rw.TPPred
		all.TPPredAny += rw.TPPredAny
		all.TPStrict += rw.TPStrict
		all.Exact += rw.Exact
		all.OnNonTarget += rw.OnNonTarget
	}
	finish(&all)
	rep.Overall = all
	sort.SliceStable(rep.Errors, func(i, j int) bool {
		if rep.Errors[i].Type != rep.Errors[j].Type {
			return rep.Errors[i].Type < rep.Errors[j].Type
		}
		return rep.Errors[i].Kind < rep.Errors[j].Kind
	})
	return rep
}

func finish(r *Row) {
	if r.Gold > 0 {
		r.Recall = float64(r.Covered) / float64(r.Gold)
		r.Lenient = float64(r.TPGold) / float64(r.Gold)
		r.ExactRecall = float64(r.Exact) / float64(r.Gold)
	}
	if r.Predicted > 0 {
		r.Precision = float64(r.TPPred) / float64(r.Predicted)
		r.PrecAny = float64(r.TPPredAny) / float64(r.Predicted)
		r.PrecPII = float64(r.TPPredAny+r.OnNonTarget) / float64(r.Predicted)
		r.PrecStrict = float64(r.TPStrict) / float64(r.Predicted)
	}
	if r.Gold == 0 && r.Predicted == 0 {
		return
	}
	p, rc := r.Precision, r.Recall
	if p+rc > 0 {
		r.F2 = 5 * p * rc / (4*p + rc)
	}
}

// WriteTable prints the report as an aligned text table.
func WriteTable(w io.Writer, rep Report) {
	fmt.Fprintf(w, "examples: %d   %.0f texts/s (one goroutine)\n", rep.Examples, rep.TextsPS)
	fmt.Fprintf(w, "recall: same-type predictions cover >= 80%% of the gold span's non-space characters; lenient: any overlap; exact: same boundaries\n")
	fmt.Fprintf(w, "precision: overlaps a same-type gold span; p_strict: >= 80%% of the predicted span's non-space characters inside same-type gold spans\n")
	fmt.Fprintf(w, "%-14s %6s %6s %7s %8s %7s %9s %8s %7s %7s %7s %6s\n", "type", "gold", "pred", "recall", "lenient", "exact", "precision", "p_strict", "p_any", "p_pii", "F2", "fp_nt")
	line := func(r Row) {
		fmt.Fprintf(w, "%-14s %6d %6d %7.3f %8.3f %7.3f %9.3f %8.3f %7.3f %7.3f %7.3f %6d\n", r.Type, r.Gold, r.Predicted, r.Recall, r.Lenient, r.ExactRecall, r.Precision, r.PrecStrict, r.PrecAny, r.PrecPII, r.F2, r.OnNonTarget)
	}
	for _, r := range rep.Rows {
		if r.Gold == 0 && r.Predicted == 0 {
			continue
		}
		line(r)
	}
	fmt.Fprintln(w, strings.Repeat("-", 103))
	line(rep.Overall)
}

// covered reports whether predictions of type t cover at least 80% of the
// non-space code points of gold span g.
func covered(runes []rune, g GoldSpan, t string, preds []redact.Span) bool {
	a, b := max(0, g.Start), min(len(runes), g.End)
	total, in := 0, 0
	for i := a; i < b; i++ {
		if unicode.IsSpace(runes[i]) {
			continue
		}
		total++
		for _, p := range preds {
			if p.Type == t && p.Start <= i && i < p.End {
				in++
				break
			}
		}
	}
	return total > 0 && in*5 >= total*4
}

// inside reports whether at least 80% of the non-space code points of
// prediction p lie inside gold spans of p's type (the recall rule turned
// round: strict precision).
func inside(runes []rune, p redact.Span, gold []GoldSpan) bool {
	a, b := max(0, p.Start), min(len(runes), p.End)
	total, in := 0, 0
	for i := a; i < b; i++ {
		if unicode.IsSpace(runes[i]) {
			continue
		}
		total++
		for _, g := range gold {
			if g.Start <= i && i < g.End && MapType(g.EntityType) == p.Type {
				in++
				break
			}
		}
	}
	return total > 0 && in*5 >= total*4
}
