package keyring

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strings"
	"sync"
)

// Kind separates the domains of pseudonyms: the same id under two kinds gives two
// unrelated pseudonyms.
type Kind string

// Kinds of pseudonym.
const (
	// User is a user id (and, in data pseudonymized before subjects had kinds,
	// an anonymous id too).
	User Kind = "user"
	// Anonymous is an anonymous id (Segment anonymousId), the subject of
	// anonymous traffic.
	Anonymous Kind = "anonymous"
	// Tenant is the customer organisation.
	Tenant Kind = "tenant"
	// Session is a product session.
	Session Kind = "session"
	// Event is an event id: the curated event_id is its pseudonym, keyed
	// per purpose (and tenant), so that two purposes' datasets, and a
	// dataset and the consent audit trail, share no event id to join on.
	Event Kind = "event"
)

// MinKeyBytes is the least key length accepted.
const MinKeyBytes = 32

// truncBytes is the length of the truncated MAC in a pseudonym (128 bits).
const truncBytes = 16

// domainTag starts every MAC message; bump it if the message layout changes.
const domainTag = "consentflow/pseudonym/v1"

var (
	idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,32}$`)
	encoding  = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
)

// Key is one pseudonymization key: an id and its secret. Its secret never leaves
// the package; every formatting verb prints the id only.
type Key struct {
	id   string
	pool *sync.Pool // of *macState keyed with the secret
}

// macState is an HMAC keyed with a Key's secret and the buffers of one MAC,
// pooled together so that a pseudonym costs no allocation but its string.
type macState struct {
	h   hash.Hash
	msg []byte
	sum [sha256.Size]byte
}

// NewKey validates id and secret and returns the key. The secret is copied.
func NewKey(id string, secret []byte) (Key, error) {
	if !idPattern.MatchString(id) {
		return Key{}, errors.New("key id must be 1-32 characters of A-Z a-z 0-9 _ . -")
	}
	if len(secret) < MinKeyBytes {
		return Key{}, fmt.Errorf("key %s: %d bytes, need at least %d", id, len(secret), MinKeyBytes)
	}
	if weak(secret) {
		return Key{}, fmt.Errorf("key %s: secret is a repeated byte, not random", id)
	}
	s := append([]byte(nil), secret...)
	return Key{id: id, pool: &sync.Pool{New: func() any { return &macState{h: hmac.New(sha256.New, s), msg: make([]byte, 0, 128)} }}}, nil
}

func weak(secret []byte) bool {
	for _, b := range secret[1:] {
		if b != secret[0] {
			return false
		}
	}
	return true
}

// ID returns the key id.
func (k Key) ID() string { return k.id }

// String returns the key id and a redaction mark, never the secret.
func (k Key) String() string { return "key(" + k.id + ", secret redacted)" }

// GoString is String, so that %#v does not print the secret either.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb, so that no verb (%x, %+v, ...) reaches the
// secret.
func (k Key) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// MarshalText marshals the key as String, for JSON and text encoders.
func (k Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// mac appends the pseudonym of (kind, purpose, id) under k to dst, or of
// (kind, purpose, id, tenant) for an id scoped to tenant: the parts are
// length-prefixed, so a three-part message never equals a four-part one.
func (k Key) mac(dst []byte, kind Kind, purpose, tenant, id string) []byte {
	st := k.pool.Get().(*macState)
	defer k.pool.Put(st)
	h := st.h
	h.Reset()
	msg := append(st.msg[:0], domainTag...)
	parts := [...]string{string(kind), purpose, id, tenant}
	n := 3
	if tenant != "" {
		n = 4
	}
	for _, part := range parts[:n] {
		msg = binary.AppendUvarint(msg, uint64(len(part)))
		msg = append(msg, part...)
	}
	st.msg = msg
	h.Write(msg)
	out := h.Sum(st.sum[:0])
	dst = append(dst, k.id...)
	dst = append(dst, ':')
	return encoding.AppendEncode(dst, out[:truncBytes])
}

// Keyring is an active key and the retained keys still needed to name old
// pseudonyms. It is immutable and safe for concurrent use.
type Keyring struct {
	keys []Key // keys[0] is active
}

// New returns a keyring with active as the active key and retained as the keys
// kept for erasures. Ids must be distinct.
func New(active Key, retained ...Key) (*Keyring, error) {
	keys := append([]Key{active}, retained...)
	seen := map[string]bool{}
	for _, k := range keys {
		if k.pool == nil {
			return nil, errors.New("keyring: zero Key; use NewKey")
		}
		if seen[k.id] {
			return nil, fmt.Errorf("keyring: key id %s appears twice", k.id)
		}
		seen[k.id] = true
	}
	return &Keyring{keys: keys}, nil
}

// ActiveID returns the id of the active key.
func (r *Keyring) ActiveID() string { return r.keys[0].id }

// IDs returns the key ids, active first.
func (r *Keyring) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	return ids
}

// Pseudonym returns the pseudonym of a global id (or a tenant's id) of the
// given kind for purpose under the active key.
func (r *Keyring) Pseudonym(kind Kind, purpose, id string) string {
	return r.PseudonymIn(kind, purpose, "", id)
}

// PseudonymIn returns the pseudonym of id scoped to tenant (the tenant is
// part of the MAC input, so the same id in two tenants gets two unrelated
// pseudonyms); an empty tenant is Pseudonym.
func (r *Keyring) PseudonymIn(kind Kind, purpose, tenant, id string) string {
	var buf [64]byte
	return string(r.keys[0].mac(buf[:0], kind, purpose, tenant, id))
}

// Pseudonyms returns the pseudonyms of a global id under every key, active
// first: every name under which the subject's rows may exist in retained data.
func (r *Keyring) Pseudonyms(kind Kind, purpose, id string) []string {
	return r.PseudonymsIn(kind, purpose, "", id)
}

// PseudonymsIn is Pseudonyms for an id scoped to tenant.
func (r *Keyring) PseudonymsIn(kind Kind, purpose, tenant, id string) []string {
	out := make([]string, len(r.keys))
	var buf [64]byte
	for i, k := range r.keys {
		out[i] = string(k.mac(buf[:0], kind, purpose, tenant, id))
	}
	return out
}

// String lists the key ids, never the secrets.
func (r Keyring) String() string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	if len(ids) == 0 {
		return "keyring()"
	}
	return "keyring(active " + ids[0] + ", retained [" + strings.Join(ids[1:], " ") + "], secrets redacted)"
}

// GoString is String.
func (r Keyring) GoString() string { return r.String() }

// Format prints String for every verb.
func (r Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(r.String())) }

// MarshalText marshals the keyring as String.
func (r Keyring) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
