package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/consentflow/consentflow/pkg/redact/eval"
	"github.com/consentflow/consentflow/pkg/redact/ner"
	"github.com/consentflow/consentflow/pkg/redact/ner/synth"
)

// redactTrainCommand implements `consentflow redact-train`: it generates
// labelled texts from the training material (pkg/redact/ner/data/train and
// the shipped lists) and fits the name/place tagger, writing its weights to
// --out (embedded by pkg/redact/ner). Deterministic for a seed. With --seeds N it
// trains N models (seeds --seed … --seed+N-1) and averages their weights.
func redactTrainCommand(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("redact-train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "pkg/redact/ner/data", "the tagger's data folder")
	out := fs.String("out", "pkg/redact/ner/data/model.bin.gz", "where the model goes")
	texts := fs.Int("texts", 100000, "generated training texts")
	epochs := fs.Int("epochs", 10, "training passes")
	seed := fs.Uint64("seed", 1, "seed of the generator and the trainer")
	minW := fs.Float64("min-weight", 0.02, "prune features whose weights are all smaller")
	dev := fs.String("dev", eval.DefaultCorpus, "labelled corpus to learn sentence frames from (skipped with a warning when missing; \"\" for none)")
	devPart := fs.String("dev-part", "all", "which corpus texts to train on: all, even or odd (cross-validation: score the other part with redact-eval --part)")
	syllables := fs.Float64("syllables", 0.5, "share of made-up (syllable) names in generated texts")
	dropout := fs.Float64("dropout", 0.4, "probability that a name/place token's lexicon flags are hidden in a pass")
	context := fs.Float64("context", 0, "share of generated template parts that put made-up products/organisations and capitalised common words in name positions")
	refills := fs.Int("dev-refills", 4, "copies of each corpus text with other names and places")
	devOrgs := fs.Bool("dev-orgs", false, "refills also replace the corpus's organisations with other organisations and products (real, of dictionary words, of syllables): negatives in the corpus's own sentences")
	seeds := fs.Int("seeds", 1, "train this many models with seeds --seed, --seed+1, ... (each its own texts) and average their weights")
	parallel := fs.Int("parallel", 2, "with --seeds: train this many models at once (~0.5 GB each)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seeds < 1 || *parallel < 1 {
		return fmt.Errorf("redact-train: --seeds and --parallel must be at least 1")
	}
	t0 := time.Now()
	// Each seed generates its own texts; all runs share one vocabulary (the
	// union of theirs) so that their weights can be averaged feature by feature.
	runSents := make([][]ner.Sentence, *seeds)
	words := map[string]bool{}
	for r := range *seeds {
		s := *seed + uint64(r)
		tc := trainTexts{data: *data, texts: *texts, seed: s, syllables: *syllables, context: *context, dev: *dev, devPart: *devPart, refills: *refills, devOrgs: *devOrgs}
		all, mat, err := tc.generate(stdout, stderr)
		if err != nil {
			return err
		}
		sents := make([]ner.Sentence, 0, len(all))
		for _, t := range all {
			sents = append(sents, synth.Sentence(t))
		}
		voc := trainVocab(all, sents)
		for _, w := range voc {
			words[w] = true
		}
		runSents[r] = sents
		fmt.Fprintf(stdout, "seed %d: generated %d texts (%d cultures, %d places, %d addresses), vocabulary %d words, in %s\n",
			s, len(sents), len(mat.Cultures), len(mat.Cities), len(mat.Addresses), len(voc), time.Since(t0).Round(time.Millisecond))
	}
	vocab := make([]string, 0, len(words))
	for w := range words {
		vocab = append(vocab, w)
	}
	sort.Strings(vocab)
	vocab = append(vocab, ner.ClosedClass()...)
	runs := make([]*ner.Weights, *seeds)
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, *parallel)
	for r := range *seeds {
		s := *seed + uint64(r)
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			runs[r] = ner.TrainWeights(runSents[r], ner.TrainConfig{Epochs: *epochs, Seed: s, Dropout: *dropout, Vocab: vocab,
				Progress: func(ep, errs, toks int) {
					mu.Lock()
					defer mu.Unlock()
					fmt.Fprintf(stdout, "seed %d epoch %d: %d of %d tokens wrong (%.4f), %s\n", s, ep, errs, toks, float64(errs)/float64(toks), time.Since(t0).Round(time.Second))
				}})
			runSents[r] = nil
		})
	}
	wg.Wait()
	m := runs[0].Model(float32(*minW))
	if len(runs) > 1 {
		avg, err := ner.Average(runs...)
		if err != nil {
			return fmt.Errorf("redact-train: %w", err)
		}
		// the mean holds every run's features: keep as many as the largest run
		// keeps, so the averaged model is no bigger nor slower than one run's
		most := 0
		for r, run := range runs {
			k := run.Kept(float32(*minW))
			fmt.Fprintf(stdout, "seed %d alone keeps %d features\n", *seed+uint64(r), k)
			most = max(most, k)
		}
		m = avg.ModelAtMost(float32(*minW), most)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d features, %d bytes, in %s\n", *out, m.Features(), buf.Len(), time.Since(t0).Round(time.Second))
	return nil
}

