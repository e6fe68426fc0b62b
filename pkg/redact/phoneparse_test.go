package redact

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// phoneParseInputs are the digit runs of every golden input (with the
// separators the number scanner accepts, and each run's pieces between
// spaces), the runs of a few hand-written numbers, and random strings of
// digits, separators and the characters that make the library do more: a
// '+' not at the start, letters of extensions, '#', '/', ',' and ';',
// fullwidth and Arabic-Indic digits, a fullwidth plus.
func phoneParseInputs(tb testing.TB) []string {
	run := regexp.MustCompile(`[+(]?\d[\d ().-]*\d\)?`)
	var out []string
	for _, text := range goldenInputs(tb) {
		for _, m := range run.FindAllString(text, -1) {
			out = append(out, m)
			parts := strings.Split(m, " ")
			for i := range parts {
				for j := i + 1; j <= len(parts) && j <= i+6; j++ {
					out = append(out, strings.Join(parts[i:j], " "))
				}
			}
		}
	}
	out = append(out, "(650) 253-1274", "+1 650 253 1274", "+44 20 7946 0958", "+44 (0)20 7946 0958",
		"+39 06 6982 1234", "+7 495 123-45-67", "+54 9 11 1234-5678", "+52 1 55 1234 5678", "+800 1234 5678",
		"+882 1234 5678", "+1 (800) 555-0199", "+0 123 456 7890", "+999 123 4567", "+1 0123456789",
		"1 650 253 1274", "011 44 20 7946 0958", "0044 20 7946 0958", "+61 4 1234 5678", "+86 10 1234 5678")
	rng := rand.New(rand.NewPCG(16, 8))
	seps := []string{" ", "-", ".", "(", ")", " (", ") ", "  ", "--"}
	odd := []string{"+", "x", "ext", "#", "/", ",", ";", "*", "a", "＋", "٣", "１", "\u00a0", "~"}
	for range 60000 {
		var b strings.Builder
		if rng.IntN(2) == 0 {
			b.WriteByte('+')
		}
		for k := 5 + rng.IntN(15); k > 0; k-- {
			b.WriteByte(byte('0' + rng.IntN(10)))
			switch rng.IntN(12) {
			case 0, 1, 2:
				b.WriteString(seps[rng.IntN(len(seps))])
			case 3:
				if rng.IntN(8) == 0 {
					b.WriteString(odd[rng.IntN(len(odd))])
				}
			}
		}
		out = append(out, b.String())
	}
	return out
}

// TestQuickParseIsTheLibrarysParse: whenever quickParse answers, the library
// parses the same text with the default region US without an error and to
// the same number (every field, and the whole message's text form); and
// quickParse answers for thousands of them, with and without a '+'.
func TestQuickParseIsTheLibrarysParse(t *testing.T) {
	in := phoneParseInputs(t)
	quick, quickPlus, libOnly := 0, 0, 0
	for _, raw := range in {
		pn, ok := quickParse(raw)
		lib, err := phonenumbers.Parse(raw, "US")
		if !ok {
			if err == nil {
				libOnly++
			}
			continue
		}
		quick++
		if strings.HasPrefix(raw, "+") {
			quickPlus++
		}
		if err != nil {
			t.Fatalf("quickParse(%q) = %v, the library: error %v", raw, pn, err)
		}
		if pn.GetCountryCode() != lib.GetCountryCode() || pn.GetNationalNumber() != lib.GetNationalNumber() ||
			pn.GetItalianLeadingZero() != lib.GetItalianLeadingZero() || pn.GetNumberOfLeadingZeros() != lib.GetNumberOfLeadingZeros() ||
			pn.GetExtension() != lib.GetExtension() || pn.GetRawInput() != lib.GetRawInput() ||
			pn.GetCountryCodeSource() != lib.GetCountryCodeSource() || pn.GetPreferredDomesticCarrierCode() != lib.GetPreferredDomesticCarrierCode() ||
			pn.String() != lib.String() {
			t.Fatalf("quickParse(%q) = %v, the library %v", raw, pn, lib)
		}
	}
	t.Logf("%d inputs: quickParse answered %d (%d with a '+'), the library alone parsed %d more", len(in), quick, quickPlus, libOnly)
	if quickPlus < 2000 || quick-quickPlus < 2000 {
		t.Fatalf("quickParse answered only %d inputs with a '+' and %d without", quickPlus, quick-quickPlus)
	}
}
