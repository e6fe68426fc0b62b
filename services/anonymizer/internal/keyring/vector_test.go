package keyring

import (
	"strings"
	"testing"
)

// TestPseudonymKnownAnswers pins the derivation, so that no refactoring changes
// the pseudonyms already in datasets and erasure ledgers (which would stop
// erasures from matching them). The expected values were computed outside Go,
// with Python's hmac and base64 modules, from the documented rule:
//
//	"k<id>:" + lowercase unpadded base32 of the first 16 bytes of
//	HMAC-SHA256(key, "consentflow/pseudonym/v1" ‖ uvarint(len kind) ‖ kind ‖
//	             uvarint(len purpose) ‖ purpose ‖ uvarint(len id) ‖ id)
//
// (the third case has an id of 202 bytes: a two-byte length).
func TestPseudonymKnownAnswers(t *testing.T) {
	seq := func(from, n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(from + i)
		}
		return b
	}
	for _, c := range []struct {
		keyID         string
		secret        []byte
		kind          Kind
		purpose, id   string
		wantPseudonym string
	}{
		{"k1", seq(0, 32), User, "ai_training", "usr_1111", "k1:mlvb2hwkly7txaj2vbfn7lr7dm"},
		{"k1", seq(0, 32), Tenant, "ai_training", "org_acme", "k1:zb3yc5mie72o6fx7hfyrh2yvdm"},
		{"k2", seq(100, 64), Session, "analytics", "s-" + strings.Repeat("x", 200), "k2:yzwpvzqnfd6hoxf6rp3zo6pzem"},
		{"k1", seq(0, 32), User, "ai_training", "anna.müller@example.com", "k1:jw5owi5rvwpzutqlounljmyidy"},
	} {
		k, err := NewKey(c.keyID, c.secret)
		if err != nil {
			t.Fatal(err)
		}
		kr, err := New(k)
		if err != nil {
			t.Fatal(err)
		}
		if got := kr.Pseudonym(c.kind, c.purpose, c.id); got != c.wantPseudonym {
			t.Errorf("%s %s %.20q: %s, want %s", c.kind, c.purpose, c.id, got, c.wantPseudonym)
		}
	}
}
