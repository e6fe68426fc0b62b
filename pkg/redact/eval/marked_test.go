package eval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMarked(t *testing.T) {
	src := "## chat\nhé [[P:Zoë]], call [[T:+44 20 7946 0958]]\n===\nno PII here\n===\n## email\nDear Ms. [[P:Ndlovu]],\n\nsee you in [[L:Durban]]\n"
	ms, err := ParseMarked(src)
	require.NoError(t, err)
	require.Len(t, ms, 3)
	assert.Equal(t, "chat", ms[0].Style)
	assert.Equal(t, "hé Zoë, call +44 20 7946 0958", ms[0].Example.FullText)
	// code point offsets: "é" and "ë" are one code point (two bytes) each
	assert.Equal(t, []GoldSpan{{EntityType: "PERSON", EntityValue: "Zoë", Start: 3, End: 6}, {EntityType: "PHONE_NUMBER", EntityValue: "+44 20 7946 0958", Start: 13, End: 29}}, ms[0].Example.Spans)
	assert.Equal(t, "", ms[1].Style)
	assert.Empty(t, ms[1].Example.Spans)
	assert.Equal(t, "Dear Ms. Ndlovu,\n\nsee you in Durban", ms[2].Example.FullText)
	assert.Equal(t, []GoldSpan{{EntityType: "PERSON", EntityValue: "Ndlovu", Start: 9, End: 15}, {EntityType: "LOCATION", EntityValue: "Durban", Start: 29, End: 35}}, ms[2].Example.Spans)

	for _, bad := range []string{"[[P:x", "[[X:y]]", "[[P: y]]", "[[P:]]", "a ]] b", "[[Pname]]"} {
		_, err := ParseMarked(bad)
		assert.Error(t, err, bad)
	}
}

// The committed handwritten corpus is the conversion of its marked-up
// source (make redact-handwritten), holds every target type and enough
// texts without any PII.
func TestHandwrittenCorpus(t *testing.T) {
	ms, types, empty := loadMarkedCorpus(t, "handwritten", 300)
	b, err := os.ReadFile(filepath.Join("testdata", "handwritten.json"))
	require.NoError(t, err)
	var committed []Example
	require.NoError(t, json.Unmarshal(b, &committed))
	require.Len(t, committed, len(ms), "handwritten.json is stale: make redact-handwritten")
	for i, m := range ms {
		require.Equal(t, m.Example, committed[i], "handwritten.json is stale: make redact-handwritten")
	}
	for _, typ := range MarkCodes {
		assert.GreaterOrEqual(t, types[typ], 5, typ)
	}
	assert.GreaterOrEqual(t, empty, 30)
}

// loadMarkedCorpus loads a marked-up corpus directory, checks that it holds at
// least minTexts texts and that every span's value is the text it covers, and
// counts its spans by type and its texts without any PII.
func loadMarkedCorpus(t *testing.T, dir string, minTexts int) (ms []Marked, types map[string]int, empty int) {
	t.Helper()
	ms, err := LoadMarked(filepath.Join("testdata", dir))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ms), minTexts)
	types = map[string]int{}
	for _, m := range ms {
		rs := []rune(m.Example.FullText)
		for _, g := range m.Example.Spans {
			types[g.EntityType]++
			require.Equal(t, g.EntityValue, string(rs[g.Start:g.End]))
		}
		if len(m.Example.Spans) == 0 {
			empty++
		}
	}
	t.Logf("%s: %d texts, %d without PII, %v", dir, len(ms), empty, types)
	return ms, types, empty
}

// The fresh handwritten corpus (round 5) parses, holds at least 150 texts,
// names and places in most of them and enough texts without any PII.
func TestFreshCorpus(t *testing.T) {
	_, types, empty := loadMarkedCorpus(t, "fresh", 150)
	assert.GreaterOrEqual(t, types["PERSON"], 100)
	assert.GreaterOrEqual(t, types["LOCATION"], 50)
	assert.GreaterOrEqual(t, empty, 40)
}

