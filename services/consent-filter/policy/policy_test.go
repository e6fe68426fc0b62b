package policy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sample = `
version: "v7"
default_regime: opt_in
gpc_denies: true
purposes:
  ai_training:
    description: models
  analytics:
    gpc_denies: false
jurisdictions:
  de: opt_in
  US: opt_out
  US-CA: opt_out
  US-TX: opt_in
`

func TestParseSample(t *testing.T) {
	p, err := Parse([]byte(sample))
	require.NoError(t, err)
	assert.Equal(t, "v7", p.Version)
	assert.True(t, p.HasPurpose("ai_training"))
	assert.False(t, p.HasPurpose("marketing"))
	assert.Equal(t, "models", p.Purposes["ai_training"].Description)

	cases := []struct {
		code string
		want Regime
	}{
		{"DE", OptIn},
		{"de", OptIn},     // codes are case-insensitive (file and lookup)
		{" US ", OptOut},  // trimmed
		{"US-CA", OptOut}, // exact subdivision
		{"US-TX", OptIn},  // subdivision overrides its country
		{"US-NY", OptOut}, // unlisted subdivision falls back to the country
		{"FR", OptIn},     // unlisted country gets the default
		{"ZZ-99", OptIn},  // unlisted country and subdivision get the default
		{"", OptIn},       // missing jurisdiction gets the default
	}
	for _, c := range cases {
		assert.Equal(t, c.want, p.Regime(c.code), "Regime(%q)", c.code)
	}

	assert.True(t, p.GPCDenies("ai_training"), "inherits policy-wide true")
	assert.False(t, p.GPCDenies("analytics"), "purpose override")
	assert.True(t, p.GPCDenies("unlisted"), "unknown purpose gets the policy-wide value")
}

func TestParseDefaults(t *testing.T) {
	p, err := Parse([]byte("version: x\npurposes: {ai_training: {}}\n"))
	require.NoError(t, err)
	assert.Equal(t, OptIn, p.DefaultRegime)
	assert.True(t, p.GPCDeniesDefault)
	assert.Equal(t, OptIn, p.Regime("US"))

	p, err = Parse([]byte("version: x\ndefault_regime: opt_out\ngpc_denies: false\npurposes: {ai_training: {}}\n"))
	require.NoError(t, err)
	assert.Equal(t, OptOut, p.Regime("anything"))
	assert.False(t, p.GPCDenies("ai_training"))
}

func TestParseJSON(t *testing.T) {
	p, err := Parse([]byte(`{"version":"j1","purposes":{"ai_training":{"gpc_denies":false}},"jurisdictions":{"US":"opt_out"}}`))
	require.NoError(t, err)
	assert.Equal(t, OptOut, p.Regime("US-CA"))
	assert.False(t, p.GPCDenies("ai_training"))
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"empty", "", "empty document"},
		{"no version", "purposes: {a: {}}", "version: required"},
		{"no purposes", "version: x", "purposes: at least one"},
		{"bad purpose name", "version: x\npurposes: {'AI Training': {}}", "purposes.AI Training: invalid name"},
		{"unknown top key", "version: x\npurposes: {a: {}}\ngpc_deny: true", "field gpc_deny not found"},
		{"unknown purpose key", "version: x\npurposes: {a: {gpc: true}}", "field gpc not found"},
		{"bad default regime", "version: x\npurposes: {a: {}}\ndefault_regime: optin", `default_regime: unknown regime "optin"`},
		{"bad jurisdiction regime", "version: x\npurposes: {a: {}}\njurisdictions: {DE: consent}", `jurisdictions.DE: unknown regime "consent"`},
		{"bad code", "version: x\npurposes: {a: {}}\njurisdictions: {Germany: opt_in}", "jurisdictions.GERMANY: invalid code"},
		{"case duplicate", "version: x\npurposes: {a: {}}\njurisdictions: {de: opt_in, DE: opt_out}", `"DE" listed twice`},
		{"exact duplicate", "version: x\npurposes: {a: {}}\njurisdictions: {DE: opt_in, DE: opt_out}", "already defined"},
		{"two documents", "version: x\npurposes: {a: {}}\n---\nversion: y\n", "more than one"},
		{"wrong type", "version: x\npurposes: {a: {}}\ngpc_denies: maybe", "cannot unmarshal"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

func TestValidateReportsAllProblems(t *testing.T) {
	p := &Policy{DefaultRegime: "x", Jurisdictions: map[string]Regime{"DE": "y"}}
	err := p.Validate()
	require.Error(t, err)
	for _, want := range []string{"version:", "purposes:", "default_regime:", "jurisdictions.DE:"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestDefault(t *testing.T) {
	p := Default()
	require.NoError(t, p.Validate())
	assert.NotEmpty(t, p.Version)
	assert.True(t, p.HasPurpose("ai_training"))
	for _, c := range []string{"DE", "FR", "IE", "NO", "IS", "LI", "GB", "CH", "BR"} {
		assert.Equal(t, OptIn, p.Regime(c), c)
	}
	assert.Equal(t, OptOut, p.Regime("US"))
	assert.Equal(t, OptOut, p.Regime("US-CA"))
	assert.Equal(t, OptOut, p.Regime("US-WA"))
	assert.Equal(t, OptIn, p.Regime("ZZ"))
	assert.Equal(t, OptIn, p.Regime(""))
	assert.True(t, p.GPCDenies("ai_training"))

	// Fresh copies: mutating one does not leak into the next.
	p.Jurisdictions["US"] = OptIn
	assert.Equal(t, OptOut, Default().Regime("US"))
	assert.Equal(t, string(DefaultYAML()), string(defaultYAML))
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	require.NoError(t, os.WriteFile(path, []byte(sample), 0o600))
	p, err := Load(path)
	require.NoError(t, err)
	assert.Equal(t, "v7", p.Version)

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	require.ErrorContains(t, err, "read policy file")

	require.NoError(t, os.WriteFile(path, []byte("version: ''\npurposes: {a: {}}"), 0o600))
	_, err = Load(path)
	require.ErrorContains(t, err, path)
	require.ErrorContains(t, err, "version: required")
}

func TestParseRegime(t *testing.T) {
	r, err := ParseRegime("opt_out")
	require.NoError(t, err)
	assert.Equal(t, OptOut, r)
	_, err = ParseRegime("OPT_OUT")
	assert.Error(t, err)
}
