// Package refusals bounds what a refusal (a 4xx answer listing what is wrong
// with a request) shows: at most MaxListed problems, each cut to about
// MaxText bytes, and how many more there were. Every problem stays found and
// counted, but a hostile body of many bad parts (or one enormous name) must
// not get an answer larger than itself. The producer's ingest refusals and
// the consent API's import answers share it.
package refusals

import "unicode/utf8"

const (
	// MaxListed is the most problems an answer lists.
	MaxListed = 20
	// MaxText is the length a listed path or message is cut to.
	MaxText = 256
)

// Cut shortens s to about MaxText bytes by leaving out its middle (on
// character boundaries), marked "…": a path's head and its tail, the member
// it names, stay.
func Cut(s string) string {
	if len(s) <= MaxText {
		return s
	}
	head, tail := MaxText/2, len(s)-MaxText/2
	for head > 0 && !utf8.RuneStart(s[head]) {
		head--
	}
	for tail < len(s) && !utf8.RuneStart(s[tail]) {
		tail++
	}
	return s[:head] + "…" + s[tail:]
}

// List collects problems as an answer shows them: the first MaxListed, each
// Cut, and a count of the rest, so collecting the problems of a large body
// holds no more than the answer does. The zero List is empty.
type List struct {
	shown []string
	more  int
}

// Add records problems.
func (l *List) Add(ps ...string) {
	for _, p := range ps {
		if len(l.shown) < MaxListed {
			l.shown = append(l.shown, Cut(p))
		} else {
			l.more++
		}
	}
}

// Len is how many problems were added.
func (l *List) Len() int { return len(l.shown) + l.more }

// Shown is the problems an answer lists (at most MaxListed, cut).
func (l *List) Shown() []string { return l.shown }

// More is how many problems Shown leaves out.
func (l *List) More() int { return l.more }
