package transform

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
)

// Names the differential tests seed into JSON; nameRedactor replaces them in
// decoded text (the stand-in for the real redactor, whose own escape handling
// is tested in pkg/redact: here the walk must hand it decoded strings).
var seededNames = []string{"Jürgen Müller", "Zoë Ñandú", "Åsa Øberg", "李小龍", "Ada Lovelace", "O'Brien", "😀 Emoji Person"}

var nameRedactor = RedactorFunc(func(text string, _ Actor) Redaction {
	var types []string
	for _, n := range seededNames {
		if strings.Contains(text, n) {
			text = strings.ReplaceAll(text, n, "<PERSON>")
			types = append(types, "PERSON")
		}
	}
	return Redaction{Text: text, Types: types}
})

func redactProps(t *testing.T, tr *Transformer, v string) string {
	t.Helper()
	e := baseEvent()
	e.Properties = map[string]string{"meta": v}
	c, err := tr.Transform(&e, Meta{})
	require.NoError(t, err)
	return c.Properties["meta"]
}

// The case of the issue: a Python backend escapes every non-ASCII letter, so
// the value ingest keeps spells the actor's name in \u escapes.
func TestStructuredValueIsDecodedBeforeRedaction(t *testing.T) {
	tr := newTransformer(t, func(o *Options) { o.Redactor = nameRedactor; o.Allowlist = []string{"meta"} })
	for _, c := range []struct{ in, want string }{
		{`{"author":"J\u00fcrgen M\u00fcller"}`, `{"author":"<PERSON>"}`},
		{`{"author": "J\u00fcrgen M\u00fcller", "n": 3, "ok": true, "x": null}`, `{"author":"<PERSON>","n":3,"ok":true,"x":null}`},
		{`[{"to":["Ada Lovelace","\u0041da Lovelace"]}, 1.50e3]`, `[{"to":["<PERSON>","<PERSON>"]},1.50e3]`},
		// keys are strings too
		{`{"J\u00fcrgen M\u00fcller":"approved"}`, `{"<PERSON>":"approved"}`},
		// JSON inside a string is walked in turn
		{`{"inner":"{\"by\":\"Z\\u00f6e\",\"to\":\"Zo\\u00eb \\u00d1and\\u00fa\"}"}`, `{"inner":"{\"by\":\"Zöe\",\"to\":\"<PERSON>\"}"}`},
		// surrogate pairs, \/ and control characters
		{`{"a":"\ud83d\ude00 Emoji Person","b":"http:\/\/x","c":"line\u000abreak\u0001"}`, `{"a":"<PERSON>","b":"http://x","c":"line\nbreak\u0001"}`},
		// <, > and & are written as themselves (no \u003c)
		{`{"html":"\u003cb\u003e \u0026"}`, `{"html":"<b> &"}`},
		// not JSON: free text
		{`{"author":"J\u00fcrgen`, `{"author":"J\u00fcrgen`},
		{`[1, 2] trailing`, `[1, 2] trailing`},
		{`plain Ada Lovelace`, `plain <PERSON>`},
	} {
		require.Equal(t, c.want, redactProps(t, tr, c.in), c.in)
	}
	deep := strings.Repeat("[", 40) + `"Ada Lovelace"` + strings.Repeat("]", 40)
	require.Equal(t, strings.Repeat("[", 40)+`"<PERSON>"`+strings.Repeat("]", 40), redactProps(t, tr, deep),
		"too deep for the walk: redacted as text")
}

// randJSON writes a random JSON value whose strings mix seeded names with
// other text, each character written raw or escaped (\uXXXX with random hex
// case, surrogate pairs, the short escapes, \/) at random, sometimes with
// JSON encoded again inside a string.
// Object keys end in a number unique in the document, so that no two keys of
// an object become one by redaction (a decoder keeps the last of equal keys;
// the oracle, decoding into maps, cannot tell which that is).
func randJSON(r *rand.Rand, depth int, keys *int) string {
	switch n := r.IntN(10); {
	case depth > 3 || n < 4:
		return randString(r)
	case n < 5:
		return []string{"0", "-12", "3.25", "1e-7", "true", "false", "null"}[r.IntN(7)]
	case n < 6:
		// a JSON document inside a string
		return escapeJSON(r, randJSON(r, depth+1, keys))
	case n < 8:
		var parts []string
		for i := r.IntN(4); i > 0; i-- {
			parts = append(parts, randJSON(r, depth+1, keys))
		}
		return "[" + strings.Join(parts, ws(r)+","+ws(r)) + "]"
	default:
		var parts []string
		for i := r.IntN(4); i > 0; i-- {
			*keys++
			key := escapeJSON(r, fmt.Sprintf("%s #%d", randText(r), *keys))
			parts = append(parts, key+ws(r)+":"+ws(r)+randJSON(r, depth+1, keys))
		}
		return "{" + ws(r) + strings.Join(parts, ","+ws(r)) + "}"
	}
}

func ws(r *rand.Rand) string { return []string{"", "", " ", "\n\t"}[r.IntN(4)] }

func randString(r *rand.Rand) string { return escapeJSON(r, randText(r)) }

