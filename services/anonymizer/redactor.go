package anonymizer

import (
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
	var actor *redact.Actor
	if a != (transform.Actor{}) {
		actor = &redact.Actor{Name: a.Name, Email: a.Email, Handle: a.Handle}
	}
	res := t.r.Redact(text, actor)
	var types []string
	if len(res.Spans) > 0 {
		types = make([]string, len(res.Spans))
		for i, s := range res.Spans {
			types[i] = s.Type
		}
	}
	return transform.Redaction{Text: res.Text, Types: types}
}