// trainTexts says which texts redact-train learns from; generate writes
// them (deterministic for its fields). The disjoint held-out corpus
// (redact-eval --generate-heldout --disjoint) uses the same texts to know
// every word training has seen.
type trainTexts struct {
	data, dev, devPart string
	texts, refills     int
	seed               uint64
	syllables, context float64
	devOrgs            bool
}

func (tc trainTexts) generate(stdout, stderr io.Writer) ([]synth.Text, *synth.Material, error) {
	mat, err := synth.LoadTraining(tc.data)
	if err != nil {
		return nil, nil, fmt.Errorf("redact-train: %w", err)
	}
	gen := synth.NewTraining(mat, tc.seed)
	gen.SyllableShare = tc.syllables
	gen.ContextShare = tc.context
	gen.OrgRefill = tc.devOrgs
	all := make([]synth.Text, 0, tc.texts)
	for i := 0; i < tc.texts; i++ {
		all = append(all, gen.Next())
	}
	if tc.dev == "" {
		return all, mat, nil
	}
	ex, err := eval.Load(tc.dev)
	if err != nil {
		fmt.Fprintf(stderr, "redact-train: WARNING: no labelled corpus (%v): training on generated texts only\n", err)
		return all, mat, nil
	}
	if ex, err = eval.Part(ex, tc.devPart); err != nil {
		return nil, nil, fmt.Errorf("redact-train: %w", err)
	}
	n := 0
	for _, e := range ex {
		l := synth.Labelled{Text: e.FullText}
		for _, g := range e.Spans {
			l.Spans = append(l.Spans, synth.LabelledSpan{Type: g.EntityType, Start: g.Start, End: g.End})
		}
		all = append(all, synth.FromLabelled(l))
		n++
		for k := 0; k < tc.refills; k++ {
			all = append(all, gen.Refill(l))
			n++
		}
	}
	fmt.Fprintf(stdout, "corpus %s (%s part): %d texts, %d with refills\n", tc.dev, tc.devPart, len(ex), n)
	return all, mat, nil
}

// trainVocab: words seen outside entities at least 4 times; words that are
// only known as names or places stay out, so the tagger learns names from
// their shape, lexicon flags and context rather than by heart.
func trainVocab(texts []synth.Text, sents []ner.Sentence) []string {
	count := map[string]int{}
	for k, s := range sents {
		toks := ner.Tokenize(s.Text, nil)
		fi := 0
		fills := texts[k].Fill
		for i, t := range toks {
			if t.Kind != ner.KWord || s.Tags[i] != ner.TagO {
				continue
			}
			for fi < len(fills) && fills[fi].End <= int(t.S) {
				fi++
			}
			if fi < len(fills) && fills[fi].Start <= int(t.S) {
				continue // a filler word
			}
			if t.Flags&(ner.FGiven|ner.FSurname|ner.FPlace) != 0 && t.Flags&(ner.FCommon|ner.FFunc|ner.FPersonCtx|ner.FLocCtx|ner.FMonth|ner.FTitle|ner.FStreet|ner.FUnit|ner.FOrg) == 0 {
				continue
			}
			count[ner.FoldString(s.Text[t.S:t.E])]++
		}
	}
	var out []string
	for w, n := range count {
		if n >= 4 {
			out = append(out, w)
		}
	}
	sort.Strings(out)
	return out
}
