package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
