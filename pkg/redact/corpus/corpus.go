// Package corpus reads the redactor's labelled corpora, in the
// presidio-research JSON format: a list of {"full_text", "spans":
// [{"entity_type", "entity_value", "start_position", "end_position"}]},
// offsets in Unicode code points, end exclusive.
//
// It imports nothing of the redactor, so that every package can read a
// corpus: the redactor's and the tagger's own tests (pkg/redact,
// pkg/redact/ner) as well as the scorer (pkg/redact/eval), which imports the
// redactor and so cannot be imported by its tests.
package corpus

import (
	"encoding/json"
	"fmt"
	"os"
)

// Example is one corpus record.
type Example struct {
	FullText string     `json:"full_text"`
	Spans    []GoldSpan `json:"spans"`
}

// GoldSpan is one labelled entity.
type GoldSpan struct {
	EntityType  string `json:"entity_type"`
	EntityValue string `json:"entity_value"`
	Start       int    `json:"start_position"`
	End         int    `json:"end_position"`
}

// Parse decodes a corpus.
func Parse(b []byte) ([]Example, error) {
	var ex []Example
	if err := json.Unmarshal(b, &ex); err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	return ex, nil
}

// Load reads the corpus at path.
func Load(path string) ([]Example, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ex, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ex, nil
}

// Texts returns the full_text of every example of the corpora at paths, in
// the order of the paths and of each file.
func Texts(paths ...string) ([]string, error) {
	var out []string
	for _, p := range paths {
		ex, err := Load(p)
		if err != nil {
			return nil, err
		}
		for _, e := range ex {
			out = append(out, e.FullText)
		}
	}
	return out, nil
}
