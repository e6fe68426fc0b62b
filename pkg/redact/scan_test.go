package redact

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// scanEdgeCases put matches where a candidate test could go wrong: at the
// start and end of the text, glued to a word before or after, after a
// non-ASCII letter, back to back, overlapping candidates, and with the Kelvin
// sign and long s that (?i) folds to k and s (RE2's \b is ASCII-only, so
// "xſuite 5" has a boundary before ſ and " ſuite 5" none).
func scanEdgeCases() []string {
	gh := "ghp_" + strings.Repeat("a1B2", 9)
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk"
	out := []string{
		gh, gh + " " + gh, gh + gh, "x" + gh, "_" + gh, "é" + gh, "-" + gh, gh + "x",
		"AKIA" + strings.Repeat("Q", 16), "AKIAAKIA" + strings.Repeat("Q", 16), "ASIA" + strings.Repeat("7", 16) + ".",
		"github_pat_" + strings.Repeat("z", 22), "glpat-" + strings.Repeat("k", 20), "xoxb-1234567890-abc", "xoxz-1234567890",
		"sk_live_" + strings.Repeat("x", 20), "rk_test_" + strings.Repeat("y", 16), "pk_live_sk_live_" + strings.Repeat("x", 20),
		"ask_live_" + strings.Repeat("x", 20), "whsec_" + strings.Repeat("w", 24), "AIza" + strings.Repeat("9", 35),
		"ya29." + strings.Repeat("g", 20), "sk-" + strings.Repeat("s", 20), "sk-proj-" + strings.Repeat("p", 24), "task-" + strings.Repeat("s", 20),
		"sk-ant-sk-" + strings.Repeat("a", 30), "npm_" + strings.Repeat("n", 36), "pypi-" + strings.Repeat("p", 40),
		"SG." + strings.Repeat("s", 16) + "." + strings.Repeat("t", 16), jwt, jwt + "." + jwt, "(" + jwt + ")",
		"Bearer " + jwt, "bearer\t" + strings.Repeat("b", 16) + "==", "BASIC dXNlcjpwYXNzd29yZDEyMzQ=", "baſic dXNlcjpwYXNzd29yZDEyMzQ=",
		"to\u212Aen abcdefghijklmnop1234", "TOKEN\n\nabcdefghijklmnop1234", "mytoken abcdefghijklmnop1234", "token token abcdefghijklmnop1234",
		"token abcdefghijklmnop1234 bearer abcdefghijklmnop5678", "token abcdefghijklmno", "xbearer abcdefghijklmnop1234",
		"Apt 4B", "apt. #12", "Apartment 5", "Suite 100", "STE 7", "unit12", "Room #3", "flat 2a", "floor 3", "Fl. 4", "fl 9z",
		"xſuite 5", " ſuite 5", "ſte 4", "community 5", "unit 5unit 6", "suite 1 suite 2", "Unit 7 Box 9", "apt4apt 5",
		"ſ", "\u212A", "x\u212A", "", "t", "to", "tok", "toke", "token", "ap", "fl",
	}
	// each again inside a sentence
	for _, s := range slices.Clone(out) {
		out = append(out, "Note: "+s+", thanks.", "é"+s+"é", s+"\n"+s)
	}
	return out
}

// TestFindAllAtMatchesTheExpressions: trying token, bearer and unit only at
// their candidate positions finds exactly what the expressions find over the
// whole text (the truth is regexp's FindAllStringSubmatchIndex), on every
// golden input and the edge cases.
func TestFindAllAtMatchesTheExpressions(t *testing.T) {
	inputs := append(goldenInputs(t), scanEdgeCases()...)
	for _, c := range []struct {
		name string
		e    startsAnchored
		cand *starts
	}{{"token", token, tokenCand}, {"bearer", bearer, bearerCand}, {"unit", unit, unitCand}} {
		matched, bad := 0, 0
		for _, in := range inputs {
			want := c.e.re.FindAllStringSubmatchIndex(in, -1)
			var got [][]int
			c.e.findAllAt(in, c.cand, func(m []int) { got = append(got, slices.Clone(m)) })
			matched += len(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				if bad < 5 {
					t.Errorf("%s on %q: findAllAt %v, the expression %v", c.name, in, got, want)
				}
				bad++
			}
		}
		if matched < 50 {
			t.Errorf("%s: only %d matches in all inputs: the check proves little", c.name, matched)
		}
		t.Logf("%s: %d matches", c.name, matched)
	}
}
