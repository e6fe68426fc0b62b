package schema

import (
	"encoding/json"
	"fmt"

	"github.com/consentflow/consentflow/schemas"
)

// Classifications a raw field may carry in "x-pii".
var Classifications = map[string]bool{"direct": true, "quasi": true, "free_text": true, "none": true}

// Anonymization actions a raw field may carry in "x-action".
const (
	ActionDrop               = "drop"
	ActionPseudonymize       = "pseudonymize"
	ActionTruncateIP         = "truncate_ip"
	ActionCoarsenTime        = "coarsen_time"
	ActionGeneralizeLocation = "generalize_location"
	ActionCanonicalizeLocale = "canonicalize_locale"
	ActionKeep               = "keep"
	ActionRedact             = "redact"
	ActionAllowlistKeys      = "allowlist_keys"
)

// Actions is the set of valid x-action values.
var Actions = map[string]bool{
	ActionDrop: true, ActionPseudonymize: true, ActionTruncateIP: true, ActionCoarsenTime: true,
	ActionGeneralizeLocation: true, ActionCanonicalizeLocale: true, ActionKeep: true, ActionRedact: true, ActionAllowlistKeys: true,
}

// Field is one field of a record schema with consentflow's annotations.
type Field struct {
	Name    string          `json:"name"`
	Type    json.RawMessage `json:"type"`
	PII     string          `json:"x-pii"`
	Action  string          `json:"x-action"`
	Curated string          `json:"x-curated"`
	Derived bool            `json:"x-derived"`
	Doc     string          `json:"doc"`
	Default json.RawMessage `json:"default"`
}

// Record is a parsed record schema.
type Record struct {
	Name   string  `json:"name"`
	Fields []Field `json:"fields"`
}

// ParseRecord parses the record schema text.
func ParseRecord(text string) (Record, error) {
	var r Record
	if err := json.Unmarshal([]byte(text), &r); err != nil {
		return Record{}, fmt.Errorf("parse record schema: %w", err)
	}
	return r, nil
}

// RawFields returns the annotated fields of the InteractionEvent schema.
func RawFields() ([]Field, error) {
	r, err := ParseRecord(schemas.MustRead(schemas.InteractionEvent))
	if err != nil {
		return nil, err
	}
	return r.Fields, nil
}

// CheckAnnotations verifies that every raw field is classified and has a valid
// action, that every kept field names a field of the curated schema, and that every
// curated field comes from exactly one raw field or is marked x-derived. It returns
// every problem found.
func CheckAnnotations(raw, curated Record) []error {
	var errs []error
	curatedFields := map[string]Field{}
	for _, f := range curated.Fields {
		curatedFields[f.Name] = f
	}
	source := map[string]string{}
	for _, f := range raw.Fields {
		if !Classifications[f.PII] {
			errs = append(errs, fmt.Errorf("%s.%s: x-pii %q is not one of direct, quasi, free_text, none", raw.Name, f.Name, f.PII))
		}
		if !Actions[f.Action] {
			errs = append(errs, fmt.Errorf("%s.%s: x-action %q is not a known action", raw.Name, f.Name, f.Action))
			continue
		}
		if f.Action == ActionDrop {
			if f.Curated != "" {
				errs = append(errs, fmt.Errorf("%s.%s: dropped field must not name a curated field", raw.Name, f.Name))
			}
			continue
		}
		if f.PII == "direct" && f.Action == ActionKeep {
			errs = append(errs, fmt.Errorf("%s.%s: a direct identifier cannot be kept", raw.Name, f.Name))
		}
		if f.PII == "free_text" && f.Action != ActionRedact {
			errs = append(errs, fmt.Errorf("%s.%s: free text must be redacted or dropped", raw.Name, f.Name))
		}
		if f.Curated == "" {
			errs = append(errs, fmt.Errorf("%s.%s: action %s needs x-curated", raw.Name, f.Name, f.Action))
			continue
		}
		cf, ok := curatedFields[f.Curated]
		if !ok {
			errs = append(errs, fmt.Errorf("%s.%s: x-curated %q is not a field of %s", raw.Name, f.Name, f.Curated, curated.Name))
			continue
		}
		if cf.Derived {
			errs = append(errs, fmt.Errorf("%s.%s: x-curated %q is marked x-derived", raw.Name, f.Name, f.Curated))
		}
		if prev, dup := source[f.Curated]; dup {
			errs = append(errs, fmt.Errorf("%s.%s: x-curated %q already fed by %s", raw.Name, f.Name, f.Curated, prev))
		}
		source[f.Curated] = f.Name
	}
	for _, f := range curated.Fields {
		if _, ok := source[f.Name]; !ok && !f.Derived {
			errs = append(errs, fmt.Errorf("%s.%s: no raw field maps onto it and it is not x-derived", curated.Name, f.Name))
		}
	}
	return errs
}
