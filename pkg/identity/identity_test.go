package identity

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheck(t *testing.T) {
	ok := []string{"7", "u-001", "a/b", "100%", "a b", " padded ", "Jürgen", "名前", "e\u0301", "..a", "a.", "@x:y|z", "\U0001F600", strings.Repeat("x", MaxLen)}
	for _, id := range ok {
		assert.NoError(t, Check(id), "%q", id)
	}
	bad := map[string]string{
		"":                            "required",
		"   ":                         "required",
		strings.Repeat("x", MaxLen+1): "longer than",
		"\xff\xfe":                    "not valid UTF-8",
		"ab\xc3":                      "not valid UTF-8",
		"a\ufffdb":                    "replacement character",
		"a\x00b":                      "control character",
		"a\tb":                        "control character",
		"a\u0085b":                    "control character",
		"a\u200bb":                    "format character", // zero-width space
		"a\u202eb":                    "format character", // RTL override
		"\ufeffa":                     "format character", // BOM
		"a\u00adb":                    "format character", // soft hyphen
		"a\u2028b":                    "line or paragraph separator",
		"a\ufdd0":                     "noncharacter",
		"a\uffff":                     "noncharacter",
		"a\U0001FFFE":                 "noncharacter",
		".":                           "not allowed",
		"..":                          "not allowed",
		"/":                           "not allowed", // the router reads a lone %2F segment as a trailing slash
	}
	for id, want := range bad {
		err := Check(id)
		require.Error(t, err, "%q", id)
		assert.True(t, errors.Is(err, ErrInvalid))
		assert.Contains(t, err.Error(), want, "%q", id)
	}
	err := CheckField("events[2].user_id", "a\x00")
	assert.EqualError(t, err, "events[2].user_id: control character U+0000 at byte 1")
}

func TestCodeRoundTripAndKeys(t *testing.T) {
	m := DefaultModes()
	subjects := []Subject{
		m.Subject(User, "acme", "7"), m.Subject(User, "globex", "7"), m.Subject(Anonymous, "acme", "7"),
		m.Subject(User, "a/b", "c"), m.Subject(User, "a", "b/c"), m.Subject(User, "a b", "%"),
		Modes{UserIDs: Global}.Subject(User, "acme", "7"), TenantOf("acme"), TenantOf("7"), LegacyOf("7"),
		m.Subject(User, "t", "x|y"), m.Subject(User, "t:u", "@"),
	}
	seen := map[string]Subject{}
	for _, s := range subjects {
		got, err := ParseCode(s.Code())
		require.NoError(t, err, s.Code())
		assert.Equal(t, s, got)
		if prev, dup := seen[s.Code()]; dup {
			t.Fatalf("%v and %v share code %s", prev, s, s.Code())
		}
		seen[s.Code()] = s
		// A new user key holds two '/', a pre-identity one exactly one.
		if s.Kind == User {
			assert.Equal(t, 2, strings.Count(s.ChangeKey("ai_training"), "/"), s.ChangeKey("ai_training"))
		}
	}
	assert.Equal(t, "tenant:acme/ai_training", TenantOf("acme").ChangeKey("ai_training"), "tenant keys keep their format")
	assert.Equal(t, "user:acme/a%2Fb/ai_training", m.Subject(User, "acme", "a/b").ChangeKey("ai_training"))
	assert.Equal(t, "user:/7/ai_training", Modes{UserIDs: Global}.Subject(User, "acme", "7").ChangeKey("ai_training"))
	// Every record of a tenant shares a route; global ids route alone.
	assert.Equal(t, TenantOf("acme").Route(), m.Subject(User, "acme", "7").Route())
	assert.Equal(t, TenantOf("acme").Route(), m.Subject(Anonymous, "acme", "x").Route())
	assert.NotEqual(t, TenantOf("acme").Route(), Modes{UserIDs: Global}.Subject(User, "acme", "7").Route())

	for _, bad := range []string{"", "user", "user:7", "user:a/", "tenant:", "x:a/b", "user:a/b/c", "user:a/%2f"} {
		_, err := ParseCode(bad)
		assert.Error(t, err, bad)
	}
}

func FuzzCode(f *testing.F) {
	f.Add("acme", "7", true)
	f.Add("a/b", "%2F", false)
	f.Fuzz(func(t *testing.T, tenant, id string, user bool) {
		if !utf8.ValidString(tenant) || !utf8.ValidString(id) || id == "" {
			return
		}
		k := Anonymous
		if user {
			k = User
		}
		s := Subject{Kind: k, Tenant: tenant, ID: id}
		got, err := ParseCode(s.Code())
		if err != nil || got != s {
			t.Fatalf("%#v: code %q parsed to %#v, %v", s, s.Code(), got, err)
		}
		if strings.Contains(s.Code(), "|") {
			t.Fatalf("code %q holds the link separator", s.Code())
		}
	})
}

func TestLinks(t *testing.T) {
	m := DefaultModes()
	u, a := m.Subject(User, "acme", "7"), m.Subject(Anonymous, "acme", "c1")
	assert.Equal(t, NewLink(u, a), NewLink(a, u), "links are symmetric")
	assert.Equal(t, u, NewLink(a, u).A, "user first")
	assert.Equal(t, []Link{NewLink(u, a)}, m.Links(EventIDs{Tenant: "acme", UserID: "7", AnonymousID: "c1"}))
	assert.Empty(t, m.Links(EventIDs{Tenant: "acme", AnonymousID: "c1"}))
	alias := m.Links(EventIDs{Tenant: "acme", UserID: "7", PreviousID: "old"})
	assert.ElementsMatch(t, []Link{NewLink(u, m.Subject(Anonymous, "acme", "old")), NewLink(u, m.Subject(User, "acme", "old"))}, alias)
	assert.Len(t, m.Links(EventIDs{Tenant: "acme", UserID: "7", AnonymousID: "c1", PreviousID: "c1"}), 2, "no duplicate links")
	p, ok := m.Primary(EventIDs{Tenant: "acme", AnonymousID: "c1"})
	assert.True(t, ok)
	assert.Equal(t, a, p)
	assert.NotEqual(t, NewLink(u, a).Key(), NewLink(m.Subject(User, "acme", "7|anonymous:acme/c1"), TenantOf("x")).Key())
}

// TestASCIIForbiddenAsUnicodeSays holds forbidden's ASCII shortcut to the
// Unicode categories it stands for (Cc, Cf, Zl, Zp).
func TestASCIIForbiddenAsUnicodeSays(t *testing.T) {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		want := unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
		if got := forbidden(r) != ""; got != want {
			t.Errorf("forbidden(%U) = %v, Unicode says %v", r, got, want)
		}
	}
}
