package transform

import (
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/stretchr/testify/require"
)

// population is a deterministic set of events: 40 users of 4 tenants, 3 sessions
// each, over three hours, with kept fields from small vocabularies.
func population() []schema.InteractionEvent {
	types := []string{"issue_created", "comment_added", "page_viewed", "search"}
	locales := []string{"en-US", "de-DE", "fr-FR"}
	locations := []string{"US", "Germany", "France"}
	base := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	var out []schema.InteractionEvent
	for i := range 480 {
		u := i % 40
		out = append(out, schema.InteractionEvent{
			EventID:    fmt.Sprintf("%08x-1c2d-4e5f-8a9b-%012x", i*2654435761, i),
			EventType:  types[i%len(types)],
			TenantID:   fmt.Sprintf("org_%d", u%4),
			UserID:     fmt.Sprintf("usr_%03d", u),
			SessionID:  fmt.Sprintf("sess_%03d_%d", u, i%3),
			ReceivedAt: base.Add(time.Duration(i) * 22 * time.Second),
			IP:         fmt.Sprintf("198.51.%d.%d", u%3, 10+u),
			Locale:     locales[u%3], Location: locations[u%3], Jurisdiction: "US",
			Properties: map[string]string{"plan": []string{"free", "pro"}[u%2]},
			Source:     "api",
		})
	}
	return out
}

// keyPrefix is the key id a pseudonym starts with: a reader joining two
// datasets would strip it, so it is no evidence of unlinkability.
var keyPrefix = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}:`)

// columns returns each string column of c, pseudonyms without their key id.
func columns(c schema.CuratedEvent) map[string]string {
	cols := map[string]string{
		"event_id": c.EventID, "event_type": c.EventType, "subject": c.Subject, "tenant": c.Tenant,
		"session": c.Session, "received_at": c.ReceivedAt.String(), "jurisdiction": c.Jurisdiction,
		"ip_prefix": c.IPPrefix, "locale": c.Locale, "region": c.Region, "source": c.Source,
	}
	for k, v := range c.Properties {
		cols["properties."+k] = v
	}
	for k, v := range cols {
		cols[k] = keyPrefix.ReplaceAllString(v, "")
	}
	return cols
}

func curate(t *testing.T, purpose string, kr *keyring.Keyring) []map[string]string {
	t.Helper()
	tr := newTransformer(t, func(o *Options) { o.Purpose = purpose; o.Keyring = kr; o.Allowlist = []string{"plan"} })
	var out []map[string]string
	for _, e := range population() {
		c, err := tr.Transform(&e, Meta{})
		require.NoError(t, err)
		out = append(out, columns(c))
	}
	return out
}

// joinable returns, per column, (up to three of) the values that both datasets share and that
// identify fewer than minGroup subjects in a: a value that picks out one
// person (or a handful) in both datasets joins them.
func joinable(a, b []map[string]string, minGroup int) map[string][]string {
	subjects := map[string]map[string]map[string]bool{} // column -> value -> subjects of a
	for _, r := range a {
		for col, v := range r {
			if v == "" {
				continue
			}
			if subjects[col] == nil {
				subjects[col] = map[string]map[string]bool{}
			}
			if subjects[col][v] == nil {
				subjects[col][v] = map[string]bool{}
			}
			subjects[col][v][r["subject"]] = true
		}
	}
	out := map[string][]string{}
	seen := map[string]bool{}
	for _, r := range b {
		for col, v := range r {
			if s, ok := subjects[col][v]; ok && len(s) < minGroup && !seen[col+"\x00"+v] && len(out[col]) < 3 {
				seen[col+"\x00"+v] = true
				out[col] = append(out[col], v)
			}
		}
	}
	return out
}

// Two purposes' datasets, and one purpose's datasets under two keys, share no
// column a reader could join them on: every identifier (event id, subject,
// tenant, session) is keyed per purpose and per key, and what the datasets do
// share (event type, hour, region, locale, /24) names groups of at least five
// subjects.
func TestDatasetsOfTwoPurposesOrKeysShareNoJoinableColumn(t *testing.T) {
	k1 := testKeyring(t) // "k2", one secret
	other, err := keyring.NewKey("k3", []byte("fedcba9876543210fedcba9876543210"))
	require.NoError(t, err)
	k2, err := keyring.New(other)
	require.NoError(t, err)

	training := curate(t, "ai_training", k1)
	analytics := curate(t, "analytics", k1)
	rotated := curate(t, "ai_training", k2)
	// the check itself: a dataset joins with itself on every identifier
	require.Contains(t, joinable(training, training, 5), "event_id")
	require.Contains(t, joinable(training, training, 5), "subject")

	require.Empty(t, joinable(training, analytics, 5), "two purposes' datasets")
	require.Empty(t, joinable(analytics, training, 5), "two purposes' datasets")
	require.Empty(t, joinable(training, rotated, 5), "one purpose under two keys")
	require.Empty(t, joinable(rotated, training, 5), "one purpose under two keys")
}
