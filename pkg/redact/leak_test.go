package redact

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/consentflow/consentflow/pkg/redact/ner"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seeded is a value written into a text and the type it must be redacted as.
type seeded struct {
	value, typ string
}

// coverage checks one seeded value against a redaction: covered is true when
// every occurrence lies inside one span, typed when that span has the
// value's type.
func coverage(text string, res Result, v seeded) (covered, typed bool) {
	covered, typed = true, true
	found := false
	for off := 0; ; {
		k := strings.Index(text[off:], v.value)
		if k < 0 {
			break
		}
		found = true
		st := utf8.RuneCountInString(text[:off+k])
		en := st + utf8.RuneCountInString(v.value)
		// an occurrence glued to other characters is part of another
		// value ("ken.turing" in "ken.turing2@x.com"): it must be covered,
		// whatever the type
		glued := wordBefore(text, off+k) || wordAfter(text, off+k+len(v.value)) ||
			(off+k+len(v.value) < len(text) && text[off+k+len(v.value)] == '@')
		in := false
		for _, sp := range res.Spans {
			if sp.Start <= st && en <= sp.End {
				in = true
				if sp.Type != v.typ && !glued {
					typed = false
				}
				break
			}
		}
		if !in {
			covered, typed = false, false
		}
		off += k + len(v.value)
	}
	if !found {
		return false, false
	}
	return covered, typed
}

