package transform

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/stretchr/testify/require"
)

// setField sets the string field of e whose Avro (JSON) name is name.
func setField(t *testing.T, e *schema.InteractionEvent, name, v string) {
	t.Helper()
	rv := reflect.ValueOf(e).Elem()
	for i := 0; i < rv.NumField(); i++ {
		if tag, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ","); tag == name {
			rv.Field(i).SetString(v)
			return
		}
	}
	t.Fatalf("no field %s", name)
}

// Every field action that parses its value fails closed: a value it cannot
// parse becomes null or makes the event an error (dead-lettered), and never
// reaches the curated event. The hostile value holds another person's name,
// phone number, street address and email; each field of the schema whose
// action is not free-text redaction gets it in turn (a new field or action is
// covered as soon as the schema names it).
func TestEveryFieldActionFailsClosed(t *testing.T) {
	fields, err := schema.RawFields()
	require.NoError(t, err)
	tr := newTransformer(t, nil)
	hostile := "de-DE; Jane Doe +49 30 901820, 12 Rue de Rivoli, 75001 Paris, jane@example.org"
	parts := []string{"Jane Doe", "901820", "Rivoli", "75001", "jane@example.org"}
	checked := 0
	for _, f := range fields {
		rf, ok := rawFields[f.Name]
		if !ok || rf.kind != kindString || f.Action == schema.ActionDrop || f.Action == schema.ActionRedact {
			continue
		}
		checked++
		e := baseEvent()
		e.ActorName = "Someone Else" // the actor scrub must not be what saves the field
		setField(t, &e, f.Name, hostile)
		c, err := tr.Transform(&e, Meta{})
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidField, f.Name)
			require.Contains(t, err.Error(), f.Name, "the error names the field")
			continue
		}
		out := reflect.ValueOf(c)
		for i := 0; i < out.NumField(); i++ {
			s, ok := out.Field(i).Interface().(string)
			if !ok {
				continue
			}
			for _, p := range parts {
				require.NotContains(t, s, p, "%s (%s) passed %q into curated %s", f.Name, f.Action, hostile, out.Type().Field(i).Name)
			}
		}
	}
	require.GreaterOrEqual(t, checked, 7, "event_id, event_type, tenant_id, user_id, session_id, jurisdiction, ip, locale, location, source")
}

// Kept strings are tokens: an event type or source that is not one is an
// error naming the field (the event is dead-lettered), never passed on.
func TestKeptStringsMustBeTokens(t *testing.T) {
	tr := newTransformer(t, nil)
	for field, v := range map[string]string{
		"event_type": "Invited bob.jones@example.org as admin",
		"source":     "api?user=jane",
	} {
		e := baseEvent()
		setField(t, &e, field, v)
		_, err := tr.Transform(&e, Meta{})
		require.ErrorIs(t, err, ErrInvalidField, field)
		require.ErrorContains(t, err, field)
	}
	e := baseEvent()
	e.EventType = "Order Completed"
	c, err := tr.Transform(&e, Meta{})
	require.NoError(t, err)
	require.Equal(t, "Order Completed", c.EventType)
}

// Kept strings go through the redactor (its mode for kept strings when it
// has one), so other people's data in a well-formed token is redacted too.
func TestKeptStringsAreRedacted(t *testing.T) {
	var seen []string
	kept := keptFunc{RedactorFunc: fakeRedactor, kept: func(text string, _ Actor) Redaction {
		seen = append(seen, text)
		return Redaction{Text: strings.ReplaceAll(text, "Bob Jones", "<PERSON>"), Types: []string{"PERSON"}}
	}}
	tr := newTransformer(t, func(o *Options) { o.Redactor = kept })
	e := baseEvent()
	e.EventType = "Invited Bob Jones as admin"
	c, err := tr.Transform(&e, Meta{})
	require.NoError(t, err)
	require.Equal(t, "Invited <PERSON> as admin", c.EventType)
	require.Contains(t, seen, "Invited Bob Jones as admin")
	require.Contains(t, seen, "segment", "source is a kept string too")
	// without a kept mode, the redactor itself
	tr = newTransformer(t, nil)
	e.EventType = "Shared with Alice Doe"
	c, err = tr.Transform(&e, Meta{})
	require.NoError(t, err)
	require.Equal(t, "Shared with <PERSON>", c.EventType)
}

type keptFunc struct {
	RedactorFunc
	kept func(string, Actor) Redaction
}

func (k keptFunc) RedactKept(text string, a Actor) Redaction { return k.kept(text, a) }

// A map is never kept whole: keep on properties stops the service at start.
func TestKeepTakesNoMap(t *testing.T) {
	fields, err := schema.RawFields()
	require.NoError(t, err)
	for i := range fields {
		if fields[i].Name == "properties" {
			fields[i].Action = schema.ActionKeep
		}
	}
	_, err = New(Options{Purpose: "p", Keyring: testKeyring(t), Redactor: fakeRedactor, Granularity: time.Hour, Fields: fields})
	require.ErrorContains(t, err, "keep does not apply to a map")
}