func randText(r *rand.Rand) string {
	words := []string{"ok", "note:", "by", "<b>", "a&b", `"quoted"`, `back\slash`, "tab\t", "ctl\x01", "/path/", "€ 5"}
	var parts []string
	for i := 1 + r.IntN(3); i > 0; i-- {
		if r.IntN(2) == 0 {
			parts = append(parts, seededNames[r.IntN(len(seededNames))])
		} else {
			parts = append(parts, words[r.IntN(len(words))])
		}
	}
	return strings.Join(parts, " ")
}

// escapeJSON writes s as a JSON string, escaping each character at random.
func escapeJSON(r *rand.Rand, s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		mustEscape := c == '"' || c == '\\' || c < 0x20
		if !mustEscape && r.IntN(3) != 0 {
			b.WriteRune(c)
			continue
		}
		switch {
		case c == '/' && r.IntN(2) == 0:
			b.WriteString(`\/`)
		case c == '"' && r.IntN(2) == 0:
			b.WriteString(`\"`)
		case c == '\\' && r.IntN(2) == 0:
			b.WriteString(`\\`)
		case c == '\n' && r.IntN(2) == 0:
			b.WriteString(`\n`)
		case c > 0xffff:
			hi, lo := utf16.EncodeRune(c)
			b.WriteString(hexEscape(r, hi) + hexEscape(r, lo))
		default:
			b.WriteString(hexEscape(r, c))
		}
	}
	b.WriteByte('"')
	return b.String()
}

func hexEscape(r *rand.Rand, c rune) string {
	s := fmt.Sprintf(`\u%04x`, c)
	if r.IntN(2) == 0 {
		s = `\u` + strings.ToUpper(s[2:])
	}
	return s
}

// expected is the oracle of the differential test, written independently of
// the walk: encoding/json decodes the input into Go values and the stand-in
// redactor is applied to every string (keys included, JSON inside strings
// decoded and walked the same way).
func expected(v any, depth int) any {
	switch x := v.(type) {
	case string:
		if depth < maxJSONDepth {
			var inner any
			t := strings.TrimLeft(x, " \t\r\n")
			if t != "" && (t[0] == '{' || t[0] == '[' || t[0] == '"') && json.Unmarshal([]byte(x), &inner) == nil {
				b, _ := json.Marshal(expected(inner, depth+1))
				return string(b)
			}
		}
		return nameRedactor(x, Actor{}).Text
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = expected(x[i], depth+1)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, val := range x {
			out[nameRedactor(k, Actor{}).Text] = expected(val, depth+1)
		}
		return out
	}
	return v
}

// normalise decodes JSON text into Go values, re-encoding strings that hold
// JSON so that both sides compare as values, not spellings.
func normalise(t *testing.T, v any) any {
	switch x := v.(type) {
	case string:
		var inner any
		tt := strings.TrimLeft(x, " \t\r\n")
		if tt != "" && (tt[0] == '{' || tt[0] == '[' || tt[0] == '"') && json.Unmarshal([]byte(x), &inner) == nil {
			return map[string]any{"json": normalise(t, inner)}
		}
		return x
	case []any:
		for i := range x {
			x[i] = normalise(t, x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normalise(t, x[k])
		}
	}
	return v
}

var escapeRe = regexp.MustCompile(`\\(u[0-9a-fA-F]{4}|.)`)

// Differential: over random JSON values with random escapes, the curated value
// decodes (with encoding/json) to what decoding the input and redacting every
// string gives; it holds no seeded name in any spelling; and its only escapes
// are those JSON requires.
func TestStructuredValuesDifferential(t *testing.T) {
	tr := newTransformer(t, func(o *Options) { o.Redactor = nameRedactor; o.Allowlist = []string{"meta"} })
	r := rand.New(rand.NewPCG(20, 1))
	for i := 0; i < 3000; i++ {
		keys := 0
		in := randJSON(r, 0, &keys)
		if r.IntN(2) == 0 {
			in = "{" + escapeJSON(r, "k") + ":" + in + "}"
		}
		var inV any
		require.NoError(t, json.Unmarshal([]byte(in), &inV), in)
		if !looksStructured(in) {
			continue // a scalar property value is text, not structure
		}
		out := redactProps(t, tr, in)
		var outV any
		require.NoError(t, json.Unmarshal([]byte(out), &outV), "output is JSON: %s", out)
		want := expected(inV, 0)
		require.Equal(t, normalise(t, want), normalise(t, outV), "input %s\noutput %s", in, out)
		for _, m := range escapeRe.FindAllStringSubmatch(out, -1) {
			esc := m[1]
			switch {
			case esc == `"` || esc == `\` || esc == "n" || esc == "r" || esc == "t":
			case esc[0] == 'u':
				var c rune
				_, _ = fmt.Sscanf(esc[1:], "%04x", &c)
				require.True(t, c < 0x20 || c == 0x7f, "escape \\%s in %s: a reader would undo it", esc, out)
			default:
				t.Fatalf("escape \\%s in %s", esc, out)
			}
		}
		for _, n := range seededNames {
			for _, part := range strings.Fields(n) {
				if len(part) >= 4 {
					require.NotContains(t, out, part, "input %s", in)
				}
			}
		}
	}
}
