package redact

import (
	"runtime"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/consentflow/consentflow/pkg/internal/threadcpu"
)

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"", "a@b.com", "call +1 (415) 555-2671", "GB82 WEST 1234 5698 7654 32", "4111 1111 1111 1111",
		"Héllo 😀 zoë@exämple.com", "My name is John Smith from New York", "2001:db8::1 10.0.0.1/8",
		"password=hunter2 AKIAIOSFODNN7EXAMPLE", "\xff\xfe@x.y", "Mr. X. Y 1600 Pennsylvania Avenue Apt. 5",
		"-----BEGIN PRIVATE KEY-----", "@jdoe @@ @.", "https://x.y/(a)b).",
		"jane%40example.com J%C3%BCrgen+M%C3%BCller %FF%2540", `{"a":"J\u00fcrgen \ud83d\ude00 \ud83d"}`,
		"https://a.example.com/u/jane.doe?name=Jane+Doe&token=eyJhbGciOi.eyJzdWIiOi.dozjgNryP4J3",
	} {
		f.Add(s, "Jane Doe", "jdoe")
	}
	// the hostile shapes of TestLinearTime at 64 KiB: the time bound below
	// fails on them when a path is quadratic
	for _, shape := range hostileShapes {
		f.Add(shape(64<<10), "Abc Def", "x")
	}
	r := New()
	r.Redact("warm up: Anna Berg lives in Berlin", nil) // loads the lexicon
	f.Fuzz(func(t *testing.T, text, name, handle string) {
		actor := &Actor{Name: name, Handle: handle, Email: handle + "@x.com"}
		var res Result
		measure := func() time.Duration {
			threadcpu.Lock()
			defer threadcpu.Unlock()
			t0 := threadcpu.Now()
			res = r.Redact(text, actor)
			return threadcpu.Now() - t0
		}
		// about 0.5 µs per byte is usual; the bound leaves room for a busy
		// machine and a garbage collection, not for a quadratic path. A thread's
		// CPU time also holds the GC assists it was charged while the fuzzer's
		// corpus grew (CI saw 15 ms for 908 bytes that redact in 1 ms), so an
		// input over the bound is timed twice more after a collection: a slow
		// path is slow every time, an assist is not.
		bound := 5*time.Millisecond + time.Duration(len(text)+len(name)+len(handle))*5*time.Microsecond
		took := measure()
		for i := 0; i < 2 && took > bound; i++ {
			runtime.GC()
			took = min(took, measure())
		}
		if took > bound {
			t.Fatalf("redacting %d bytes took %s CPU (bound %s), three times", len(text), took, bound)
		}
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