// Adjacent values in terse texts (search queries, comments): each one alone
// is found; written next to each other their digit groups used to be read
// as one run that validated as nothing. Also partial names: one half of a
// colleague's name matching the actor's name.
func TestAdjacentValuesDoNotLeak(t *testing.T) {
	r := New()
	cases := []struct {
		text  string
		actor *Actor
		want  []seeded
	}{
		// from the end-to-end leak report
		{"020 7946 0792 373236576732795", nil, []seeded{{"020 7946 0792", PhoneNumber}, {"373236576732795", CreditCard}}},
		{"DE76 8836 3592 0557 5055 74 673-48-2597", nil, []seeded{{"DE76 8836 3592 0557 5055 74", IBANCode}, {"673-48-2597", USSSN}}},
		{"release checklist 020 7946 0509 4985 9183 8912 4797", nil, []seeded{{"020 7946 0509", PhoneNumber}, {"4985 9183 8912 4797", CreditCard}}},
		{"(650) 253-1274", nil, []seeded{{"(650) 253-1274", PhoneNumber}}},
		{"expense policy (650) 253-1274", nil, []seeded{{"(650) 253-1274", PhoneNumber}}},
		{"expense policy 020 7946 0509", nil, []seeded{{"020 7946 0509", PhoneNumber}}},
		{"expense policy +44 20 7946 0958", nil, []seeded{{"+44 20 7946 0958", PhoneNumber}}},
		{"Please ask Richard Smith (richard.smith12@example.com) to call me back.", &Actor{Name: "Mary Smith"},
			[]seeded{{"Richard Smith", Person}, {"richard.smith12@example.com", EmailAddress}}},
		{"Please ask Susan Taylor to call me back on +1 212-432-1234.", &Actor{Name: "James Taylor"},
			[]seeded{{"Susan Taylor", Person}, {"+1 212-432-1234", PhoneNumber}}},
		{"Hi @mjones123, this is Mary Jones. Please ask Mary Williams to call.", &Actor{Name: "Mary Jones"},
			[]seeded{{"Mary Williams", Person}, {"Mary Jones", Person}, {"@mjones123", Person}}},
		{"Linda Taylor 212.432.1234", &Actor{Name: "Linda Brown"}, []seeded{{"Linda Taylor", Person}, {"212.432.1234", PhoneNumber}}},
		// two cards separated by a space
		{"4111 1111 1111 1111 5500 0000 0000 0004", nil, []seeded{{"4111 1111 1111 1111", CreditCard}, {"5500 0000 0000 0004", CreditCard}}},
		{"4111-1111-1111-1111 5500-0000-0000-0004", nil, []seeded{{"4111-1111-1111-1111", CreditCard}, {"5500-0000-0000-0004", CreditCard}}},
		{"vpn setup 4111111111111111 378282246310005", nil, []seeded{{"4111111111111111", CreditCard}, {"378282246310005", CreditCard}}},
		{"3782 822463 10005 4111 1111 1111 1111", nil, []seeded{{"3782 822463 10005", CreditCard}, {"4111 1111 1111 1111", CreditCard}}},
		// an SSN then a phone
		{"673-48-2597 (650) 253-1274", nil, []seeded{{"673-48-2597", USSSN}, {"(650) 253-1274", PhoneNumber}}},
		{"673-48-2597 020 7946 0509", nil, []seeded{{"673-48-2597", USSSN}, {"020 7946 0509", PhoneNumber}}},
		{"holiday calendar 536-90-4399 212-432-1234", nil, []seeded{{"536-90-4399", USSSN}, {"212-432-1234", PhoneNumber}}},
		{"536-90-4399 +49 30 9018 2123", nil, []seeded{{"536-90-4399", USSSN}, {"+49 30 9018 2123", PhoneNumber}}},
		// a phone then an IBAN
		{"020 7946 0509 DE89 3704 0044 0532 0130 00", nil, []seeded{{"020 7946 0509", PhoneNumber}, {"DE89 3704 0044 0532 0130 00", IBANCode}}},
		{"(650) 253-1274 GB82 WEST 1234 5698 7654 32", nil, []seeded{{"(650) 253-1274", PhoneNumber}, {"GB82 WEST 1234 5698 7654 32", IBANCode}}},
		{"+44 20 7946 0958 DE89370400440532013000", nil, []seeded{{"+44 20 7946 0958", PhoneNumber}, {"DE89370400440532013000", IBANCode}}},
		// an IBAN then a card or a phone, a card then an SSN, three values
		{"DE89 3704 0044 0532 0130 00 4111 1111 1111 1111", nil, []seeded{{"DE89 3704 0044 0532 0130 00", IBANCode}, {"4111 1111 1111 1111", CreditCard}}},
		{"DE89 3704 0044 0532 0130 00 020 7946 0509", nil, []seeded{{"DE89 3704 0044 0532 0130 00", IBANCode}, {"020 7946 0509", PhoneNumber}}},
		{"4111 1111 1111 1111 673-48-2597", nil, []seeded{{"4111 1111 1111 1111", CreditCard}, {"673-48-2597", USSSN}}},
		{"020 7946 0792 673-48-2597 4111 1111 1111 1111", nil, []seeded{{"020 7946 0792", PhoneNumber}, {"673-48-2597", USSSN}, {"4111 1111 1111 1111", CreditCard}}},
		{"23.94.5.17 020 7946 0792", nil, []seeded{{"23.94.5.17", IPAddress}, {"020 7946 0792", PhoneNumber}}},
	}
	for _, c := range cases {
		res := r.Redact(c.text, c.actor)
		for _, v := range c.want {
			covered, typed := coverage(c.text, res, v)
			assert.True(t, covered && typed, "%s %q not redacted as such in %q: %q %v", v.typ, v.value, c.text, res.Text, res.Spans)
			assert.NotContains(t, res.Text, v.value, "in %q", c.text)
		}
	}
}

// The split of a run must not invent values: runs that validate as nothing,
// or as one value, stay as they were.
func TestSplitKeepsWholeValues(t *testing.T) {
	runTable(t, patternOnly, CreditCard, []tc{
		{"card 4111 1111 1111 1111 ok", []string{"4111 1111 1111 1111"}},
		{"ids 1234 5678 9012 3456 7890 1234", nil},
	})
	runTable(t, patternOnly, PhoneNumber, []tc{
		{"ids 1234 5678 9012 3456 7890 1234", nil},
		{"call +44 20 7946 0958 now", []string{"+44 20 7946 0958"}},
		{"in 2019 we sold 12 500 units", nil},
	})
}

