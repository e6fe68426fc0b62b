package keyring

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func secret(seed byte) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = seed ^ byte(i*7+1)
	}
	return b
}

func mustKey(t *testing.T, id string, seed byte) Key {
	t.Helper()
	k, err := NewKey(id, secret(seed))
	require.NoError(t, err)
	return k
}

func mustRing(t *testing.T, keys ...Key) *Keyring {
	t.Helper()
	r, err := New(keys[0], keys[1:]...)
	require.NoError(t, err)
	return r
}

var format = regexp.MustCompile(`^k2:[a-z2-7]{26}$`)

func TestPseudonymDeterministicAndFormatted(t *testing.T) {
	r := mustRing(t, mustKey(t, "k2", 1))
	p := r.Pseudonym(User, "ai_training", "u-42")
	require.Regexp(t, format, p)
	require.Equal(t, p, r.Pseudonym(User, "ai_training", "u-42"))
	// A second keyring from the same material gives the same pseudonym.
	require.Equal(t, p, mustRing(t, mustKey(t, "k2", 1)).Pseudonym(User, "ai_training", "u-42"))
	// Another key of the same id gives another one.
	require.NotEqual(t, p, mustRing(t, mustKey(t, "k2", 2)).Pseudonym(User, "ai_training", "u-42"))
}

func TestDomainSeparation(t *testing.T) {
	r := mustRing(t, mustKey(t, "k2", 1))
	seen := map[string]string{}
	for _, c := range []struct {
		kind        Kind
		purpose, id string
	}{
		{User, "ai_training", "42"},
		{Tenant, "ai_training", "42"},
		{Session, "ai_training", "42"},
		{User, "analytics", "42"},
		{User, "ai_training", "43"},
		// Boundary shifts between parts must not collide.
		{User, "ai_training4", "2"},
		{User, "ai_", "training42"},
		{User, "", "ai_training42"},
	} {
		p := r.Pseudonym(c.kind, c.purpose, c.id)
		name := fmt.Sprintf("%s/%s/%s", c.kind, c.purpose, c.id)
		prev, dup := seen[p]
		require.False(t, dup, "%s collides with %s", name, prev)
		seen[p] = name
	}
}

func TestRotationKeepsOldPseudonymsForErasures(t *testing.T) {
	k1, k2 := mustKey(t, "k1", 1), mustKey(t, "k2", 2)
	before := mustRing(t, k1)
	after := mustRing(t, k2, k1)

	old := before.Pseudonym(User, "ai_training", "u-7")
	cur := after.Pseudonym(User, "ai_training", "u-7")
	require.True(t, strings.HasPrefix(old, "k1:"))
	require.True(t, strings.HasPrefix(cur, "k2:"))
	require.NotEqual(t, old[3:], cur[3:], "new pseudonyms are unlinkable to old ones")
	require.Equal(t, []string{cur, old}, after.Pseudonyms(User, "ai_training", "u-7"))
	require.Equal(t, "k2", after.ActiveID())
	require.Equal(t, []string{"k2", "k1"}, after.IDs())
}

func TestNewKeyValidates(t *testing.T) {
	_, err := NewKey("k1", make([]byte, 31))
	require.ErrorContains(t, err, "at least 32")
	_, err = NewKey("k1", bytes.Repeat([]byte{7}, 32))
	require.ErrorContains(t, err, "repeated byte")
	_, err = NewKey("k:1", secret(1))
	require.ErrorContains(t, err, "key id")
	_, err = NewKey("", secret(1))
	require.Error(t, err)
	_, err = New(mustKey(t, "k1", 1), mustKey(t, "k1", 2))
	require.ErrorContains(t, err, "twice")
	_, err = New(Key{})
	require.Error(t, err)
}

func b64(seed byte) string { return base64.StdEncoding.EncodeToString(secret(seed)) }

func TestParseForms(t *testing.T) {
	want := mustRing(t, mustKey(t, "k2", 2), mustKey(t, "k1", 1)).Pseudonyms(Tenant, "p", "t")

	lines := "# rotated 2024-05\n\nk2:" + b64(2) + "\n k1 : " + base64.RawURLEncoding.EncodeToString(secret(1)) + "\n"
	r, err := Parse(lines)
	require.NoError(t, err)
	require.Equal(t, want, r.Pseudonyms(Tenant, "p", "t"))

	js, _ := json.Marshal(map[string]any{"active": "k2", "keys": map[string]string{"k1": b64(1), "k2": b64(2)}})
	r, err = Parse(string(js))
	require.NoError(t, err)
	require.Equal(t, want, r.Pseudonyms(Tenant, "p", "t"))

	r, err = ParseList("k2:" + b64(2) + ", k1:" + b64(1))
	require.NoError(t, err)
	require.Equal(t, want, r.Pseudonyms(Tenant, "p", "t"))

	path := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(path, []byte(lines), 0o600))
	r, warning, err := LoadFile(path)
	require.NoError(t, err)
	require.Empty(t, warning)
	require.Equal(t, want, r.Pseudonyms(Tenant, "p", "t"))

	// Readable by others: loaded, with a warning; writable by others: refused.
	require.NoError(t, os.Chmod(path, 0o644))
	_, warning, err = LoadFile(path)
	require.NoError(t, err)
	require.Contains(t, warning, "readable by group or others (mode 0644)")
	require.NoError(t, os.Chmod(path, 0o666))
	_, _, err = LoadFile(path)
	require.ErrorContains(t, err, "writable by group or others")
}

