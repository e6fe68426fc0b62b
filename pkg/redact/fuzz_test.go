package redact

import (
	"testing"
	"unicode/utf8"
)

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"", "a@b.com", "call +1 (415) 555-2671", "GB82 WEST 1234 5698 7654 32", "4111 1111 1111 1111",
		"Héllo 😀 zoë@exämple.com", "My name is John Smith from New York", "2001:db8::1 10.0.0.1/8",
		"password=hunter2 AKIAIOSFODNN7EXAMPLE", "\xff\xfe@x.y", "Mr. X. Y 1600 Pennsylvania Avenue Apt. 5",
		"-----BEGIN PRIVATE KEY-----", "@jdoe @@ @.", "https://x.y/(a)b).",
	} {
		f.Add(s, "Jane Doe", "jdoe")
	}
	r := New()
	f.Fuzz(func(t *testing.T, text, name, handle string) {
		res := r.Redact(text, &Actor{Name: name, Handle: handle, Email: handle + "@x.com"})
		if !utf8.ValidString(res.Text) {
			t.Fatalf("invalid UTF-8 output %q", res.Text)
		}
		n := utf8.RuneCountInString(SanitizeUTF8(text))
		prev := 0
		for _, s := range res.Spans {
			if s.Start < prev || s.End <= s.Start || s.End > n {
				t.Fatalf("bad span %+v (prev end %d, len %d) in %q", s, prev, n, text)
			}
			prev = s.End
		}
		if got := Apply(SanitizeUTF8(text), res.Spans); got != res.Text {
			t.Fatalf("rebuild mismatch:\n%q\n%q", got, res.Text)
		}
	})
}
