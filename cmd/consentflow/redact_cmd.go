package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"github.com/consentflow/consentflow/pkg/redact"
	"github.com/consentflow/consentflow/pkg/redact/eval"
	"github.com/consentflow/consentflow/pkg/redact/ner"
	"github.com/consentflow/consentflow/pkg/redact/ner/synth"
)

// redactCommand implements `consentflow redact`: JSON lines
// {"text": "...", "actor": {"name", "email", "handle"}} on stdin, one JSON
// line {"text": "<redacted>", "spans": [{"start", "end", "type"}]} per input
// on stdout (offsets in Unicode code points, end exclusive).
func redactCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
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

// redactEvalCommand implements `consentflow redact-eval`: it scores the
// redactor on a presidio-research corpus (default
// ../shared/data/pii/synth_dataset_v2.json) or on the committed held-out
// corpus (--heldout) or the handwritten one (--handwritten), per type under the 80%-coverage rule and the lenient
// one, with texts/s; --generate-heldout writes a new held-out corpus.
func redactEvalCommand(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redact-eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	corpus := fs.String("corpus", eval.DefaultCorpus, "presidio-research JSON corpus")
	modelFile := fs.String("model", "", "tag names and places with this model file instead of the embedded one")
	part := fs.String("part", "all", "score only these corpus texts: all, even or odd (cross-validation with redact-train --dev-part)")
	heldout := fs.Bool("heldout", false, "score the held-out corpus ("+eval.HeldOutCorpus+") instead of --corpus")
	handwritten := fs.Bool("handwritten", false, "score the handwritten held-out corpus ("+eval.HandwrittenCorpus+") instead of --corpus")
	fresh := fs.Bool("fresh", false, "score the fresh handwritten corpus ("+eval.FreshSource+", never tuned on) instead of --corpus")
	prosedev := fs.Bool("prosedev", false, "score the product-heavy development set ("+eval.ProseDevSource+"; read and tuned on, not held out) instead of --corpus")
	fresh2 := fs.Bool("fresh2", false, "score the second fresh handwritten corpus ("+eval.Fresh2Source+", products and organisations beside people and places; never tuned on) instead of --corpus")
	fresh3 := fs.Bool("fresh3", false, "score the third fresh handwritten corpus ("+eval.Fresh3Source+", support, HR, clinic, legal, CRM, dispatch, school, reviews, shipping, prompts, multilingual e-mail and logs; never tuned on) instead of --corpus")
	dev3 := fs.Bool("dev3", false, "score the second development set ("+eval.Dev3Source+", e-mail and chat in many languages, CSV/JSON/log cells, tickets, forms, ALL CAPS, sign-offs, addresses of 33 countries, titles; read and tuned on, not held out) instead of --corpus")
	dev4 := fs.Bool("dev4", false, "score the third development set ("+eval.Dev4Source+", workplace chat, tickets, PR reviews, support and HR mail, meeting and CRM notes, AI prompts, incidents, reviews, multilingual e-mail; names of many cultures among capitalised non-names; read and tuned on, not held out) instead of --corpus")
	marked := fs.String("marked", "", "score a folder of marked-up texts (*.txt, see "+eval.HandwrittenSource+"/README.md) instead of --corpus")
	genHand := fs.String("generate-handwritten", "", "convert the marked-up handwritten texts ("+eval.HandwrittenSource+") to this corpus file and exit")
	gen := fs.String("generate-heldout", "", "write a new held-out corpus to this file and exit (see --data, --n, --seed)")
	data := fs.String("data", "pkg/redact/ner/data", "with --generate-heldout: the tagger's data folder")
	n := fs.Int("n", 800, "with --generate-heldout: number of texts")
	seed := fs.Uint64("seed", 1, "with --generate-heldout: generator seed")
	disjoint := fs.Bool("disjoint", false, "with --generate-heldout: keep only names, cities and addresses none of whose words is in a shipped list, the training material or any training text (redact-train's defaults; --dev names the labelled corpus it learns from)")
	wordNames := fs.Bool("word-names", false, "with --disjoint: names may also be ordinary English words that no name or place list holds (\"Hold\", \"Song\")")
	dev := fs.String("dev", eval.DefaultCorpus, "with --generate-heldout --disjoint: the labelled corpus redact-train learns from (its words count as seen)")
	disjointCorpus := fs.Bool("heldout-disjoint", false, "score the disjoint held-out corpus ("+eval.DisjointCorpus+") instead of --corpus")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	nerr := fs.Int("errors", 0, "also print up to N false negatives/positives")
	only := fs.String("type", "", "with --errors: only this entity type")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *gen != "" || *genHand != "" {
		var ex []eval.Example
		var err error
		switch {
		case *gen != "" && *disjoint:
			var known map[string]bool
			if known, err = seenWords(*data, *dev, stdout, stderr); err == nil {
				var st synth.DisjointStats
				ex, st, err = eval.HeldOutDisjoint(*data, *n, *seed, func(w string) bool { return known[w] }, *wordNames)
				fmt.Fprintf(stdout, "disjoint: %d words seen in training; kept %d names (dropped %d), %d cities (%d), %d addresses (%d)\n",
					len(known), st.NamesKept, st.NamesDropped, st.CitiesKept, st.CitiesDropped, st.AddressesKept, st.AddressesDropped)
			}
		case *gen != "":
			ex, err = eval.HeldOut(*data, *n, *seed)
		default:
			var ms []eval.Marked
			ms, err = eval.LoadMarked(eval.HandwrittenSource)
			for _, m := range ms {
				ex = append(ex, m.Example)
			}
			*gen = *genHand
		}
		if err != nil {
			return fmt.Errorf("redact-eval: %w", err)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(ex); err != nil {
			return err
		}
		if err := os.WriteFile(*gen, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("redact-eval: %w", err)
		}
		fmt.Fprintf(stdout, "wrote %d texts to %s\n", len(ex), *gen)
		return nil
	}
	switch {
	case btoi(*heldout)+btoi(*handwritten)+btoi(*disjointCorpus)+btoi(*fresh)+btoi(*fresh2)+btoi(*fresh3)+btoi(*prosedev)+btoi(*dev3)+btoi(*dev4)+btoi(*marked != "") > 1:
		return fmt.Errorf("redact-eval: one of --heldout, --heldout-disjoint, --handwritten, --fresh, --fresh2, --fresh3, --prosedev, --dev3, --dev4, --marked")
	case *fresh:
		*marked = eval.FreshSource
	case *fresh2:
		*marked = eval.Fresh2Source
	case *fresh3:
		*marked = eval.Fresh3Source
	case *prosedev:
		*marked = eval.ProseDevSource
	case *dev3:
		*marked = eval.Dev3Source
	case *dev4:
		*marked = eval.Dev4Source
	case *disjointCorpus:
		*corpus = eval.DisjointCorpus
	case *heldout:
		*corpus = eval.HeldOutCorpus
	case *handwritten:
		*corpus = eval.HandwrittenCorpus
	}
	var ex []eval.Example
	var err error
	if *marked != "" {
		var ms []eval.Marked
		ms, err = eval.LoadMarked(*marked)
		for _, m := range ms {
			ex = append(ex, m.Example)
		}
	} else {
		ex, err = eval.Load(*corpus)
	}
	if err == nil {
		ex, err = eval.Part(ex, *part)
	}
	if err != nil {
		return fmt.Errorf("redact-eval: %w", err)
	}
	var opts []redact.Option
	if *modelFile != "" {
		f, err := os.Open(*modelFile)
		if err != nil {
			return fmt.Errorf("redact-eval: %w", err)
		}
		m, err := ner.DecodeModel(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("redact-eval: %s: %w", *modelFile, err)
		}
		opts = append(opts, redact.WithModel(m))
	}
	rep := eval.Evaluate(redact.New(opts...), ex)
	if *nerr > 0 {
		var keep []eval.Error
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
	eval.WriteTable(stdout, rep)
	for _, e := range rep.Errors {
		fmt.Fprintf(stdout, "%s %-13s %q gold=%s | %q\n", e.Kind, e.Type, e.Value, e.Gold, e.Text)
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// seenWords returns the folded words training has seen: every word of the
// texts redact-train generates with its defaults (plus the labelled corpus
// dev and its refills, when present) and of every name, place and address of
// the training material, whether drawn or not.
func seenWords(data, dev string, stdout, stderr io.Writer) (map[string]bool, error) {
	tc := trainTexts{data: data, texts: 100000, seed: 1, syllables: 0.5, dev: dev, devPart: "all", refills: 4}
	texts, mat, err := tc.generate(stdout, stderr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	add := func(s string) {
		for _, t := range ner.Tokenize(s, nil) {
			if t.Kind != ner.KWord {
				continue
			}
			w := ner.FoldString(s[t.S:t.E])
			seen[w] = true
			for _, p := range strings.FieldsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }) {
				seen[p] = true // parts of hyphenated words and of d'Arc
			}
		}
	}
	for _, t := range texts {
		add(t.Text)
	}
	for _, c := range mat.Cultures {
		for _, n := range mat.Given[c] {
			add(n)
		}
		for _, n := range mat.Surnames[c] {
			add(n)
		}
	}
	for _, c := range mat.Cities {
		add(c)
	}
	for _, a := range mat.Addresses {
		add(a.Street + " " + a.City + " " + a.Region)
	}
	return seen, nil
}