func TestParseErrorsNeverShowKeyMaterial(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789"))
	for name, text := range map[string]string{
		"short":      "k1:" + short,
		"not base64": "k1:" + b64(1) + "!!",
		"no colon":   b64(1),
		"empty":      "\n# nothing\n",
		"dup":        "k1:" + b64(1) + "\nk1:" + b64(2),
		"json bad":   `{"active": "k1", "keys": {"k1": "` + b64(1) + `"`,
		"json field": `{"active": "k1", "keys": {"k1": "` + b64(1) + `"}, "secret": "` + b64(3) + `"}`,
		"json miss":  `{"active": "k9", "keys": {"k1": "` + b64(1) + `"}}`,
	} {
		_, err := Parse(text)
		require.Error(t, err, name)
		for _, s := range []string{short, b64(1), b64(2), b64(3)} {
			require.NotContains(t, err.Error(), s, name)
			require.NotContains(t, err.Error(), s[:12], name)
		}
	}
	_, err := ParseList("")
	require.Error(t, err)
}

func TestKeyMaterialNeverInLogsOrFormatting(t *testing.T) {
	raw := secret(9)
	k, err := NewKey("k9", raw)
	require.NoError(t, err)
	r := mustRing(t, k)
	eph, err := Ephemeral()
	require.NoError(t, err)

	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	log.Info("keyring", zap.Any("keyring", r), zap.Any("ring value", *r), zap.Any("key", k),
		zap.Stringer("ring", r), zap.Any("eph", eph), zap.Reflect("reflect", r))
	log.Sugar().Infof("%v %+v %#v %x %X %s %q %v", r, *r, k, k, r, k, *r, []Key{k})

	var all strings.Builder
	for _, e := range logs.All() {
		all.WriteString(e.Message)
		for _, v := range e.ContextMap() {
			fmt.Fprintf(&all, " %v", v)
		}
	}
	js, _ := json.Marshal(map[string]any{"r": r, "k": k})
	all.Write(js)
	fmt.Fprintf(&all, "%v %+v %#v %x %s", k, k, k, k, r)
	out := all.String()
	require.Contains(t, out, "k9")
	for _, enc := range []string{string(raw), fmt.Sprintf("%x", raw), fmt.Sprintf("%X", raw),
		base64.StdEncoding.EncodeToString(raw), fmt.Sprint(raw), fmt.Sprintf("%q", raw)} {
		require.NotContains(t, out, enc)
	}
	// A few bytes of the secret in hex must not appear either.
	require.NotContains(t, out, fmt.Sprintf("%x", raw[:6]))
}

func TestEphemeralIsRandom(t *testing.T) {
	a, err := Ephemeral()
	require.NoError(t, err)
	b, err := Ephemeral()
	require.NoError(t, err)
	require.Regexp(t, `^eph[0-9a-f]{6}$`, a.ActiveID())
	require.NotEqual(t, a.Pseudonym(User, "p", "u")[10:], b.Pseudonym(User, "p", "u")[10:])
}

func TestConcurrentUse(t *testing.T) {
	r := mustRing(t, mustKey(t, "k2", 2), mustKey(t, "k1", 1))
	want := r.Pseudonym(User, "p", "u")
	done := make(chan bool)
	for range 4 {
		go func() {
			ok := true
			for range 500 {
				ok = ok && r.Pseudonym(User, "p", "u") == want
			}
			done <- ok
		}()
	}
	for range 4 {
		require.True(t, <-done)
	}
}

// TestPseudonymAllocatesOnlyItsString: the anonymizer computes several
// pseudonyms per event; the HMAC's message and sum buffers are pooled with it,
// so a pseudonym costs one allocation, its string (and stays the same).
var pseudonymSink string

func TestPseudonymAllocatesOnlyItsString(t *testing.T) {
	r := mustRing(t, mustKey(t, "k2", 2))
	want := r.PseudonymIn(User, "ai_training", "tenant-1", "user-1234567")
	allocs := testing.AllocsPerRun(200, func() {
		pseudonymSink = r.PseudonymIn(User, "ai_training", "tenant-1", "user-1234567")
	})
	require.Equal(t, want, pseudonymSink)
	require.Equal(t, 1.0, allocs)
}

func BenchmarkPseudonym(b *testing.B) {
	k, _ := NewKey("k2", secret(2))
	r, _ := New(k)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Pseudonym(User, "ai_training", "user-1234567")
	}
}

// The documented derivation (docs/ARCHITECTURE.md, Unlinkability) has a known
// answer that e2e/eventids_test.go and e2e/oracle_test.py compute on their own:
// the e2e checks map curated event ids back to raw ones with it.
func TestCuratedEventIDKnownAnswer(t *testing.T) {
	k, err := NewKey("k1", []byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	require.Equal(t, "k1:vi2ta3xbwq2yh5so363f6lfwqq",
		mustRing(t, k).PseudonymIn(Event, "ai_training", "acme", "3f1c0d9e-0000-4000-8000-000000000001"))
}

// A JSON keyring is one object: a second object or stray data after it (a
// botched edit, two secrets concatenated) is refused, not silently ignored.
func TestParseJSONIsOneValue(t *testing.T) {
	one := `{"active": "k1", "keys": {"k1": "` + b64(1) + `"}}`
	_, err := Parse(one + "\n")
	require.NoError(t, err)
	for _, text := range []string{one + `{"active": "k2", "keys": {"k2": "` + b64(2) + `"}}`, one + " 0"} {
		_, err := Parse(text)
		require.Error(t, err, text)
	}
}
