package transform

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/stretchr/testify/require"
)

var emailRe = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}`)

// fakeRedactor replaces emails and the actor's full name; enough to see that the
// transformer routes text through the redactor with the right actor.
var fakeRedactor = RedactorFunc(func(text string, a Actor) Redaction {
	var types []string
	text = emailRe.ReplaceAllStringFunc(text, func(string) string {
		types = append(types, "EMAIL_ADDRESS")
		return "<EMAIL_ADDRESS>"
	})
	if a.Name != "" && strings.Contains(text, a.Name) {
		types = append(types, "PERSON")
		text = strings.ReplaceAll(text, a.Name, "<PERSON>")
	}
	return Redaction{Text: text, Types: types}
})

func testKeyring(t testing.TB) *keyring.Keyring {
	t.Helper()
	secret := []byte("0123456789abcdef0123456789abcdef")
	k, err := keyring.NewKey("k2", secret)
	require.NoError(t, err)
	r, err := keyring.New(k)
	require.NoError(t, err)
	return r
}

func newTransformer(t testing.TB, mod func(*Options)) *Transformer {
	t.Helper()
	o := Options{Purpose: "ai_training", Keyring: testKeyring(t), Redactor: fakeRedactor,
		Allowlist: []string{"page", "plan"}, Granularity: time.Hour}
	if mod != nil {
		mod(&o)
	}
	tr, err := New(o)
	require.NoError(t, err)
	return tr
}

func baseEvent() schema.InteractionEvent {
	return schema.InteractionEvent{
		EventID: "4f1c2b9e-0d1a-4c55-9d8e-1f0a6c1d2e3f", EventType: "comment_added",
		TenantID: "org_acme", UserID: "usr_42abc", SessionID: "sess_9x8y7z",
		ReceivedAt:   time.Date(2024, 5, 17, 13, 47, 12, 0, time.UTC),
		OccurredAt:   time.Date(2024, 5, 17, 13, 46, 59, 0, time.UTC),
		Jurisdiction: "US-CA", GPC: true, IP: "203.0.113.77", UserAgent: "Mozilla/5.0",
		Locale: "en-US", Location: "United States/California/Sacramento",
		Text:       "Thanks, Alice Doe here: alice@example.com",
		Properties: map[string]string{"page": "/settings?to=bob@example.com", "plan": "pro", "email": "alice@example.com"},
		ActorName:  "Alice Doe", ActorEmail: "alice@example.com", ActorHandle: "@adoe",
		ClientConsent: `{"ai_training":true}`, Source: "segment",
	}
}

func TestTransformPerAction(t *testing.T) {
	tr := newTransformer(t, nil)
	kr := testKeyring(t)
	e := baseEvent()
	c, err := tr.Transform(&e, Meta{ConsentVersion: "0:17", TenantConsentVersion: "1:4", PolicyVersion: "policy-3"})
	require.NoError(t, err)

	hour := time.Date(2024, 5, 17, 13, 0, 0, 0, time.UTC)
	require.Equal(t, schema.CuratedEvent{
		// keep
		EventType: "comment_added", GPC: true, Source: "segment",
		// canonicalize_locale
		Locale: "en-US",
		// pseudonymize, each in its own domain (the event id per purpose and tenant)
		EventID: kr.PseudonymIn(keyring.Event, "ai_training", "org_acme", e.EventID),
		Subject: kr.Pseudonym(keyring.User, "ai_training", "usr_42abc"),
		Tenant:  kr.Pseudonym(keyring.Tenant, "ai_training", "org_acme"),
		Session: kr.Pseudonym(keyring.Session, "ai_training", "sess_9x8y7z"),
		// coarsen_time
		ReceivedAt: hour, OccurredAt: hour,
		// generalize_location
		Jurisdiction: "US", Region: "US",
		// truncate_ip
		IPPrefix: "203.0.113.0/24",
		// redact with the actor
		Text: "Thanks, <PERSON> here: <EMAIL_ADDRESS>",
		// allowlist_keys, values redacted
		Properties: map[string]string{"page": "/settings?to=<EMAIL_ADDRESS>", "plan": "pro"},
		// derived
		Purpose: "ai_training", ConsentVersion: "0:17", TenantConsentVersion: "1:4", PolicyVersion: "policy-3",
	}, c)
}

func TestTransformNullsAndAnonymousSubject(t *testing.T) {
	tr := newTransformer(t, nil)
	e := schema.InteractionEvent{EventID: "e1", EventType: "page_viewed", TenantID: "org_acme",
		AnonymousID: "anon-123456", ReceivedAt: time.UnixMilli(1_700_000_000_000).UTC(), IP: "garbage"}
	c, err := tr.Transform(&e, Meta{})
	require.NoError(t, err)
	require.Equal(t, testKeyring(t).Pseudonym(keyring.User, "ai_training", "anon-123456"), c.Subject,
		"anonymous traffic: the anonymous id is the consent subject")
	require.Empty(t, c.Session)
	require.Empty(t, c.IPPrefix, "unparsable IP becomes null, never the raw value")
	require.True(t, c.OccurredAt.IsZero())
	require.Empty(t, c.Text)
	require.NotNil(t, c.Properties)
	require.Empty(t, c.Properties)
	require.Equal(t, "api", c.Source)
	require.Empty(t, c.ConsentVersion)

	e.AnonymousID = ""
	_, err = tr.Transform(&e, Meta{})
	require.ErrorIs(t, err, ErrNoSubject)
}

func TestTransformScrubsOwnIdentifiersFromText(t *testing.T) {
	nop := RedactorFunc(func(text string, _ Actor) Redaction { return Redaction{Text: text} })
	var types []string
	tr := newTransformer(t, func(o *Options) {
		o.Redactor = nop
		o.OnRedaction = func(typ string) { types = append(types, typ) }
	})
	e := baseEvent()
	e.Text = "user USR_42ABC of org_acme (session sess_9x8y7z) from ip203.0.113.77 is @adoe, Alice Doe <alice@example.com>"
	e.Properties = map[string]string{"page": "/u/usr_42abc"}
	c, err := tr.Transform(&e, Meta{})
	require.NoError(t, err)
	require.Equal(t, "user <ID> of <ID> (session <ID>) from ip<IP_ADDRESS> is @<PERSON>, <PERSON> <<EMAIL_ADDRESS>>", c.Text)
	require.Equal(t, map[string]string{"page": "/u/<ID>"}, c.Properties)
	require.Equal(t, []string{"ID", "ID", "ID", "IP_ADDRESS", "PERSON", "PERSON", "EMAIL_ADDRESS", "ID"}, types)
}

func TestScrubOverlaps(t *testing.T) {
	ns := []needle{{"abcdef", "ID"}, {"cdefgh", "PERSON"}, {"efghij", "ID"}}
	require.Equal(t, "x<ID>y", scrub("xABCDEFGHIJy", ns, nil))
	require.Equal(t, "x<ID>y<PERSON>", scrub("xabcdefycdefgh", ns, nil))
	require.Equal(t, "äbc <ID> ü", scrub("äbc AbCdEf ü", ns, nil))
	require.Equal(t, "abc", scrub("abc", ns, nil))
}

func TestRedactionCountsReportTypesOnly(t *testing.T) {
	counts := map[string]int{}
	tr := newTransformer(t, func(o *Options) { o.OnRedaction = func(typ string) { counts[typ]++ } })
	e := baseEvent()
	_, err := tr.Transform(&e, Meta{})
	require.NoError(t, err)
	require.Equal(t, map[string]int{"EMAIL_ADDRESS": 2, "PERSON": 1}, counts)
}

func TestNewRejectsBadAnnotations(t *testing.T) {
	fields, err := schema.RawFields()
	require.NoError(t, err)
	with := func(name string, mod func(*schema.Field)) []schema.Field {
		out := append([]schema.Field(nil), fields...)
		for i := range out {
			if out[i].Name == name {
				mod(&out[i])
			}
		}
		return out
	}
	for name, c := range map[string]struct {
		fields []schema.Field
		want   string
	}{
		"unknown action":       {with("text", func(f *schema.Field) { f.Action = "encrypt" }), `unknown action "encrypt"`},
		"unknown field":        {append(append([]schema.Field(nil), fields...), schema.Field{Name: "fax", Action: "keep", Curated: "fax"}), "not a field the anonymizer knows"},
		"action on wrong type": {with("received_at", func(f *schema.Field) { f.Action = schema.ActionTruncateIP }), "does not apply to a time"},
		"unknown curated":      {with("locale", func(f *schema.Field) { f.Curated = "language" }), `x-curated "language"`},
		"kind mismatch":        {with("locale", func(f *schema.Field) { f.Curated = "received_at" }), "string feeds time"},
		"no pseudonym domain":  {with("locale", func(f *schema.Field) { f.Action = schema.ActionPseudonymize }), "no pseudonym domain"},
		"subject dropped":      {with("user_id", func(f *schema.Field) { f.Action = schema.ActionDrop; f.Curated = "" }), "user_id must be pseudonymized"},
	} {
		_, err := New(Options{Purpose: "p", Keyring: testKeyring(t), Redactor: fakeRedactor, Granularity: time.Hour, Fields: c.fields})
		require.ErrorContains(t, err, c.want, name)
	}
	for name, o := range map[string]Options{
		"no purpose":     {Keyring: testKeyring(t), Redactor: fakeRedactor, Granularity: time.Hour},
		"no keyring":     {Purpose: "p", Redactor: fakeRedactor, Granularity: time.Hour},
		"no redactor":    {Purpose: "p", Keyring: testKeyring(t), Granularity: time.Hour},
		"no granularity": {Purpose: "p", Keyring: testKeyring(t), Redactor: fakeRedactor},
	} {
		_, err := New(o)
		require.Error(t, err, name)
	}
}

func TestTransformIsDeterministic(t *testing.T) {
	tr := newTransformer(t, nil)
	e := baseEvent()
	a, err := tr.Transform(&e, Meta{})
	require.NoError(t, err)
	b, err := tr.Transform(&e, Meta{})
	require.NoError(t, err)
	require.Equal(t, a, b)
}

func TestKeptStringsCarryNoRawIdentifier(t *testing.T) {
	tr := newTransformer(t, nil)
	e := baseEvent()
	e.EventType = "signup_usr_42abc"
	e.Locale = "en-US"
	c, err := tr.Transform(&e, Meta{})
	require.NoError(t, err)
	require.Equal(t, "signup_<ID>", c.EventType)
	require.Equal(t, "en-US", c.Locale)
	require.NotContains(t, c.EventID, e.EventID)
}

// The filter's subject headers choose the pseudonym's domain: a tenant-scoped
// user id or anonymous id has its tenant in the MAC input, so user 7 of two
// tenants gets two pseudonyms; sessions are scoped to the tenant; events
// without the headers keep the pseudonyms of before.
func TestSubjectPseudonymFollowsTheFiltersIdentity(t *testing.T) {
	tr := newTransformer(t, nil)
	kr := testKeyring(t)
	ev := func(tenant, user, anon string) *schema.InteractionEvent {
		return &schema.InteractionEvent{EventID: "e", EventType: "x", TenantID: tenant, UserID: user, AnonymousID: anon,
			SessionID: "s-1", ReceivedAt: time.UnixMilli(1_700_000_000_000).UTC()}
	}
	scoped := Meta{SubjectKind: "user", SubjectScope: "tenant"}
	a, err := tr.Transform(ev("acme", "7", ""), scoped)
	require.NoError(t, err)
	b, err := tr.Transform(ev("globex", "7", ""), scoped)
	require.NoError(t, err)
	require.Equal(t, kr.PseudonymIn(keyring.User, "ai_training", "acme", "7"), a.Subject)
	require.NotEqual(t, a.Subject, b.Subject, "same user id, two tenants, two subjects")
	require.Equal(t, kr.PseudonymIn(keyring.Session, "ai_training", "acme", "s-1"), a.Session)
	require.NotEqual(t, a.Session, b.Session)

	g, err := tr.Transform(ev("acme", "7", ""), Meta{SubjectKind: "user", SubjectScope: "global"})
	require.NoError(t, err)
	require.Equal(t, kr.Pseudonym(keyring.User, "ai_training", "7"), g.Subject, "a global id has no tenant in its pseudonym")

	an, err := tr.Transform(ev("acme", "", "7"), Meta{SubjectKind: "anonymous", SubjectScope: "tenant"})
	require.NoError(t, err)
	require.Equal(t, kr.PseudonymIn(keyring.Anonymous, "ai_training", "acme", "7"), an.Subject)
	require.NotEqual(t, a.Subject, an.Subject, "user 7 and anonymous id 7 are two subjects")

	old, err := tr.Transform(ev("acme", "7", ""), Meta{})
	require.NoError(t, err)
	require.Equal(t, kr.Pseudonym(keyring.User, "ai_training", "7"), old.Subject, "no headers: the pseudonym of before")
	require.Equal(t, kr.Pseudonym(keyring.Session, "ai_training", "s-1"), old.Session)
}