// The second fresh handwritten corpus (round 9) parses, holds at least 110
// texts, names and places in most of them and about a fifth without any PII.
func TestFresh2Corpus(t *testing.T) {
	_, types, empty := loadMarkedCorpus(t, "fresh2", 110)
	assert.GreaterOrEqual(t, types["PERSON"], 100)
	assert.GreaterOrEqual(t, types["LOCATION"], 40)
	assert.GreaterOrEqual(t, empty, 20)
}

// The product-heavy development set (round 10) parses, holds about 150
// texts, names and places in most of them and about a fifth without PII.
func TestProseDevCorpus(t *testing.T) {
	_, types, empty := loadMarkedCorpus(t, "prosedev", 140)
	assert.GreaterOrEqual(t, types["PERSON"], 150)
	assert.GreaterOrEqual(t, types["LOCATION"], 35)
	assert.GreaterOrEqual(t, empty, 25)
}

// The third fresh handwritten corpus (written blind on 2026-12-01) parses,
// holds at least 190 texts, names and places in most of them, every pattern
// type a few times and about a fifth of texts without any PII.
func TestFresh3Corpus(t *testing.T) {
	_, types, empty := loadMarkedCorpus(t, "fresh3", 190)
	assert.GreaterOrEqual(t, types["PERSON"], 200)
	assert.GreaterOrEqual(t, types["LOCATION"], 100)
	for _, typ := range []string{"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "URL"} {
		assert.GreaterOrEqual(t, types[typ], 3, typ)
	}
	assert.GreaterOrEqual(t, empty, 35)
}

// The second development set (dev3, 2026-12-01) parses, holds at least 300
// texts in at least 40 style labels, names and places in most of them,
// every pattern type a few times and about a quarter of texts without PII.
func TestDev3Corpus(t *testing.T) {
	ms, types, empty := loadMarkedCorpus(t, "dev3", 300)
	assert.GreaterOrEqual(t, types["PERSON"], 250)
	assert.GreaterOrEqual(t, types["LOCATION"], 150)
	for _, typ := range []string{"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "URL", "US_SSN"} {
		assert.GreaterOrEqual(t, types[typ], 3, typ)
	}
	assert.GreaterOrEqual(t, empty, 60)
	assert.GreaterOrEqual(t, styleLabels(t, "dev3", ms), 40)
}

// The third development set (dev4, 2026-12-02) parses, holds at least 250
// texts in its ten style-family files and at least 150 style labels, names
// and places in most of them, every pattern type a few times, and between a
// quarter and a third of texts without PII (it is written for precision).
func TestDev4Corpus(t *testing.T) {
	ms, types, empty := loadMarkedCorpus(t, "dev4", 250)
	assert.GreaterOrEqual(t, types["PERSON"], 280)
	assert.GreaterOrEqual(t, types["LOCATION"], 130)
	for _, typ := range []string{"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "URL", "US_SSN"} {
		assert.GreaterOrEqual(t, types[typ], 3, typ)
	}
	assert.GreaterOrEqual(t, empty*4, len(ms), "at least a quarter without PII")
	assert.LessOrEqual(t, empty*3, len(ms), "at most a third without PII")
	files, err := filepath.Glob(filepath.Join("testdata", "dev4", "*.txt"))
	require.NoError(t, err)
	assert.Len(t, files, 10)
	assert.GreaterOrEqual(t, styleLabels(t, "dev4", ms), 150)
}

// styleLabels is the number of distinct ## style labels of a corpus's texts,
// each of which must have one.
func styleLabels(t *testing.T, name string, ms []Marked) int {
	t.Helper()
	styles := map[string]bool{}
	for _, m := range ms {
		require.NotEmpty(t, m.Style, "every %s text has a ## style line: %.60q", name, m.Example.FullText)
		styles[m.Style] = true
	}
	return len(styles)
}
