package centre

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/redact"
	"github.com/consentflow/consentflow/pkg/schema"
)

// Every field of the raw schema and every action it uses has wording: adding a
// field or an action to schemas/interaction_event.avsc without words fails here.
func TestEverySchemaFieldHasUserFacingWording(t *testing.T) {
	fields, err := schema.RawFields()
	if err != nil {
		t.Fatal(err)
	}
	stories, err := Describe(fields, Processing{TimeGranularity: time.Hour, PropertiesAllowlist: []string{"plan"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(stories) != len(fields) {
		t.Fatalf("%d stories for %d fields", len(stories), len(fields))
	}
}

// Every action the schema may use has wording, whatever field carries it.
func TestEveryActionHasUserFacingWording(t *testing.T) {
	for a := range schema.Actions {
		for _, typ := range []string{`"string"`, `"boolean"`} {
			if _, _, err := actionWords(schema.Field{Name: "x", Action: a, Type: json.RawMessage(typ)}, Processing{TimeGranularity: time.Hour}); err != nil {
				t.Errorf("action %s (%s): %v", a, typ, err)
			}
		}
	}
	if _, err := removedList(redact.AllTypes); err != nil {
		t.Error(err)
	}
}

// The check itself: a field or action without wording is an error naming it.
func TestDescribeRefusesFieldsWithoutWording(t *testing.T) {
	_, err := Describe([]schema.Field{{Name: "shoe_size", Action: schema.ActionKeep}}, Processing{})
	if err == nil || !strings.Contains(err.Error(), "shoe_size") {
		t.Fatalf("unknown field: %v", err)
	}
	_, err = Describe([]schema.Field{{Name: "text", Action: "hash_twice"}}, Processing{})
	if err == nil || !strings.Contains(err.Error(), "hash_twice") {
		t.Fatalf("unknown action: %v", err)
	}
}

// The words follow the anonymizer's configuration and the annotations, as the
// issue's examples say.
func TestWordingFollowsConfiguration(t *testing.T) {
	fields, err := schema.RawFields()
	if err != nil {
		t.Fatal(err)
	}
	get := func(p Processing) map[string]FieldStory {
		s, err := Describe(fields, p)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]FieldStory{}
		for _, f := range s {
			m[f.Field] = f
		}
		return m
	}
	m := get(Processing{TimeGranularity: 24 * time.Hour})
	for field, want := range map[string]string{
		"text":        "Kept after removing e-mail addresses, phone numbers",
		"ip":          "Only the first three parts",
		"user_id":     "keyed pseudonym",
		"received_at": "Rounded down to the day",
		"properties":  "none of these details is kept",
		"actor_email": "Removed before anyone uses the data",
	} {
		if !strings.Contains(m[field].Happens, want) {
			t.Errorf("%s: %q, want it to say %q", field, m[field].Happens, want)
		}
	}
	if !strings.Contains(m["text"].Happens, "names") {
		t.Errorf("text wording does not mention names: %q", m["text"].Happens)
	}
	m = get(Processing{TimeGranularity: time.Hour, PropertiesAllowlist: []string{"plan", "feature"}})
	if h := m["properties"].Happens; !strings.Contains(h, "feature, plan") || !m["properties"].Kept {
		t.Errorf("properties with an allowlist: %q", h)
	}
}
