package eval

// DefaultCorpus is the corpus path used by `consentflow redact-eval`,
// relative to the working directory.
const DefaultCorpus = "../shared/data/pii/synth_dataset_v2.json"

// HeldOutCorpus is the committed held-out corpus (see HeldOut), relative to
// the repository root.
const HeldOutCorpus = "pkg/redact/eval/testdata/heldout.json"