// piiType maps a loadgen seeded type to the type the redactor must emit.
func piiType(p loadgen.PII) string { return p.Type }

// madeUp reports whether a seeded kind is a made-up person or place (not in
// the redactor's lists): those measure generalisation and may leak a little.
func madeUp(kind string) bool {
	return kind == loadgen.KindPerson || kind == loadgen.KindPlace || kind == loadgen.KindAddress
}

// partialLeak returns a token of four or more characters of value that is
// still in the redacted text, or "".
func partialLeak(redacted, value string) string {
	for _, tok := range strings.FieldsFunc(value, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if utf8.RuneCountInString(tok) >= 4 && strings.Contains(redacted, tok) {
			return tok
		}
	}
	return ""
}

type leakStats struct {
	n, leaked, mistyped int
	examples            []string
}

// generatedLeaks redacts the free texts of loadgen traffic and counts, per
// type, seeded values that survive (not inside any span) or are redacted as
// another type.
func generatedLeaks(t *testing.T, cfg loadgen.Config, seeds []uint64, actions int) map[string]*leakStats {
	t.Helper()
	r := New()
	stats := map[string]*leakStats{}
	for _, seed := range seeds {
		cfg.Seed = seed
		g, err := loadgen.NewGenerator(cfg)
		require.NoError(t, err)
		for i := 0; i < actions; i++ {
			a := g.Next()
			if a.Kind != loadgen.ActionEvent || a.Event.Event.Text == "" {
				continue
			}
			ev := a.Event.Event
			text := ev.Text
			res := r.Redact(text, &Actor{Name: ev.ActorName, Email: ev.ActorEmail, Handle: ev.ActorHandle})
			for _, p := range a.Event.PII {
				v := seeded{p.Value, piiType(p)}
				key := v.typ
				if madeUp(p.Kind) {
					key = "made-up " + p.Kind
				}
				st := stats[key]
				if st == nil {
					st = &leakStats{}
					stats[key] = st
				}
				st.n++
				if madeUp(p.Kind) {
					// any surviving token of 4+ characters is a leak; the
					// type may differ (a town read as a name is redacted)
					if tok := partialLeak(res.Text, v.value); tok != "" {
						st.leaked++
						if len(st.examples) < 5 {
							st.examples = append(st.examples, fmt.Sprintf("%q of %q in %q -> %q", tok, v.value, text, res.Text))
						}
					}
					continue
				}
				covered, typed := coverage(text, res, v)
				switch {
				case !covered || strings.Contains(res.Text, v.value):
					st.leaked++
					if len(st.examples) < 5 {
						st.examples = append(st.examples, fmt.Sprintf("%q in %q -> %q", v.value, text, res.Text))
					}
				case !typed:
					st.mistyped++
					if len(st.examples) < 5 {
						st.examples = append(st.examples, fmt.Sprintf("mistyped %q in %q -> %q", v.value, text, res.Text))
					}
				}
			}
		}
	}
	return stats
}

func reportLeaks(t *testing.T, stats map[string]*leakStats) {
	types := make([]string, 0, len(stats))
	for k := range stats {
		types = append(types, k)
	}
	sort.Strings(types)
	for _, k := range types {
		st := stats[k]
		t.Logf("%-14s seeded %5d  leaked %3d (%.4f)  mistyped %3d", k, st.n, st.leaked, float64(st.leaked)/float64(max(1, st.n)), st.mistyped)
		for _, e := range st.examples {
			t.Logf("    %s", e)
		}
	}
}

