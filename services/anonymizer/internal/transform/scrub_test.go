package transform

import (
	"math/rand/v2"
	"testing"
)

// refASCIILower is the definition asciiLower must meet: every byte 'A'-'Z'
// becomes its lower-case letter, every other byte (UTF-8 or not) stays.
func refASCIILower(s string) string {
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		b[i] = s[i]
		if s[i] >= 'A' && s[i] <= 'Z' {
			b[i] = s[i] - 'A' + 'a'
		}
	}
	return string(b)
}

// TestASCIILowerMatchesItsDefinition compares asciiLower with the byte loop
// above on fixed and random inputs (any bytes: ASCII, UTF-8 capitals that
// must stay, invalid UTF-8), and counts its allocations: one when there is
// something to lower, none otherwise.
func TestASCIILowerMatchesItsDefinition(t *testing.T) {
	in := []string{"", "a", "A", "Z@", "@[`{", "abc", "ABC", "aBc", "user-42@Example.COM",
		"ÀÉÎ Ökonom ΣΑΣ", "\xff\xfeA\x80Z", "ends with Q", "Q starts"}
	rng := rand.New(rand.NewPCG(16, 13))
	alphabet := []byte("aAzZ@[`{09 -\x00\x7f\x80\xc3\x89\xff")
	for n := 0; n < 5000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = byte(rng.IntN(256))
			} else {
				b[i] = alphabet[rng.IntN(len(alphabet))]
			}
		}
		in = append(in, string(b))
	}
	for _, s := range in {
		if got, want := asciiLower(s), refASCIILower(s); got != want {
			t.Fatalf("asciiLower(%q) = %q, want %q", s, got, want)
		}
	}
	for _, c := range []struct {
		s      string
		allocs float64
	}{{"user-42@example.com", 0}, {"user-42@Example.COM", 1}, {"Ada Lovelace, ada@example.org, 555-0100", 1}} {
		if got := testing.AllocsPerRun(100, func() { _ = asciiLower(c.s) }); got != c.allocs {
			t.Errorf("asciiLower(%q): %v allocations, want %v", c.s, got, c.allocs)
		}
	}
}
