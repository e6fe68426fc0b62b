// Package shred is crypto-shredding for events.curated: the anonymizer seals
// the content of each curated record (event type, free text, properties) under
// data keys of its subject and of its tenant, kept in Redis; an erasure replaces
// those keys with a tombstone, and every record sealed under them — already on
// the topic, read by any consumer group at any later time — can no longer be
// opened. docs/ARCHITECTURE.md ("A withdrawal and events.curated") is the
// contract; this file is the wire format, which e2e/oracle.py re-implements.
//
// Envelope (CuratedEvent.sealed):
//
//	0x01 | subject key generation (8) | tenant key generation (8) | nonce (12) | AES-256-GCM ciphertext and tag
//	0x00                                         content withheld: the subject was erased before curation
//
// The AES key is HKDF-SHA256 (RFC 5869) with secret = subject data key (32
// bytes) || tenant data key (32 bytes), salt "consentflow/curated/v1" and info
// the purpose, 32 bytes long: deleting either data key shreds the record, so a
// TENANT erasure shreds every subject of the tenant by replacing one key. The
// additional data is "consentflow/curated/v1" followed by the
// uvarint-length-prefixed purpose, subject pseudonym, tenant pseudonym and
// curated event id, so a sealed value moved to another record does not open.
// The plaintext is the JSON object {"event_type":…, "text":…, "properties":{…}}
// (text omitted when null).
package shred

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/consentflow/consentflow/pkg/schema"
)

// Format constants (see the package documentation).
const (
	Label        = "consentflow/curated/v1"
	VersionSeal  = 0x01
	VersionEmpty = 0x00
	KeySize      = 32
	GenSize      = 8
	nonceSize    = 12
	headerSize   = 1 + 2*GenSize + nonceSize
)

// ErrOpen is a sealed value that does not open with the keys it names: altered,
// or moved from another record.
var ErrOpen = errors.New("sealed content does not open (altered, or moved from another record)")

// Gen identifies one data key of a subject or tenant: a new key after an
// erasure has a new generation, so a reader tells "the key this record was
// sealed under is gone" from tampering.
type Gen [GenSize]byte

// content is the sealed plaintext.
type content struct {
	EventType  string            `json:"event_type"`
	Text       *string           `json:"text,omitempty"`
	Properties map[string]string `json:"properties"`
}

// aeadFor derives the record cipher from the two data keys.
func aeadFor(subjectKey, tenantKey []byte, purpose string) (cipher.AEAD, error) {
	if len(subjectKey) != KeySize || len(tenantKey) != KeySize {
		return nil, fmt.Errorf("data keys must be %d bytes", KeySize)
	}
	secret := make([]byte, 0, 2*KeySize)
	secret = append(append(secret, subjectKey...), tenantKey...)
	k, err := hkdf.Key(sha256.New, secret, []byte(Label), purpose, KeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// AAD is the additional data binding a sealed value to its record.
func AAD(purpose, subject, tenant, eventID string) []byte {
	out := []byte(Label)
	for _, p := range []string{purpose, subject, tenant, eventID} {
		out = binary.AppendUvarint(out, uint64(len(p)))
		out = append(out, p...)
	}
	return out
}

// seal moves e's content into e.Sealed under aead, with nonce (12 random
// bytes, never used twice).
func seal(e *schema.CuratedEvent, aead cipher.AEAD, sg, tg Gen, nonce []byte) {
	c := content{EventType: e.EventType, Properties: e.Properties}
	if c.Properties == nil {
		c.Properties = map[string]string{}
	}
	if e.Text != "" {
		c.Text = &e.Text
	}
	// One buffer: the plaintext after the room for the envelope, sealed in
	// place (GCM writes the ciphertext over the plaintext it has read).
	plainAt := headerSize
	buf := appendContent(make([]byte, plainAt, plainAt+256), &c)
	plainLen := len(buf) - plainAt
	buf = slices.Grow(buf, aead.Overhead())
	buf[0] = VersionSeal
	copy(buf[1:], sg[:])
	copy(buf[1+GenSize:], tg[:])
	copy(buf[1+2*GenSize:headerSize], nonce)
	out := aead.Seal(buf[:headerSize], buf[1+2*GenSize:headerSize], buf[plainAt:plainAt+plainLen], AAD(e.Purpose, e.Subject, e.Tenant, e.EventID))
	e.Sealed = out
	e.EventType, e.Text, e.Properties = "", "", nil
}

// withhold empties e's content: the record stays on the topic (its offset, its
// pseudonyms) but nobody can read what it said.
func withhold(e *schema.CuratedEvent) {
	e.Sealed = []byte{VersionEmpty}
	e.EventType, e.Text, e.Properties = "", "", nil
}

// gens reads the key generations a sealed value names.
func gens(sealed []byte) (sg, tg Gen, err error) {
	if len(sealed) < headerSize+16 || sealed[0] != VersionSeal {
		return sg, tg, fmt.Errorf("sealed content: unknown envelope (%d bytes, version %d)", len(sealed), first(sealed))
	}
	copy(sg[:], sealed[1:])
	copy(tg[:], sealed[1+GenSize:])
	return sg, tg, nil
}

func first(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// open restores e's content from e.Sealed under aead.
func open(e *schema.CuratedEvent, aead cipher.AEAD) error {
	s := e.Sealed
	plain, err := aead.Open(nil, s[1+2*GenSize:headerSize], s[headerSize:], AAD(e.Purpose, e.Subject, e.Tenant, e.EventID))
	if err != nil {
		return ErrOpen
	}
	var c content
	if err := json.Unmarshal(plain, &c); err != nil {
		return fmt.Errorf("sealed content: %w", err)
	}
	e.EventType, e.Properties = c.EventType, c.Properties
	if len(e.Properties) == 0 {
		e.Properties = nil
	}
	e.Text = ""
	if c.Text != nil {
		e.Text = *c.Text
	}
	e.Sealed = nil
	return nil
}
