package anonymizer

import (
	"strings"

	"github.com/consentflow/consentflow/pkg/redact"
	"github.com/consentflow/consentflow/services/anonymizer/internal/transform"
)

// textRedactor adapts pkg/redact to the transformer's Redactor.
type textRedactor struct {
	r *redact.Redactor
}

// newTextRedactor returns the free-text redactor the anonymizer uses.
func newTextRedactor() transform.Redactor { return textRedactor{r: redact.New()} }

// Redact redacts text with the event's actor and reports the span types.
func (t textRedactor) Redact(text string, a transform.Actor) transform.Redaction {
	res := t.r.Redact(text, actorOf(a))
	return transform.Redaction{Text: res.Text, Types: typesOf(res.Spans)}
}

// RedactKept redacts a kept string (an event type, a source): every pattern
// (emails, phone numbers, cards, IBANs, IPs, URLs, secrets), the actor, and
// names and places of two words or more ("Invited Bob Jones as admin"). A
// single word the tagger takes for a name or place is left: kept strings are
// a product's vocabulary, often in Title Case ("Workspace Renamed",
// "ai_prompt_submitted"), where one capitalised word is no evidence of a name
// (the event's own identifiers are scrubbed after this in any case).
func (t textRedactor) RedactKept(text string, a transform.Actor) transform.Redaction {
	res := t.r.Redact(text, actorOf(a))
	if len(res.Spans) == 0 {
		return transform.Redaction{Text: res.Text}
	}
	src := []rune(redact.SanitizeUTF8(text))
	spans := res.Spans[:0:0]
	for _, s := range res.Spans {
		if (s.Type == redact.Person || s.Type == redact.Location) && !strings.ContainsAny(string(src[s.Start:s.End]), " \t") {
			continue
		}
		spans = append(spans, s)
	}
	return transform.Redaction{Text: redact.Apply(string(src), spans), Types: typesOf(spans)}
}

func actorOf(a transform.Actor) *redact.Actor {
	if a == (transform.Actor{}) {
		return nil
	}
	return &redact.Actor{Name: a.Name, Email: a.Email, Handle: a.Handle}
}

func typesOf(spans []redact.Span) []string {
	if len(spans) == 0 {
		return nil
	}
	types := make([]string, len(spans))
	for i, s := range spans {
		types[i] = s.Type
	}
	return types
}
