package keyring

import (
	"strings"
	"testing"
)

// FuzzParse reads arbitrary keyring files and PSEUDONYM_KEYS lists: never a
// panic; a keyring has an active key and its keys' pseudonyms are defined; an
// error never quotes key material (the text after a key id's colon).
//
//	go test ./services/anonymizer/internal/keyring -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	const k1 = "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	for _, s := range []string{
		k1, k1 + "\nk2:ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=", "# comment\n\n" + k1,
		`{"active":"k1","keys":{"k1":"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}`,
		`{"active":"k9","keys":{}}`, "k1:short", "k1:!!!notbase64", ":", "k1:" + strings.Repeat("A", 44), "{",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for name, parse := range map[string]func(string) (*Keyring, error){"file": Parse, "list": ParseList} {
			kr, err := parse(text)
			if err != nil {
				// Errors name key ids; an id may contain another line's secret
				// text (CI's fuzz found "0000000000000000:0000000000000000", and
				// then an id equal to the next line's secret), so every id is
				// erased from the message before any secret is looked for.
				lines := strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' })
				msg := err.Error()
				for _, line := range lines {
					if id, _, _ := strings.Cut(strings.TrimSpace(line), ":"); id != "" {
						msg = strings.ReplaceAll(msg, id, "")
					}
				}
				for _, line := range lines {
					_, secret, ok := strings.Cut(strings.TrimSpace(line), ":")
					if ok && len(secret) >= 16 && strings.Contains(msg, secret) {
						t.Fatalf("%s: error quotes key material: %v", name, err)
					}
				}
				continue
			}
			if kr == nil {
				t.Fatalf("%s: no keyring and no error", name)
			}
			if len(kr.Pseudonyms(User, "ai_training", "u-1")) == 0 {
				t.Fatalf("%s: a keyring without pseudonyms", name)
			}
		}
	})
}
