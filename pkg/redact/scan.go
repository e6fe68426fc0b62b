package redact

import (
	"regexp"
	"strings"
)

// Running an expression over a whole text makes RE2 try every position; most
// of the redactor's expressions can only start at a word boundary followed by
// one of a few literal words. findAllAt tries the expression only there, and
// returns exactly what FindAllStringSubmatchIndex on the whole text returns:
// each match of the unanchored expression starts at its leftmost possible
// position, which is a candidate, and the match found there by the anchored
// expression is the same (leftmost-first prefers the same alternative at the
// same start); after a match the search resumes at its end, as FindAll does.
// Differential tests (scan_test.go) check it against the expressions.

// startsAnchored is an expression flags + `\b` + body, whose matches all
// start at the word boundary, together with body anchored at the start of the
// input and without the \b, which findAllAt checks itself with the byte before
// i (RE2's \b is ASCII-only: it holds where exactly one of the two sides is
// an ASCII letter, digit or '_'; so "xſuite" has one before ſ and " ſuite"
// none).
type startsAnchored struct {
	re, anchored *regexp.Regexp
}

func newStartsAnchored(flags, body string) startsAnchored {
	return startsAnchored{
		re:       regexp.MustCompile(flags + `\b` + body),
		anchored: regexp.MustCompile(`^` + flags + `(?:` + body + `)`),
	}
}

func asciiWordByte(c byte) bool { return isAlnum(c) || c == '_' }

// asciiBoundary reports whether RE2's \b holds before text[i].
func asciiBoundary(text string, i int) bool {
	before := i > 0 && asciiWordByte(text[i-1])
	return before != asciiWordByte(text[i])
}

// findAllAt calls f with every match (submatch indexes into text, as
// FindAllStringSubmatchIndex returns them) of e.re in text, trying the
// expression only at word boundaries where one of st begins. Every match of
// e.re must begin with one of st.
func (e startsAnchored) findAllAt(text string, st *starts, f func(m []int)) {
	for i := 0; i < len(text); i++ {
		if len(st.byFirst[text[i]]) == 0 || !asciiBoundary(text, i) || !st.at(text, i) {
			continue
		}
		m := e.anchored.FindStringSubmatchIndex(text[i:])
		if m == nil {
			continue
		}
		for k := range m {
			if m[k] >= 0 {
				m[k] += i
			}
		}
		f(m)
		if m[1] > i { // none of the expressions matches empty
			i = m[1] - 1
		}
	}
}

// starts are the words a match can begin with, by their first byte.
type starts struct {
	byFirst [256][]string
	fold    bool
}

// at reports whether one of the words begins at text[i].
func (st *starts) at(text string, i int) bool {
	for _, w := range st.byFirst[text[i]] {
		if st.fold && hasPrefixFold(text[i:], w) || !st.fold && strings.HasPrefix(text[i:], w) {
			return true
		}
	}
	return false
}

// hasPrefixFold reports whether s begins with kw (lowercase ASCII letters) as
// a (?i) expression compares: ASCII case folded, and the Kelvin sign (U+212A)
// and long s (U+017F) matching k and s, the only non-ASCII letters whose case
// orbit holds an ASCII letter.
func hasPrefixFold(s, kw string) bool { return prefixFoldLen(s, kw) >= 0 }

// prefixFoldLen is the length of the prefix of s that hasPrefixFold compares
// with kw, or -1 when s does not begin with kw.
func prefixFoldLen(s, kw string) int {
	j := 0
	for k := 0; k < len(kw); k++ {
		if j >= len(s) {
			return -1
		}
		c := s[j]
		switch {
		case c|0x20 == kw[k] && isAlpha(c):
			j++
		case kw[k] == 's' && strings.HasPrefix(s[j:], "\u017F"):
			j += len("\u017F")
		case kw[k] == 'k' && strings.HasPrefix(s[j:], "\u212A"):
			j += len("\u212A")
		default:
			return -1
		}
	}
	return j
}

// in reports whether one of the words begins anywhere in text (not only at a
// word boundary), followed by a byte for which next holds, or by anything
// when next is nil: a pre-check that compares as the expression compares.
func (st *starts) in(text string, next func(byte) bool) bool {
	for i := 0; i < len(text); i++ {
		for _, w := range st.byFirst[text[i]] {
			n := len(w)
			if st.fold {
				n = prefixFoldLen(text[i:], w)
			} else if !strings.HasPrefix(text[i:], w) {
				n = -1
			}
			if n >= 0 && (next == nil || i+n < len(text) && next(text[i+n])) {
				return true
			}
		}
	}
	return false
}

// wordStartFold: words (lowercase ASCII) compared as (?i) compares.
func wordStartFold(words ...string) *starts {
	st := &starts{fold: true}
	for _, w := range words {
		firsts := []byte{w[0], w[0] - ('a' - 'A')}
		switch w[0] {
		case 's':
			firsts = append(firsts, "\u017F"[0])
		case 'k':
			firsts = append(firsts, "\u212A"[0])
		}
		for _, c := range firsts {
			st.byFirst[c] = append(st.byFirst[c], w)
		}
	}
	return st
}

// wordStartExact: literal prefixes, case-sensitive.
func wordStartExact(prefixes ...string) *starts {
	st := &starts{}
	for _, p := range prefixes {
		st.byFirst[p[0]] = append(st.byFirst[p[0]], p)
	}
	return st
}
