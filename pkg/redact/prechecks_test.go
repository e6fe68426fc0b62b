package redact

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// precheckHoles are texts each expression matches only through what (?i) and
// \s accept beyond ASCII letters and the space character: the Kelvin sign
// (U+212A, folds to k), long s (U+017F, folds to s), a tab or line break
// after the keyword, lower case.
var precheckHoles = []string{
	"header basic\tdXNlcjpwYXNzd29yZDEyMzQ=", "Authorization: Token\nabcdefghijklmnop1234",
	"baſic dXNlcjpwYXNzd29yZDEyMzQ=", "to\u212Aen abcdefghijklmnop1234",
	"api_\u212Aey: value99", "my_ſecret=longvalue", "paſſword = hunter22",
	"office 4ſuite 5, Lyon", "ſte 4", "xſte 4",
	"USS Enterprise", "uss enterprise", "apo ae 12345", "APO\tAE 12345", "psc 12 box 3", "USNS\tComfort",
}

// precheckVariants rewrites a text the way precheckHoles are written.
func precheckVariants(in string) []string {
	return []string{
		strings.ReplaceAll(in, " ", "\t"),
		strings.ReplaceAll(in, "s", "\u017F"),
		strings.ReplaceAll(in, "k", "\u212A"),
		strings.ReplaceAll(strings.ReplaceAll(in, "S", "\u017F"), "K", "\u212A"),
		strings.ToLower(in),
	}
}

// TestPrechecksAgreeWithTheExpressions: the cheap checks that let the
// redactor skip an expression never skip a text the expression matches (the
// truth is the expression itself), on every golden input, the scan edge
// cases, the holes above, and each input's tab, long-s, Kelvin and lower-case
// variants. Token, bearer and unit have no pre-check beyond their candidate
// positions (scan_test.go); assignRe and poBoxRe keep one.
func TestPrechecksAgreeWithTheExpressions(t *testing.T) {
	var inputs []string
	for _, in := range append(append(goldenInputs(t), scanEdgeCases()...), precheckHoles...) {
		inputs = append(inputs, in)
		inputs = append(inputs, precheckVariants(in)...)
	}
	for _, c := range []struct {
		name     string
		re       *regexp.Regexp
		possible func(string) bool
	}{{"assign", assignRe, assignMayMatch}, {"po box", poBoxRe, poBoxPossible}} {
		matched, bad := 0, 0
		for _, in := range inputs {
			if !c.re.MatchString(in) {
				continue
			}
			matched++
			if !c.possible(in) {
				if bad < 5 {
					t.Errorf("%s: the expression matches %q but its pre-check says it cannot", c.name, in)
				}
				bad++
			}
		}
		if matched < 20 {
			t.Errorf("%s: only %d inputs match: the check proves little", c.name, matched)
		}
		t.Logf("%s: %d inputs match, %d skipped by the pre-check", c.name, matched, bad)
	}
}

// TestPrecheckHolesAreRedacted: what the expressions match through the
// Kelvin sign, long s or a tab is redacted like its ASCII spelling (a span of the type covers it) (the
// credential as SECRET, the unit, P.O. box and ship forms as LOCATION).
func TestPrecheckHolesAreRedacted(t *testing.T) {
	r := New()
	for _, c := range []struct{ text, want, typ string }{
		{"header basic\tdXNlcjpwYXNzd29yZDEyMzQ=", "dXNlcjpwYXNzd29yZDEyMzQ=", Secret},
		{"Authorization: Token\nabcdefghijklmnop1234", "abcdefghijklmnop1234", Secret},
		{"use baſic dXNlcjpwYXNzd29yZDEyMzQ= here", "dXNlcjpwYXNzd29yZDEyMzQ=", Secret},
		{"to\u212Aen abcdefghijklmnop1234", "abcdefghijklmnop1234", Secret},
		{"api_\u212Aey: value99", "value99", Secret},
		{"my_ſecret=longvalue", "longvalue", Secret},
		{"see xſuite 12 now", "ſuite 12", Location},
		{"send it to APO\tAE 12345", "APO\tAE 12345", Location},
		{"posted on USS Enterprise, pier 4", "USS Enterprise", Location},
	} {
		res := r.Redact(c.text, nil)
		at := strings.Index(c.text, c.want)
		start := utf8.RuneCountInString(c.text[:at])
		end := start + utf8.RuneCountInString(c.want)
		found := false
		for _, sp := range res.Spans {
			if sp.Start <= start && sp.End >= end && sp.Type == c.typ {
				found = true
			}
		}
		if !found {
			t.Errorf("%q: want %q as %s, got %+v", c.text, c.want, c.typ, res.Spans)
		}
	}
}
