package producer

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestScanStringAgreesWithEncodingJSON holds the fast path's string scan (8
// bytes at a time where it can) to encoding/json's reading of the same text:
// where the string ends, its decoded value, and refusal of control bytes and
// bad escapes; invalid UTF-8, which encoding/json replaces, is refused (left
// to the full decoder). Pieces land on every offset of the 8-byte words.
func TestScanStringAgreesWithEncodingJSON(t *testing.T) {
	pieces := []string{"a", "b", "Z", " ", "0", "~", "\x7f", `"`, `\"`, `\\`, `\/`, `\n`, `\t`, `\u00e9`, `\ud83d\ude00`, `\ud800`,
		`\x`, `\u12`, "\\", "\x00", "\x1f", "\n", "é", "日", "\xff", "\xc3", "!", "#", "[", "]", "\x20", "\x21", "\x5b", "\x5d"}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 20000; n++ {
		var b strings.Builder
		b.WriteByte('"')
		plain := rng.IntN(40) // a run of plain text, then mixed pieces
		for range plain {
			b.WriteByte("abcdefgh ,.:;-_0123"[rng.IntN(19)])
		}
		for range rng.IntN(6) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
			for range rng.IntN(12) {
				b.WriteByte('x')
			}
		}
		if rng.IntN(10) > 0 {
			b.WriteString(`"`)
		}
		b.WriteString(`,"next":1}`)
		in := b.String()

		sc := fastScan{s: in}
		got, ok := sc.scanString(true)

		dec := json.NewDecoder(strings.NewReader(in))
		var want string
		err := dec.Decode(&want)
		end := int(dec.InputOffset())
		raw := ""
		if err == nil {
			raw = in[1 : end-1]
		}
		switch {
		case err != nil:
			if ok {
				t.Fatalf("%q: encoding/json refuses it (%v), the scan read %q", in, err, got)
			}
		case !utf8.ValidString(raw):
			if ok {
				t.Fatalf("%q: invalid UTF-8 must go to the full decoder, the scan read %q", in, got)
			}
		default:
			if !ok || got != want || sc.i != end {
				t.Fatalf("%q: scan = %q, %v, ends at %d; encoding/json = %q, ends at %d", in, got, ok, sc.i, want, end)
			}
		}
	}
}
