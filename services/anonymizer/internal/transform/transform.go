// Package transform turns a consented InteractionEvent into a CuratedEvent, field
// by field, as the x-action annotations of the InteractionEvent schema say. It is
// pure: no I/O, no clock, no randomness; the same event, keyring and options give
// the same curated event.
package transform

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/consentflow/consentflow/pkg/formats"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/schemas"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
)

// Actor is the author of a free text: their name, email and handle are redacted
// from it.
type Actor struct {
	Name, Email, Handle string
}

// Redaction is a redacted text and the entity type of each replaced span.
type Redaction struct {
	Text  string
	Types []string
}

// Redactor replaces PII in free text with typed placeholders. It must be safe for
// concurrent use.
type Redactor interface {
	Redact(text string, actor Actor) Redaction
}

// RedactorFunc adapts a function to Redactor.
type RedactorFunc func(text string, actor Actor) Redaction

// Redact calls f.
func (f RedactorFunc) Redact(text string, actor Actor) Redaction { return f(text, actor) }

// KeptRedactor is implemented by a Redactor that has a mode for kept strings
// (event types, sources): identifiers from a vocabulary, often in Title Case,
// where one capitalised word is no evidence of a name. Without it, kept strings
// go through Redact.
type KeptRedactor interface {
	RedactKept(text string, actor Actor) Redaction
}

// ErrNoSubject marks an event with neither user id nor anonymous id.
var ErrNoSubject = errors.New("event has no subject (neither user_id nor anonymous_id)")

// ErrInvalidField marks an event with a field its action cannot parse and
// cannot null (a kept event type that is not a token): it is dead-lettered,
// never passed on.
var ErrInvalidField = errors.New("invalid field")

// Options configure a Transformer.
type Options struct {
	// Purpose is the purpose of this chain; it goes into every pseudonym and
	// every curated event.
	Purpose string
	// Keyring pseudonymizes under its active key.
	Keyring *keyring.Keyring
	// Redactor redacts free text and allowlisted property values.
	Redactor Redactor
	// Allowlist names the property keys that survive; all others are dropped.
	Allowlist []string
	// Granularity is what coarsen_time truncates to (e.g. time.Hour).
	Granularity time.Duration
	// Fields are the annotated raw fields; nil means schema.RawFields(), checked
	// against the curated schema.
	Fields []schema.Field
	// OnRedaction, when set, is called with the entity type of every redacted
	// span (for metrics; never the value).
	OnRedaction func(entityType string)
}

// Meta is what the consent-filter says about an event in its Kafka headers.
type Meta struct {
	ConsentVersion       string
	TenantConsentVersion string
	PolicyVersion        string
	// SubjectKind ("user" or "anonymous") and SubjectScope ("tenant" or
	// "global") say how the filter keyed the event's subject; the subject and
	// session pseudonyms follow them (the tenant is part of the MAC input of a
	// tenant-scoped id). Both empty (an event decided before subjects had
	// kinds): the pseudonyms of that time, without the tenant.
	SubjectKind  string
	SubjectScope string
}

// call is one Transform's context for the field steps.
type call struct {
	ns   []needle
	meta Meta
}

// step applies one field's action. apply fails only for a value that can
// neither be passed nor nulled.
type step struct {
	get   func(*schema.InteractionEvent) value
	set   func(*schema.CuratedEvent, value)
	apply func(t *Transformer, e *schema.InteractionEvent, v value, c *call) (value, error)
}

// Transformer applies the field actions. It is safe for concurrent use.
type Transformer struct {
	purpose     string
	keyring     *keyring.Keyring
	redactor    Redactor
	allowlist   map[string]bool
	granularity time.Duration
	onRedaction func(string)
	steps       []step
}

// pseudonymKinds says which pseudonym domain each pseudonymized raw field uses.
var pseudonymKinds = map[string]keyring.Kind{
	"user_id":    keyring.User,
	"tenant_id":  keyring.Tenant,
	"session_id": keyring.Session,
	"event_id":   keyring.Event,
}

// actionKinds lists the value kinds each action accepts; the action's output has
// the same kind. keep takes no map: a map is kept only key by key
// (allowlist_keys).
var actionKinds = map[string][]kind{
	schema.ActionDrop:               {kindString, kindTime, kindBool, kindMap},
	schema.ActionKeep:               {kindString, kindTime, kindBool},
	schema.ActionPseudonymize:       {kindString},
	schema.ActionTruncateIP:         {kindString},
	schema.ActionCoarsenTime:        {kindTime},
	schema.ActionGeneralizeLocation: {kindString},
	schema.ActionCanonicalizeLocale: {kindString},
	schema.ActionRedact:             {kindString},
	schema.ActionAllowlistKeys:      {kindMap},
}

