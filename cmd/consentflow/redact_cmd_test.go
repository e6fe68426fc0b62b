package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/redact/eval"
)

func TestRedactCommand(t *testing.T) {
	var out, errb strings.Builder
	in := strings.NewReader(`{"text":"mail a@b.com","actor":{"name":"Al Bo"}}` + "\n")
	if err := redactCommand(nil, in, &out, &errb); err != nil {
		t.Fatal(err)
	}
	want := `{"text":"mail <EMAIL_ADDRESS>","spans":[{"start":5,"end":12,"type":"EMAIL_ADDRESS"}]}` + "\n"
	if out.String() != want {
		t.Fatalf("got %q", out.String())
	}
}

func TestRedactEvalCommand(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	corpus := `[{"full_text":"mail a@b.com","spans":[{"entity_type":"EMAIL_ADDRESS","entity_value":"a@b.com","start_position":5,"end_position":12}]}]`
	if err := os.WriteFile(p, []byte(corpus), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	if err := redactEvalCommand([]string{"--corpus", p}, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "EMAIL_ADDRESS") {
		t.Fatalf("got %q", out.String())
	}
}

// --fresh3 reads the third fresh corpus's folder and is one of the corpus
// choices. Run from this package's folder, where the repository-relative
// path does not resolve, so the command stops at loading and nothing is
// scored (the corpus is scored once, by the lead).
func TestRedactEvalFresh3Flag(t *testing.T) {
	var out, errb strings.Builder
	err := redactEvalCommand([]string{"--fresh3"}, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), eval.Fresh3Source) {
		t.Fatalf("--fresh3: want a load error naming %s, got %v", eval.Fresh3Source, err)
	}
	if out.Len() != 0 {
		t.Fatalf("--fresh3 printed a report: %q", out.String())
	}
	err = redactEvalCommand([]string{"--fresh3", "--fresh2"}, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "--fresh3") {
		t.Fatalf("--fresh3 --fresh2: want the one-of error naming --fresh3, got %v", err)
	}
}

// --dev3 scores the dev3 development set (it is tuned on, so scoring it in a
// test is allowed): run from the repository root, the report counts every
// text and every gold span that eval.LoadMarked reads from the folder. It is
// one of the corpus choices.
func TestRedactEvalDev3Flag(t *testing.T) {
	checkMarkedSetFlag(t, "--dev3", eval.Dev3Source, 300, "--prosedev", "PERSON", "LOCATION")
}

// --dev4 scores the dev4 development set (tuned on, like dev3), as --dev3 does.
func TestRedactEvalDev4Flag(t *testing.T) {
	checkMarkedSetFlag(t, "--dev4", eval.Dev4Source, 250, "--dev3", "PERSON", "LOCATION", "IBAN_CODE")
}

// checkMarkedSetFlag runs redact-eval with flag from the repository root and
// checks that the report counts every text (at least minTexts) and, for
// each of types, every gold span that eval.LoadMarked reads from source; and
// that flag with other is the one-of error naming flag.
func checkMarkedSetFlag(t *testing.T, flag, source string, minTexts int, other string, types ...string) {
	t.Helper()
	t.Chdir("../..")
	ms, err := eval.LoadMarked(source)
	if err != nil {
		t.Fatal(err)
	}
	gold := map[string]int{}
	for _, m := range ms {
		for _, g := range m.Example.Spans {
			gold[g.EntityType]++
		}
	}
	var out, errb strings.Builder
	if err := redactEvalCommand([]string{flag, "--json"}, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var rep eval.Report
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Examples != len(ms) || len(ms) < minTexts {
		t.Fatalf("%s scored %d texts, the folder holds %d", flag, rep.Examples, len(ms))
	}
	for _, typ := range types {
		found := false
		for _, r := range rep.Rows {
			if r.Type == typ {
				found = true
				if r.Gold != gold[typ] {
					t.Errorf("%s %s gold %d, the folder holds %d", flag, typ, r.Gold, gold[typ])
				}
			}
		}
		if !found {
			t.Errorf("%s: no %s row", flag, typ)
		}
	}
	err = redactEvalCommand([]string{flag, other}, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), flag) {
		t.Fatalf("%s %s: want the one-of error naming %s, got %v", flag, other, flag, err)
	}
}
