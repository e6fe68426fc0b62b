package redact

import "github.com/consentflow/consentflow/pkg/redact/ner"

// chatWords are English interjections, greetings and chat abbreviations:
// words that call out or react ("omg you're a legend", "hey team", "thx
// Ana") and are never part of a name. The list is a closed class of the
// English language, written by hand from English grammar (the interjection
// and greeting word classes) and common chat abbreviations — not taken from
// any of our corpora.
var chatWords = map[string]bool{
	"omg": true, "lol": true, "lmao": true, "rofl": true, "wow": true, "yay": true,
	"oops": true, "ugh": true, "hmm": true, "ah": true, "oh": true, "aw": true,
	"hey": true, "hi": true, "hello": true, "yo": true, "bye": true, "cheers": true,
	"thx": true, "thanks": true, "ty": true, "pls": true, "plz": true, "please": true,
	"btw": true, "fyi": true, "imo": true, "imho": true, "tbh": true, "idk": true,
	"brb": true, "afaik": true, "asap": true, "ok": true, "okay": true,
}

// chatWord reports whether token t is a chat word (in lower case,
// capitalised or in capitals) that no given-name or surname list holds:
// "omg liah" and "Hi Ana" lose their chat word, while a listed name that is
// also a chat word ("Hey", "Ty", "Oh", "Ok" are listed) stays.
func chatWord(text string, t *ner.Token) bool {
	if t.Kind != ner.KWord || t.Flags&(ner.FGiven|ner.FSurname) != 0 {
		return false
	}
	switch w := text[t.S:t.E]; t.Shape {
	case ner.ShLower:
		return chatWords[w]
	case ner.ShCap, ner.ShUpper:
		var low [8]byte // every chat word is short ASCII: fold without allocating
		if len(w) > len(low) {
			return false
		}
		for i := 0; i < len(w); i++ {
			c := w[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			low[i] = c
		}
		return chatWords[string(low[:len(w)])]
	}
	return false
}