// The load generator's made-up people and places are in none of the
// tagger's lists (names, places, dictionary words), so that the leak tests
// and the end-to-end scan measure generalisation.
func TestLoadgenNamesNotInLists(t *testing.T) {
	names := loadgen.MadeUpNames()
	require.Greater(t, len(names), 1000)
	for _, n := range names {
		f := ner.Flags(n)
		assert.Zero(t, f&(ner.FGiven|ner.FSurname|ner.FPlace|ner.FPlacePre|ner.FDict|ner.FCommon), "%s is in a list (flags %x)", n, f)
		// nor in the product/vendor list, whose words the redactor drops
		assert.False(t, ner.Vendor(ner.FoldAppend(nil, n)), "%s is in the product/vendor list", n)
	}
}

// Property: no value seeded by the load generator survives redaction, for
// the default traffic mix and for a dense mix where most texts carry several
// values (search queries are the values joined by spaces).
func TestGeneratedTextsDoNotLeak(t *testing.T) {
	seeds := []uint64{1, 2, 3, 7, 42, 1234}
	actions := 4000
	if testing.Short() {
		seeds, actions = seeds[:2], 1000
	}
	dense := loadgen.DefaultConfig()
	for k := range dense.PIIRates {
		dense.PIIRates[k] = 0.45
	}
	for name, cfg := range map[string]loadgen.Config{"default": loadgen.DefaultConfig(), "dense": dense} {
		t.Run(name, func(t *testing.T) {
			stats := generatedLeaks(t, cfg, seeds, actions)
			reportLeaks(t, stats)
			total := 0
			for typ, st := range stats {
				total += st.n
				if strings.HasPrefix(typ, "made-up ") {
					// generalisation to names and places in no list: a
					// bound, not zero (measured at the time of writing:
					// see pkg/redact/README.md)
					assert.Less(t, float64(st.leaked)/float64(st.n), 0.05, "%s: %v", typ, st.examples)
					continue
				}
				assert.Zero(t, st.leaked, "%s values leaked: %v", typ, st.examples)
				assert.Zero(t, st.mistyped, "%s values redacted as another type: %v", typ, st.examples)
			}
			assert.Greater(t, total, 1000)
		})
	}
}

// Third-party full names: a colleague's name written in the actor's text
// (the load generator only seeds @mentions; the anonymizer's event generator
// writes full names). Names are those of the generated world; the actor is
// another user of the tenant, so one name part often matches the actor's.
func TestThirdPartyNames(t *testing.T) {
	g, err := loadgen.NewGenerator(loadgen.DefaultConfig())
	require.NoError(t, err)
	templates := []string{
		"Please ask %s to call me back.",
		"%s",
		"Ticket opened by %s for the billing export.",
		"I think %s should review the Q3 roadmap.",
		"vpn setup %s",
	}
	r := New()
	n, leaked := 0, 0
	var examples []string
	for _, tn := range g.World().Tenants {
		for i, actor := range tn.Users {
			other := tn.Users[(i+1)%len(tn.Users)]
			for _, tpl := range templates {
				text := fmt.Sprintf(tpl, other.Name)
				res := r.Redact(text, &Actor{Name: actor.Name, Email: actor.Email, Handle: actor.Handle})
				n++
				// every name part must be gone
				ok := true
				for _, part := range strings.Fields(other.Name) {
					if covered, _ := coverage(text, res, seeded{part, Person}); !covered {
						ok = false
					}
				}
				if !ok {
					leaked++
					if len(examples) < 8 {
						examples = append(examples, fmt.Sprintf("%q [actor %s] -> %q", text, actor.Name, res.Text))
					}
				}
			}
		}
	}
	rate := float64(leaked) / float64(n)
	t.Logf("third-party full names: %d texts, %d with a surviving name part (%.3f)", n, leaked, rate)
	for _, e := range examples {
		t.Logf("    %s", e)
	}
	// 0 of 2,500 with the tagger (17, 0.7%, with the hand-written
	// gazetteers before it)
	assert.Less(t, rate, 0.005)
}
