package anonymizer

import (
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/consentflow/consentflow/services/anonymizer/internal/transform"
	"github.com/stretchr/testify/require"
)

// Kept strings carry other people's data no more than free text does: with
// the real redactor, patterns and names of two words or more are redacted
// from event types, while a product's vocabulary passes as it is.
func TestKeptStringsWithTheRealRedactor(t *testing.T) {
	kr, err := keyring.Ephemeral()
	require.NoError(t, err)
	tr, err := transform.New(transform.Options{Purpose: "ai_training", Keyring: kr, Redactor: newTextRedactor(), Granularity: time.Hour})
	require.NoError(t, err)
	for in, want := range map[string]string{
		"Invited Bob Jones as admin":  "Invited <PERSON> as admin",
		"Shared with Ada Lovelace":    "Shared with <PERSON>",
		"Called 030 901820 back":      "Called <PHONE_NUMBER> back",
		"Order Completed":             "Order Completed",
		"Workspace Renamed":           "Workspace Renamed",
		"ai_prompt_submitted":         "ai_prompt_submitted",
		"[Amplitude] Page Viewed":     "[Amplitude] Page Viewed",
		"$mp_web_page_view":           "$mp_web_page_view",
		"Report Downloaded by u-0042": "Report Downloaded by <ID>",
	} {
		e := schema.InteractionEvent{EventID: "e-1", EventType: in, TenantID: "acme", UserID: "u-0042",
			ReceivedAt: time.UnixMilli(1_700_000_000_000).UTC(), Locale: "de-DE; Jane Doe +49 30 901820"}
		c, err := tr.Transform(&e, transform.Meta{})
		require.NoError(t, err, in)
		require.Equal(t, want, c.EventType, in)
		require.Empty(t, c.Locale, "a locale that is no BCP 47 tag is null")
	}
	e := schema.InteractionEvent{EventID: "e-1", EventType: "Invited bob.jones@example.org as admin", TenantID: "acme", UserID: "u-0042",
		ReceivedAt: time.UnixMilli(1_700_000_000_000).UTC()}
	_, err = tr.Transform(&e, transform.Meta{})
	require.ErrorIs(t, err, transform.ErrInvalidField)
}
