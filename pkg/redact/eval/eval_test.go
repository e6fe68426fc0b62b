package eval

import (
	_ "embed"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/redact"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

//go:embed testdata/mini.json
var mini []byte

func TestEvaluateMini(t *testing.T) {
	ex, err := Parse(mini)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(ex), 20)
	rep := Evaluate(redact.New(), ex)
	byType := map[string]Row{}
	for _, r := range rep.Rows {
		byType[r.Type] = r
	}
	for _, typ := range []string{redact.EmailAddress, redact.PhoneNumber, redact.CreditCard, redact.IBANCode, redact.IPAddress, redact.USSSN, redact.URL} {
		r := byType[typ]
		assert.Greater(t, r.Gold, 0, typ)
		assert.Equal(t, 1.0, r.Recall, typ)
		assert.Equal(t, 1.0, r.Precision, typ)
	}
	assert.GreaterOrEqual(t, byType[redact.Person].Recall, 0.75)
	assert.GreaterOrEqual(t, byType[redact.Location].Recall, 0.75)
	assert.Equal(t, 7, byType[redact.Location].Gold) // GPE + STREET_ADDRESS mapped
	var sb strings.Builder
	WriteTable(&sb, rep)
	assert.Contains(t, sb.String(), "PHONE_NUMBER")
}

func TestScoring(t *testing.T) {
	// one TP, one FN, one FP over a non-target gold span
	ex := []Example{
		{FullText: "mail a@b.com", Spans: []GoldSpan{{EntityType: "EMAIL_ADDRESS", Start: 5, End: 12}}},
		{FullText: "nothing", Spans: []GoldSpan{{EntityType: "EMAIL_ADDRESS", Start: 0, End: 7}}},
		{FullText: "Michael Johnson Inc", Spans: []GoldSpan{{EntityType: "ORGANIZATION", Start: 0, End: 19}}},
	}
	rep := Evaluate(redact.New(), ex)
	for _, r := range rep.Rows {
		switch r.Type {
		case redact.EmailAddress:
			assert.Equal(t, 2, r.Gold)
			assert.Equal(t, 0.5, r.Recall)
			assert.Equal(t, 1.0, r.Precision)
			assert.InDelta(t, 5*0.5/(4+0.5), r.F2, 1e-9)
		case redact.Person:
			assert.Equal(t, 1, r.Predicted)
			assert.Equal(t, 1, r.OnNonTarget)
			assert.Equal(t, 0.0, r.Precision)
		}
	}
	assert.Equal(t, "LOCATION", MapType("GPE"))
	assert.Equal(t, "LOCATION", MapType("STREET_ADDRESS"))
	assert.Equal(t, "URL", MapType("DOMAIN_NAME"))
	assert.Equal(t, "", MapType("ORGANIZATION"))
}
