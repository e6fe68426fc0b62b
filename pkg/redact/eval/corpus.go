package eval

import "fmt"

// DefaultCorpus is the corpus path used by `consentflow redact-eval`,
// relative to the working directory.
const DefaultCorpus = "../shared/data/pii/synth_dataset_v2.json"

// HeldOutCorpus is the committed held-out corpus (see HeldOut), relative to
// the repository root.
const HeldOutCorpus = "pkg/redact/eval/testdata/heldout.json"

// DisjointCorpus is the committed held-out corpus whose names, cities and
// addresses share no word with the shipped lists or the training texts
// (HeldOutDisjoint), relative to the repository root.
const DisjointCorpus = "pkg/redact/eval/testdata/heldout_disjoint.json"

// Part selects the examples of a cross-validation part: "all", "even" (the
// examples at even positions) or "odd".
func Part(ex []Example, part string) ([]Example, error) {
	var want int
	switch part {
	case "", "all":
		return ex, nil
	case "even":
		want = 0
	case "odd":
		want = 1
	default:
		return nil, fmt.Errorf("part %q: want all, even or odd", part)
	}
	var out []Example
	for i, e := range ex {
		if i%2 == want {
			out = append(out, e)
		}
	}
	return out, nil
}
