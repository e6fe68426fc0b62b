package redact

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Escaped PII: an email written as jane.doe%40example.com in a URL, a name as
// J%C3%BCrgen+M%C3%BCller in a query string or J\u00fcrgen in a JSON fragment
// is what any URL or JSON reader turns back into the value. The recognisers
// match the decoded form, so Redact also looks at a decoded view of the text
// and maps what it finds there back onto the escapes that spell it.

// maxDecodeRounds bounds how often escapes are decoded in turn (%2540 is %40
// once decoded, @ twice).
const maxDecodeRounds = 3

// view is text with its escapes decoded, and where each of its bytes comes
// from: the bytes text[at[i]:at[i+1]] spell byte i of the view (at has one
// entry more than the view has bytes).
type view struct {
	text string
	at   []int
}

// origin maps the view's byte span [a, b) onto the input's.
func (v *view) origin(a, b int) (int, int) { return v.at[a], v.at[b] }

// decodedView returns the text with its percent escapes (%XX), form-encoded
// spaces (+ between letters or digits) and JSON/JavaScript \uXXXX escapes
// decoded, repeatedly (up to maxDecodeRounds, for values encoded twice), or
// ok=false when the text has no such escape. An escaped byte sequence that is
// not valid UTF-8 stays as it is written, so the view is valid UTF-8 when the
// text is, and every span of whole code points of the view maps onto whole code
// points of the text.
func decodedView(text string) (view, bool) {
	if !hasEscape(text) {
		return view{}, false
	}
	v := decodeOnce(text)
	for round := 1; round < maxDecodeRounds && hasEscape(v.text); round++ {
		next := decodeOnce(v.text)
		for i, p := range next.at {
			next.at[i] = v.at[p]
		}
		v = next
	}
	return v, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// pctAt decodes the percent escape at text[i], if there is one.
func pctAt(text string, i int) (byte, bool) {
	if i+2 >= len(text) || text[i] != '%' {
		return 0, false
	}
	h, ok1 := unhex(text[i+1])
	l, ok2 := unhex(text[i+2])
	return h<<4 | l, ok1 && ok2
}

// uAt decodes the \uXXXX escape at text[i], if there is one.
func uAt(text string, i int) (rune, bool) {
	if i+6 > len(text) || text[i] != '\\' || text[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range []byte(text[i+2 : i+6]) {
		d, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func wordByte(c byte) bool { return isAlnum(c) || c >= 0x80 }

// plusSpace reports whether the + at text[i] stands for a space: between two
// letters or digits, or next to a percent escape (Jane+Doe, J%C3%BCrgen+M).
func plusSpace(text string, i int) bool {
	if i == 0 || i+1 >= len(text) {
		return false
	}
	_, escBefore := pctAt(text, max(i-3, 0))
	before := wordByte(text[i-1]) || (i >= 3 && escBefore)
	after := wordByte(text[i+1]) || text[i+1] == '%'
	return before && after
}

func hasEscape(text string) bool {
	for i := 0; i < len(text); i++ {
		switch text[i] {
		case '%':
			if _, ok := pctAt(text, i); ok {
				return true
			}
		case '\\':
			if _, ok := uAt(text, i); ok {
				return true
			}
		case '+':
			if plusSpace(text, i) {
				return true
			}
		}
	}
	return false
}

// decodeOnce decodes one level of escapes.
func decodeOnce(text string) view {
	out := make([]byte, 0, len(text))
	at := make([]int, 0, len(text)+1)
	var run []byte // bytes of consecutive percent escapes
	var runAt []int
	flush := func() {
		// decode the run's valid UTF-8; invalid bytes stay escaped
		for j := 0; j < len(run); {
			r, size := utf8.DecodeRune(run[j:])
			if r == utf8.RuneError && size <= 1 {
				s := runAt[j]
				out = append(out, text[s:s+3]...)
				at = append(at, s, s+1, s+2)
				j++
				continue
			}
			out = append(out, run[j:j+size]...)
			at = append(at, runAt[j:j+size]...)
			j += size
		}
		run, runAt = run[:0], runAt[:0]
	}
	for i := 0; i < len(text); {
		if b, ok := pctAt(text, i); ok {
			run = append(run, b)
			runAt = append(runAt, i)
			i += 3
			continue
		}
		flush()
		switch c := text[i]; {
		case c == '+' && plusSpace(text, i):
			out = append(out, ' ')
			at = append(at, i)
			i++
		case c == '\\':
			r, ok := uAt(text, i)
			if !ok {
				out = append(out, c)
				at = append(at, i)
				i++
				break
			}
			n := 6
			if utf16.IsSurrogate(r) {
				r2, ok2 := uAt(text, i+6)
				if d := utf16.DecodeRune(r, r2); ok2 && d != utf8.RuneError {
					r, n = d, 12
				} else {
					r = utf8.RuneError
				}
			}
			if r == utf8.RuneError || r < 0x20 {
				// a lone surrogate or a control character: leave it written
				out = append(out, text[i:i+n]...)
				for k := 0; k < n; k++ {
					at = append(at, i+k)
				}
				i += n
				break
			}
			var enc [utf8.UTFMax]byte
			m := utf8.EncodeRune(enc[:], r)
			out = append(out, enc[:m]...)
			for k := 0; k < m; k++ {
				at = append(at, i)
			}
			i += n
		default:
			out = append(out, c)
			at = append(at, i)
			i++
		}
	}
	flush()
	at = append(at, len(text))
	return view{text: string(out), at: at}
}