// New builds the field plan from the annotations and checks it: every field has a
// known action that fits its type, and every non-dropped field feeds a known
// curated field. An unknown action or field is an error, so the service fails at
// start rather than pass a field it does not understand.
func New(opts Options) (*Transformer, error) {
	if opts.Purpose == "" {
		return nil, errors.New("transform: no purpose")
	}
	if opts.Keyring == nil {
		return nil, errors.New("transform: no keyring")
	}
	if opts.Redactor == nil {
		return nil, errors.New("transform: no redactor")
	}
	if opts.Granularity <= 0 {
		return nil, errors.New("transform: time granularity must be positive")
	}
	fields := opts.Fields
	if fields == nil {
		var err error
		if fields, err = checkedRawFields(); err != nil {
			return nil, err
		}
	}
	t := &Transformer{
		purpose:     opts.Purpose,
		keyring:     opts.Keyring,
		redactor:    opts.Redactor,
		allowlist:   map[string]bool{},
		granularity: opts.Granularity,
		onRedaction: opts.OnRedaction,
	}
	for _, k := range opts.Allowlist {
		t.allowlist[k] = true
	}
	subject := false
	for _, f := range fields {
		s, err := planField(f)
		if err != nil {
			return nil, fmt.Errorf("transform: field %s: %w", f.Name, err)
		}
		subject = subject || (f.Name == "user_id" && f.Action == schema.ActionPseudonymize && f.Curated == "subject")
		if s == nil {
			continue
		}
		t.steps = append(t.steps, *s)
	}
	if !subject {
		return nil, errors.New("transform: user_id must be pseudonymized into subject, the Kafka key")
	}
	return t, nil
}

func checkedRawFields() ([]schema.Field, error) {
	raw, err := schema.ParseRecord(schemas.MustRead(schemas.InteractionEvent))
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	curated, err := schema.ParseRecord(schemas.MustRead(schemas.CuratedEvent))
	if err != nil {
		return nil, fmt.Errorf("transform: %w", err)
	}
	if errs := schema.CheckAnnotations(raw, curated); len(errs) > 0 {
		return nil, fmt.Errorf("transform: schema annotations: %w", errors.Join(errs...))
	}
	return raw.Fields, nil
}

func planField(f schema.Field) (*step, error) {
	kinds, ok := actionKinds[f.Action]
	if !ok {
		return nil, fmt.Errorf("unknown action %q", f.Action)
	}
	rf, ok := rawFields[f.Name]
	if !ok {
		return nil, errors.New("not a field the anonymizer knows; add it to rawFields")
	}
	if !slices.Contains(kinds, rf.kind) {
		return nil, fmt.Errorf("action %s does not apply to a %s", f.Action, rf.kind)
	}
	if f.Action == schema.ActionDrop {
		return nil, nil
	}
	cf, ok := curatedFields[f.Curated]
	if !ok {
		return nil, fmt.Errorf("x-curated %q is not a curated field the anonymizer knows", f.Curated)
	}
	if cf.kind != rf.kind {
		return nil, fmt.Errorf("%s feeds %s field %s", rf.kind, cf.kind, f.Curated)
	}
	s := &step{get: rf.get, set: cf.set}
	field := f.Name
	switch f.Action {
	case schema.ActionKeep:
		s.apply = func(_ *Transformer, _ *schema.InteractionEvent, v value, _ *call) (value, error) { return v, nil }
		if rf.kind == kindString {
			// Kept strings (event type, source) are tokens from a vocabulary:
			// anything else is dead-lettered; within the shape, other people's
			// data (emails, phone numbers, names) is redacted and the event's
			// own raw identifiers scrubbed.
			s.apply = func(t *Transformer, e *schema.InteractionEvent, v value, c *call) (value, error) {
				if v.s == "" {
					return v, nil
				}
				if err := formats.EventType(v.s); err != nil {
					return value{}, fmt.Errorf("%w: %s %w", ErrInvalidField, field, err)
				}
				return value{s: t.redactKept(v.s, e, c.ns)}, nil
			}
		}
	case schema.ActionPseudonymize:
		pk, ok := pseudonymKinds[f.Name]
		if !ok {
			return nil, errors.New("no pseudonym domain for this field; add it to pseudonymKinds")
		}
		s.apply = func(t *Transformer, e *schema.InteractionEvent, v value, c *call) (value, error) {
			if v.s == "" {
				return value{}, nil
			}
			kind, tenant := pseudonymDomain(field, pk, e, c.meta)
			return value{s: t.keyring.PseudonymIn(kind, t.purpose, tenant, v.s)}, nil
		}
	case schema.ActionTruncateIP:
		s.apply = func(_ *Transformer, _ *schema.InteractionEvent, v value, _ *call) (value, error) {
			return value{s: TruncateIP(v.s)}, nil
		}
	case schema.ActionCoarsenTime:
		s.apply = func(t *Transformer, _ *schema.InteractionEvent, v value, _ *call) (value, error) {
			return value{t: CoarsenTime(v.t, t.granularity)}, nil
		}
	case schema.ActionGeneralizeLocation:
		s.apply = func(_ *Transformer, _ *schema.InteractionEvent, v value, _ *call) (value, error) {
			return value{s: GeneralizeLocation(v.s)}, nil
		}
	case schema.ActionCanonicalizeLocale:
		s.apply = func(_ *Transformer, _ *schema.InteractionEvent, v value, _ *call) (value, error) {
			return value{s: CanonicalLocale(v.s)}, nil
		}
	case schema.ActionRedact:
		s.apply = func(t *Transformer, e *schema.InteractionEvent, v value, c *call) (value, error) {
			return value{s: t.redactText(v.s, e, c.ns)}, nil
		}
	case schema.ActionAllowlistKeys:
		s.apply = func(t *Transformer, e *schema.InteractionEvent, v value, c *call) (value, error) {
			out := make(map[string]string, len(t.allowlist))
			for _, k := range slices.Sorted(maps.Keys(v.m)) {
				if t.allowlist[k] {
					out[k] = t.redactValue(v.m[k], e, c.ns)
				}
			}
			return value{m: out}, nil
		}
	default:
		return nil, fmt.Errorf("action %s has no implementation", f.Action)
	}
	return s, nil
}

