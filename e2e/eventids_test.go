package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"testing"
)

// curatedEventID is the curated event_id of a raw event as docs/ARCHITECTURE.md
// defines it (Unlinkability), written here from the documentation, not from the
// anonymizer's code: "<key id>:" and the lower-case base32 (no padding) of the
// first 16 bytes of HMAC-SHA256 under the pseudonym key of
// "consentflow/pseudonym/v1" followed by the length-prefixed (uvarint) parts
// "event", purpose, event id, tenant.
func curatedEventID(keyID string, secret []byte, purpose, tenant, eventID string) string {
	msg := []byte("consentflow/pseudonym/v1")
	parts := []string{"event", purpose, eventID}
	if tenant != "" {
		parts = append(parts, tenant)
	}
	for _, p := range parts {
		msg = binary.AppendUvarint(msg, uint64(len(p)))
		msg = append(msg, p...)
	}
	m := hmac.New(sha256.New, secret)
	m.Write(msg)
	enc := base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
	return keyID + ":" + enc.EncodeToString(m.Sum(nil)[:16])
}

// rawEventIDs maps the curated event_id of every event of the truth file back
// to its raw id (the chain's key is "k1", see pkg/launch).
func rawEventIDs(tr *truth, keyB64, purpose string) (map[string]string, error) {
	secret, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil {
		return nil, fmt.Errorf("pseudonym key: %w", err)
	}
	out := make(map[string]string, len(tr.events))
	for _, e := range tr.events {
		out[curatedEventID("k1", secret, purpose, e.TenantID, e.EventID)] = e.EventID
	}
	return out, nil
}

// A known answer shared with e2e/oracle_test.py and the anonymizer's keyring
// test: three implementations of the documented derivation agree.
func TestCuratedEventIDKnownAnswer(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	got := curatedEventID("k1", secret, "ai_training", "acme", "3f1c0d9e-0000-4000-8000-000000000001")
	if got != curatedEventIDVector {
		t.Fatalf("curated event id %s, want %s", got, curatedEventIDVector)
	}
}

const curatedEventIDVector = "k1:vi2ta3xbwq2yh5so363f6lfwqq"

// The leak scan finds a value in the forms a reader decodes back to it: JSON
// escapes of non-ASCII letters and percent-encoding.
func TestNeedlesFindEscapedForms(t *testing.T) {
	n := newNeedles()
	n.add("kept_probe", "Jürgen Müller")
	n.add("kept_probe", "bob.jones@example.org")
	for _, text := range []string{
		`{"author":"J\u00fcrgen M\u00fcller"}`,
		`{"author":"J\u00FCrgen M\u00FCller"}`,
		`https://x.example/?to=bob.jones%40example.org`,
		`https://x.example/?name=J%C3%BCrgen+M%C3%BCller`,
		`https://x.example/u/J%C3%BCrgen%20M%C3%BCller`,
	} {
		if hits := n.scan("t", []byte(text), 5); len(hits) != 1 {
			t.Errorf("%s: %d hits, want 1", text, len(hits))
		}
	}
	if hits := n.scan("t", []byte(`{"author":"<PERSON>","to":"<EMAIL_ADDRESS>"}`), 5); len(hits) != 0 {
		t.Errorf("redacted text: %v", hits)
	}
}
