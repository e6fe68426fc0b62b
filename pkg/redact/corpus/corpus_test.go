package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTextsInOrder(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(a, `[{"full_text":"Anna in Berlin","spans":[{"entity_type":"PERSON","entity_value":"Anna","start_position":0,"end_position":4}]},{"full_text":"none"}]`)
	write(b, `[{"full_text":"third"}]`)
	got, err := Texts(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Anna in Berlin", "none", "third"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("Texts = %q, want %q", got, want)
	}
	ex, err := Load(a)
	if err != nil {
		t.Fatal(err)
	}
	if s := ex[0].Spans[0]; s.EntityType != "PERSON" || s.EntityValue != "Anna" || s.Start != 0 || s.End != 4 {
		t.Fatalf("span = %+v", s)
	}
	write(b, `{"full_text":"not a list"}`)
	if _, err := Texts(a, b); err == nil {
		t.Fatal("a corpus that is not a list was read")
	}
	if _, err := Texts(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("a missing corpus was read")
	}
}
