package transform

import (
	"sort"
	"strings"

	"github.com/consentflow/consentflow/pkg/schema"
)

// MinScrubLen is the shortest identifier value the scrubber searches for in free
// text; shorter values ("42") would match ordinary words and numbers.
const MinScrubLen = 4

// Entity types the scrubber reports; placeholders are <TYPE>.
const (
	typeID        = "ID"
	typePerson    = "PERSON"
	typeEmail     = "EMAIL_ADDRESS"
	typeIPAddress = "IP_ADDRESS"
)

// needle is one identifier of the event to remove from its own free text.
type needle struct {
	lower string // ASCII-lowercased value
	typ   string
}

// needles lists the event's raw identifiers. The redactor is expected to catch
// most of them; scrubbing them again guarantees that no raw identifier of an event
// survives in its own text, whatever the redactor misses (an opaque user id, a
// tenant slug, an address glued to other characters).
func needles(e *schema.InteractionEvent) []needle {
	var out []needle
	add := func(v, typ string) {
		v = strings.TrimSpace(v)
		if len(v) >= MinScrubLen {
			out = append(out, needle{asciiLower(v), typ})
		}
	}
	add(e.UserID, typeID)
	add(e.AnonymousID, typeID)
	add(e.PreviousID, typeID)
	add(e.TenantID, typeID)
	add(e.SessionID, typeID)
	add(e.IP, typeIPAddress)
	add(e.ActorName, typePerson)
	add(e.ActorEmail, typeEmail)
	add(strings.TrimPrefix(e.ActorHandle, "@"), typePerson)
	// Longest first, so that an identifier containing another wins the overlap.
	sort.Slice(out, func(i, j int) bool { return len(out[i].lower) > len(out[j].lower) })
	return out
}

type hit struct {
	start, end int
	typ        string
}

// scrub replaces every case-insensitive (ASCII) occurrence of a needle in text with
// its placeholder and reports the type of each replacement.
func scrub(text string, ns []needle, report func(string)) string {
	if len(ns) == 0 || len(text) < MinScrubLen {
		return text
	}
	lower := asciiLower(text)
	var hits []hit
	for _, n := range ns {
		for from := 0; ; {
			i := strings.Index(lower[from:], n.lower)
			if i < 0 {
				break
			}
			start := from + i
			end := start + len(n.lower)
			hits = append(hits, hit{start, end, n.typ})
			from = start + 1
		}
	}
	if len(hits) == 0 {
		return text
	}
	hits = merge(hits)
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, h := range hits {
		b.WriteString(text[last:h.start])
		b.WriteString("<" + h.typ + ">")
		last = h.end
		if report != nil {
			report(h.typ)
		}
	}
	b.WriteString(text[last:])
	return b.String()
}

// merge sorts hits by start and merges overlapping ones; the longest hit at a
// position gives the type (needles are sorted longest first).
func merge(hits []hit) []hit {
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].start < hits[j].start })
	out := hits[:1]
	for _, h := range hits[1:] {
		last := &out[len(out)-1]
		if h.start < last.end {
			last.end = max(last.end, h.end)
			continue
		}
		out = append(out, h)
	}
	return out
}

// asciiLower lowercases ASCII letters only, so byte offsets stay those of s.
// A string with an upper-case ASCII letter costs one allocation (the
// builder's buffer becomes the result); one without, none.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			var b strings.Builder
			b.Grow(len(s))
			b.WriteString(s[:i])
			for j := i; j < len(s); j++ {
				c := s[j]
				if c >= 'A' && c <= 'Z' {
					c += 'a' - 'A'
				}
				b.WriteByte(c)
			}
			return b.String()
		}
	}
	return s
}