// redactText runs text through the redactor with the event's actor, then removes
// any of the event's own raw identifiers still in it.
func (t *Transformer) redactText(text string, e *schema.InteractionEvent, ns []needle) string {
	if text == "" {
		return ""
	}
	r := t.redactor.Redact(text, Actor{Name: e.ActorName, Email: e.ActorEmail, Handle: e.ActorHandle})
	if t.onRedaction != nil {
		for _, typ := range r.Types {
			t.onRedaction(typ)
		}
	}
	return scrub(r.Text, ns, t.onRedaction)
}

// redactKept is redactText for a kept string: through the redactor's mode for
// kept strings when it has one.
func (t *Transformer) redactKept(text string, e *schema.InteractionEvent, ns []needle) string {
	kr, ok := t.redactor.(KeptRedactor)
	if !ok {
		return t.redactText(text, e, ns)
	}
	r := kr.RedactKept(text, Actor{Name: e.ActorName, Email: e.ActorEmail, Handle: e.ActorHandle})
	if t.onRedaction != nil {
		for _, typ := range r.Types {
			t.onRedaction(typ)
		}
	}
	return scrub(r.Text, ns, t.onRedaction)
}

// Transform returns the curated form of e. Its errors are ErrNoSubject and
// ErrInvalidField (wrapped, naming the field): the event must be
// dead-lettered.
func (t *Transformer) Transform(e *schema.InteractionEvent, meta Meta) (schema.CuratedEvent, error) {
	if e.Subject() == "" {
		return schema.CuratedEvent{}, ErrNoSubject
	}
	cl := &call{ns: needles(e), meta: meta}
	c := schema.CuratedEvent{
		Purpose:              t.purpose,
		ConsentVersion:       meta.ConsentVersion,
		TenantConsentVersion: meta.TenantConsentVersion,
		PolicyVersion:        meta.PolicyVersion,
	}
	for i := range t.steps {
		s := &t.steps[i]
		v, err := s.apply(t, e, s.get(e), cl)
		if err != nil {
			return schema.CuratedEvent{}, err
		}
		s.set(&c, v)
	}
	if c.Source == "" {
		c.Source = "api"
	}
	if c.Properties == nil {
		c.Properties = map[string]string{}
	}
	return c, nil
}

// pseudonymDomain returns the kind and tenant a pseudonymized field is keyed
// with. The subject (user_id, which carries the anonymous id for anonymous
// traffic) takes the kind and scope the consent-filter keyed it with; a
// session is scoped to the event's tenant. Events without the filter's
// subject headers keep the pseudonyms of before (user kind, no tenant).
func pseudonymDomain(field string, kind keyring.Kind, e *schema.InteractionEvent, m Meta) (keyring.Kind, string) {
	if field == "event_id" {
		// no pseudonym of before: event ids were kept verbatim
		return kind, e.TenantID
	}
	if m.SubjectKind == "" {
		return kind, ""
	}
	switch field {
	case "user_id":
		k := keyring.User
		if m.SubjectKind == string(keyring.Anonymous) {
			k = keyring.Anonymous
		}
		if m.SubjectScope == "global" {
			return k, ""
		}
		return k, e.TenantID
	case "session_id":
		return kind, e.TenantID
	}
	return kind, ""
}
