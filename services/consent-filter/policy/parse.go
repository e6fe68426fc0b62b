package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/consentflow/consentflow/pkg/identity"
)

// file is the on-disk shape; pointers distinguish "absent" from zero values.
type file struct {
	Version       string                 `yaml:"version"`
	Purposes      map[string]purposeFile `yaml:"purposes"`
	DefaultRegime string                 `yaml:"default_regime"`
	Jurisdictions map[string]string      `yaml:"jurisdictions"`
	GPCDenies     *bool                  `yaml:"gpc_denies"`
	Identity      identityFile           `yaml:"identity"`
}

type identityFile struct {
	UserIDs      string `yaml:"user_ids"`
	AnonymousIDs string `yaml:"anonymous_ids"`
}

type purposeFile struct {
	Description string `yaml:"description"`
	GPCDenies   *bool  `yaml:"gpc_denies"`
}

// Load reads and parses the policy file at path; see Parse.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy file: %w", err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	return p, nil
}

// Parse decodes a policy document (YAML or JSON), applies the defaults
// (default_regime opt_in, gpc_denies true), upper-cases jurisdiction codes and
// validates the result. Unknown keys, a second document, an empty version,
// unknown regimes and malformed codes are errors naming the offending field.
func Parse(data []byte) (*Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("policy: empty document")
		}
		return nil, fmt.Errorf("policy: decode: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("policy: more than one YAML document")
	}

	p := &Policy{
		Version:          f.Version,
		Purposes:         make(map[string]Purpose, len(f.Purposes)),
		DefaultRegime:    OptIn,
		Jurisdictions:    make(map[string]Regime, len(f.Jurisdictions)),
		GPCDeniesDefault: true,
		Identity:         identity.DefaultModes(),
	}
	if f.Identity.UserIDs != "" {
		p.Identity.UserIDs = identity.Scope(f.Identity.UserIDs)
	}
	if f.Identity.AnonymousIDs != "" {
		p.Identity.AnonymousIDs = identity.Scope(f.Identity.AnonymousIDs)
	}
	if f.DefaultRegime != "" {
		p.DefaultRegime = Regime(f.DefaultRegime)
	}
	if f.GPCDenies != nil {
		p.GPCDeniesDefault = *f.GPCDenies
	}
	for name, pf := range f.Purposes {
		p.Purposes[name] = Purpose(pf)
	}
	for code, regime := range f.Jurisdictions {
		norm := normalizeCode(code)
		if _, dup := p.Jurisdictions[norm]; dup {
			return nil, fmt.Errorf("policy: jurisdictions: %q listed twice (codes are case-insensitive)", norm)
		}
		p.Jurisdictions[norm] = Regime(regime)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}
