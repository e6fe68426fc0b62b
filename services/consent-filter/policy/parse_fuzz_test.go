package policy

import "testing"

// FuzzParse: Parse never panics, and whatever it accepts is valid and
// answers every query with a known regime.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add(DefaultYAML())
	f.Add([]byte(`{"version":"j","purposes":{"a":{}}}`))
	f.Add([]byte("version: x\npurposes: {a: {gpc_denies: false}}\njurisdictions: {US-CA: opt_out}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted an invalid policy: %v", err)
		}
		for _, code := range []string{"", "US", "US-CA", "de", "ZZ-1"} {
			if !p.Regime(code).Valid() {
				t.Fatalf("Regime(%q) = %q", code, p.Regime(code))
			}
		}
	})
}
