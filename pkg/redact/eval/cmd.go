package eval

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/consentflow/consentflow/pkg/redact"
)

// DefaultCorpus is the corpus path used by `consentflow redact-eval`,
// relative to the working directory.
const DefaultCorpus = "../shared/data/pii/synth_dataset_v2.json"

// Main implements `consentflow redact-eval [--corpus PATH] [--json]
// [--errors N] [--type T]`.
func Main(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redact-eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	corpus := fs.String("corpus", DefaultCorpus, "presidio-research JSON corpus")
	heldout := fs.Bool("heldout", false, "score the generated held-out corpus instead of --corpus")
	data := fs.String("data", "pkg/redact/ner/data", "with --heldout: the tagger's data folder")
	n := fs.Int("n", 800, "with --heldout: number of texts")
	seed := fs.Uint64("seed", 1, "with --heldout: generator seed")
	dump := fs.String("dump", "", "also write the scored corpus to this file (presidio-research JSON)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	nerr := fs.Int("errors", 0, "also print up to N false negatives/positives")
	only := fs.String("type", "", "with --errors: only this entity type")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ex []Example
	var err error
	if *heldout {
		ex, err = HeldOut(*data, *n, *seed)
	} else {
		ex, err = Load(*corpus)
	}
	if err != nil {
		return fmt.Errorf("redact-eval: %w", err)
	}
	if *dump != "" {
		b, err := json.MarshalIndent(ex, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*dump, b, 0o644); err != nil {
			return fmt.Errorf("redact-eval: %w", err)
		}
	}
	rep := Evaluate(redact.New(), ex)
	if *nerr > 0 {
		var keep []Error
		for _, e := range rep.Errors {
			if *only == "" || strings.EqualFold(*only, e.Type) {
				keep = append(keep, e)
			}
		}
		if len(keep) > *nerr {
			keep = keep[:*nerr]
		}
		rep.Errors = keep
	} else {
		rep.Errors = nil
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	WriteTable(stdout, rep)
	for _, e := range rep.Errors {
		fmt.Fprintf(stdout, "%s %-13s %q gold=%s | %q\n", e.Kind, e.Type, e.Value, e.Gold, e.Text)
	}
	return nil
}

// RedactMain implements `consentflow redact`: JSON lines in, JSON lines out.
func RedactMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redact", flag.ContinueOnError)
	fs.SetOutput(stderr)
	noNames := fs.Bool("no-names", false, "disable gazetteer PERSON/LOCATION heuristics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var opts []redact.Option
	if *noNames {
		opts = append(opts, redact.WithoutNameHeuristics())
	}
	return redact.New(opts...).RedactStream(stdin, stdout)
}
