package centre

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/redact"
	"github.com/consentflow/consentflow/pkg/schema"
)

// Processing is what the anonymizer of the chain's purpose is configured to
// do beyond the schema's annotations (the same variables as the anonymizer's).
type Processing struct {
	PropertiesAllowlist []string
	TimeGranularity     time.Duration
}

// FieldStory is one collected field in plain language: what it is and what
// happens to it before anyone uses it.
type FieldStory struct {
	Field   string // the schema's field name
	What    string // "Your IP address"
	Happens string // "Only the first three parts are kept."
	Kept    bool   // some form of it reaches the dataset
}

// fieldWords names each field of the InteractionEvent schema for its subject.
// A field the schema gains without an entry here fails Describe (and the test
// that calls it on the schema).
var fieldWords = map[string]string{
	"event_id":       "An id given to each thing you do",
	"event_type":     "What you did (for example “comment added”)",
	"tenant_id":      "Your organisation’s account id",
	"user_id":        "Your user id",
	"anonymous_id":   "Your browser’s id before you signed in",
	"session_id":     "Your session id",
	"received_at":    "When we received it",
	"occurred_at":    "When it happened, as your device reported it",
	"jurisdiction":   "The country or state whose privacy rules apply to you",
	"gpc":            "Whether your browser asked not to share your data (Global Privacy Control)",
	"ip":             "Your IP address",
	"user_agent":     "Your browser and device type",
	"locale":         "Your language setting",
	"location":       "Your location as the product knows it",
	"text":           "Text you wrote (comments, searches, AI prompts)",
	"properties":     "Extra details the product records with the action",
	"actor_name":     "Your display name",
	"actor_email":    "Your e-mail address",
	"actor_handle":   "Your @handle",
	"client_consent": "The consent your browser or app reported",
	"previous_id":    "An earlier id of yours (when two of your ids are joined)",
	"source":         "How the event reached us (directly or through an analytics tool)",
}

// redactWords names what free-text redaction removes, one entry per type the
// redactor finds (pkg/redact.AllTypes).
var redactWords = map[string]string{
	redact.EmailAddress: "e-mail addresses",
	redact.PhoneNumber:  "phone numbers",
	redact.CreditCard:   "card numbers",
	redact.IBANCode:     "bank account numbers",
	redact.IPAddress:    "IP addresses",
	redact.USSSN:        "social security numbers",
	redact.URL:          "web addresses",
	redact.Person:       "names",
	redact.Location:     "places",
	redact.Secret:       "passwords and access keys",
}

// removedList is "e-mail addresses, phone numbers, … and names" for types.
func removedList(types []string) (string, error) {
	var words []string
	for _, t := range types {
		w, ok := redactWords[t]
		if !ok {
			return "", fmt.Errorf("redaction type %s has no user-facing wording (centre.redactWords)", t)
		}
		words = append(words, w)
	}
	switch len(words) {
	case 0:
		return "", nil
	case 1:
		return words[0], nil
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1], nil
}

// granularity says "the hour" for 1h, "the day" for 24h, else "steps of 15m0s".
func granularity(d time.Duration) string {
	switch d {
	case time.Minute:
		return "the minute"
	case time.Hour:
		return "the hour"
	case 24 * time.Hour:
		return "the day"
	}
	return "steps of " + d.String()
}

// actionWords says what an x-action does to a field, with the anonymizer's
// configuration p. ok is false for an action without wording.
func actionWords(f schema.Field, p Processing) (happens string, kept bool, err error) {
	removed, err := removedList(redact.AllTypes)
	if err != nil {
		return "", false, err
	}
	isString := strings.Contains(string(f.Type), `"string"`)
	switch f.Action {
	case schema.ActionDrop:
		return "Removed before anyone uses the data: it is not in the dataset.", false, nil
	case schema.ActionPseudonymize:
		return "Replaced by a keyed pseudonym: a code that cannot be turned back into the original without a key only the anonymizer holds.", true, nil
	case schema.ActionTruncateIP:
		return "Only the first three parts are kept (the last part of an IPv4 address is removed; of an IPv6 address only the first 48 bits are kept).", true, nil
	case schema.ActionCoarsenTime:
		return "Rounded down to " + granularity(p.TimeGranularity) + ".", true, nil
	case schema.ActionGeneralizeLocation:
		return "Only the country is kept.", true, nil
	case schema.ActionCanonicalizeLocale:
		return "Only the language, script and region are kept (for example en-US).", true, nil
	case schema.ActionKeep:
		if isString {
			return "Kept as it is, except that any personal details in it (such as names or e-mail addresses) are removed.", true, nil
		}
		return "Kept as it is.", true, nil
	case schema.ActionRedact:
		return "Kept after removing " + removed + ".", true, nil
	case schema.ActionAllowlistKeys:
		if len(p.PropertiesAllowlist) == 0 {
			return "Removed before anyone uses the data: none of these details is kept.", false, nil
		}
		keys := slices.Clone(p.PropertiesAllowlist)
		slices.Sort(keys)
		return "Only these details are kept: " + strings.Join(keys, ", ") + ", after removing " + removed + " from them. Everything else is removed.", true, nil
	}
	return "", false, fmt.Errorf("action %q has no user-facing wording (centre.actionWords)", f.Action)
}

// Describe turns the schema's annotated fields into plain language. It returns
// an error for every field or action without wording, so a schema change
// cannot silently reach the page without words.
func Describe(fields []schema.Field, p Processing) ([]FieldStory, error) {
	var out []FieldStory
	var errs []string
	for _, f := range fields {
		what, ok := fieldWords[f.Name]
		if !ok {
			errs = append(errs, fmt.Sprintf("field %s has no user-facing wording (centre.fieldWords)", f.Name))
			continue
		}
		happens, kept, err := actionWords(f, p)
		if err != nil {
			errs = append(errs, fmt.Sprintf("field %s: %v", f.Name, err))
			continue
		}
		out = append(out, FieldStory{Field: f.Name, What: what, Happens: happens, Kept: kept})
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}
