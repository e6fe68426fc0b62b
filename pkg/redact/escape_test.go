package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A URL or an email is one value: whatever else matches inside it (a token in
// its query, a name in its path, an email in a parameter) must not win the
// overlap and leave the rest of the container in clear.
func TestContainerAbsorbsWhatItContains(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	r := New()
	for _, c := range []struct{ text, want string }{
		{"reset link https://app.example.com/u/jane.doe/reset?name=Jane+Doe&token=" + jwt + " expires soon",
			"reset link <URL> expires soon"},
		{"https://app.example.com/u/jane.doe/reset?name=Jane+Doe&token=" + jwt, "<URL>"},
		{"see https://app.example.com/invite?email=jane.doe@example.org&ref=AKIAIOSFODNN7EXAMPLE now", "see <URL> now"},
		{"https://files.example.net/share/+44%2020%207946%200123/Jane%20Doe.pdf", "<URL>"},
		// a token whose value runs one character past the URL's end (the URL
		// loses its trailing dot): every character of the URL still goes
		{"open https://x.example.com/cb?token=s3cr3tVALUEx9.", "open <URL><SECRET>"},
		// an email around a name
		{"mail ada.lovelace@example.com", "mail <EMAIL_ADDRESS>"},
	} {
		got := r.Redact(c.text, &Actor{Name: "Jane Doe"}).Text
		assert.Equal(t, c.want, got, "in %q", c.text)
	}
}

// Escapes a URL or JSON reader undoes are decoded before matching, and the
// span covers the escapes that spell the value.
func TestEscapedValuesAreFound(t *testing.T) {
	r := New()
	actor := &Actor{Name: "Jürgen Müller", Email: "jm@example.org", Handle: "jmueller"}
	for _, c := range []struct{ text, want string }{
		{"contact jane.doe%40example.com today", "contact <EMAIL_ADDRESS> today"},
		{"contact jane.doe%2540example.com today", "contact <EMAIL_ADDRESS> today"}, // encoded twice
		{"contact jane.doe\\u0040example.com today", "contact <EMAIL_ADDRESS> today"},
		{`{"author":"J\u00fcrgen M\u00fcller"}`, `{"author":"<PERSON>"}`},
		{"name=J%C3%BCrgen+M%C3%BCller&x=1", "name=<PERSON>&x=1"},
		{"call %2B49%2030%20901820", "call <PHONE_NUMBER>"},
		{"Her card 4111%201111%201111%201111 was declined", "Her card <CREDIT_CARD> was declined"},
		{"Please write to jm%40example.org", "Please write to <EMAIL_ADDRESS>"},
	} {
		got := r.Redact(c.text, actor).Text
		assert.Equal(t, c.want, got, "in %q", c.text)
	}
	// Surrogate pairs decode; a lone surrogate and an escaped control
	// character stay as they are written.
	v, ok := decodedView(`x\ud83d\ude00 \ud83d y\u000a`)
	require.True(t, ok)
	assert.Equal(t, "x😀 \\ud83d y\\u000a", v.text)
}

// Escapes that are not valid UTF-8 stay written; nothing else changes.
func TestDecodedViewMapsBack(t *testing.T) {
	for _, text := range []string{"100% sure", "%FF%FEab", "a%C3", "%E2%82%AC and %e2%82%ac", "x+y", "C++ and 1 + 1", "%%41", "\\u00", "\\uZZZZ", "ok %4"} {
		v, ok := decodedView(text)
		if !ok {
			continue
		}
		require.Len(t, v.at, len(v.text)+1, "%q", text)
		assert.Equal(t, len(text), v.at[len(v.text)], "%q", text)
		for i := 1; i < len(v.at); i++ {
			assert.LessOrEqual(t, v.at[i-1], v.at[i], "%q", text)
		}
	}
	v, _ := decodedView("%FF%FEab%E2%82%AC")
	assert.Equal(t, "%FF%FEab€", v.text)
	a, b := v.origin(len("%FF%FEab"), len(v.text))
	assert.Equal(t, "%E2%82%AC", "%FF%FEab%E2%82%AC"[a:b])
	_, ok := decodedView("no escapes here, 100 % sure")
	assert.False(t, ok)
	assert.False(t, strings.Contains(New().Redact("100%", nil).Text, "<"))
}
