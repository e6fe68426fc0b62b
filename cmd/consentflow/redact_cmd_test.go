package main

import (
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
