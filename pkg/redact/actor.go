package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

func isHandleChar(c byte) bool { return isAlnum(c) || c == '_' || c == '.' || c == '-' }

// findActor marks the actor's email (EMAIL_ADDRESS), handle, full name and
// capitalised name parts (PERSON), and every @mention (PERSON).
func findActor(text string, a *Actor, s *scratch, hasAt bool) {
	if hasAt {
		findMentions(text, s)
	}
	if a == nil {
		return
	}
	if e := strings.TrimSpace(a.Email); len(e) >= 3 {
		forEachFold(text, e, func(i, j int) {
			if !wordBefore(text, i) && !wordAfter(text, j) {
				s.add(i, j, EmailAddress, prioEmail+1)
			}
		})
	}
	if h := strings.TrimPrefix(strings.TrimSpace(a.Handle), "@"); len(h) >= 2 {
		forEachFold(text, h, func(i, j int) {
			if i > 0 && isHandleChar(text[i-1]) && text[i-1] != '.' {
				return
			}
			if j < len(text) && (isAlnum(text[j]) || text[j] == '_') {
				return
			}
			if i > 0 && text[i-1] == '@' {
				i--
			}
			s.add(i, j, Person, prioActor+1)
		})
	}
	name := strings.TrimSpace(a.Name)
	if name == "" {
		return
	}
	forEachFold(text, name, func(i, j int) {
		if !wordBefore(text, i) && !wordAfter(text, j) {
			s.add(i, j, Person, prioActor+1)
		}
	})
	for part := range strings.FieldsFuncSeq(name, func(r rune) bool { return unicode.IsSpace(r) || r == ',' }) {
		part = strings.TrimRight(part, ".")
		r, _ := utf8.DecodeRuneInString(part)
		if utf8.RuneCountInString(part) < 2 || !unicode.IsUpper(r) {
			continue
		}
		for off := 0; off < len(text); {
			k := strings.Index(text[off:], part)
			if k < 0 {
				break
			}
			i := off + k
			j := i + len(part)
			if !wordBefore(text, i) && !wordAfter(text, j) {
				s.add(i, j, Person, prioActor)
			}
			off = j
		}
	}
}

// forEachFold calls f for each non-overlapping case-insensitive occurrence of
// needle in text (simple Unicode folding via strings.EqualFold on equal-length
// byte windows).
func forEachFold(text, needle string, f func(i, j int)) {
	n := len(needle)
	if n == 0 || n > len(text) {
		return
	}
	ascii := true
	for i := 0; i < n; i++ {
		if needle[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		for off := 0; off < len(text); {
			k := strings.Index(text[off:], needle)
			if k < 0 {
				return
			}
			f(off+k, off+k+n)
			off += k + n
		}
		return
	}
	low := strings.ToLower(needle)
	for off := 0; off+n <= len(text); {
		k := indexFold(text[off:], low)
		if k < 0 {
			return
		}
		f(off+k, off+k+n)
		off += k + n
	}
}

// findMentions marks @handle and @first.last mentions as PERSON.
func findMentions(text string, s *scratch) {
	for off := 0; off < len(text); {
		k := strings.IndexByte(text[off:], '@')
		if k < 0 {
			return
		}
		i := off + k
		off = i + 1
		if i > 0 && (isLocalChar(text[i-1]) || wordBefore(text, i)) {
			continue
		}
		j := i + 1
		if j >= len(text) || !(isAlnum(text[j]) || text[j] == '_') {
			continue
		}
		for j < len(text) && isHandleChar(text[j]) {
			j++
		}
		for j > i+1 && (text[j-1] == '.' || text[j-1] == '-') {
			j--
		}
		if j < len(text) && text[j] >= utf8.RuneSelf && wordAfter(text, j) {
			continue
		}
		if groupMention(text[i+1 : j]) {
			off = j
			continue
		}
		s.add(i, j, Person, prioActor)
		off = j
	}
}

// groupMention reports whether a mention addresses a group, not a person
// (Slack's and Teams' @here, @channel, @everyone).
func groupMention(h string) bool {
	switch strings.ToLower(h) {
	case "here", "channel", "everyone", "all", "room":
		return true
	}
	return false
}
