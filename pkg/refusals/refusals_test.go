package refusals

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A List keeps the first 20 problems, cut, and counts every other one.
func TestListKeepsTheFirstAndCountsTheRest(t *testing.T) {
	var l List
	long := strings.Repeat("é", 500) + "END" // 1003 bytes, two-byte characters
	for i := range 45 {
		l.Add(strings.Repeat("x", i)+long, "short")
	}
	if l.Len() != 90 || len(l.Shown()) != 20 || l.More() != 70 {
		t.Fatalf("len %d, shown %d, more %d; want 90, 20, 70", l.Len(), len(l.Shown()), l.More())
	}
	for i, p := range l.Shown() {
		if i%2 == 1 {
			if p != "short" {
				t.Fatalf("problem %d = %q", i, p)
			}
			continue
		}
		if len(p) > 256+len("…") || !strings.HasSuffix(p, "END") || !strings.Contains(p, "…") || !utf8.ValidString(p) {
			t.Fatalf("problem %d (%d bytes) is not cut in its middle on a character boundary: %q", i, len(p), p)
		}
	}
	var empty List
	if empty.Len() != 0 || empty.Shown() != nil || empty.More() != 0 {
		t.Fatal("the zero List is not empty")
	}
}
