package producer

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"
)

// ScopeEventsWrite is the scope POST /v1/events requires.
const ScopeEventsWrite = "events:write"

// WriteKey is a configured Segment write key, kept only as its SHA-256.
type WriteKey struct {
	// Name identifies the key in logs instead of the key itself.
	Name string
	// Tenant the key is bound to ("" = unbound).
	Tenant string
	hash   [sha256.Size]byte
}

// WriteKeys is a set of hashed Segment write keys. Lookup hashes the presented
// key and compares it with every entry in constant time.
type WriteKeys struct{ list []WriteKey }

// Lookup returns the write key presented, or nil.
func (ks *WriteKeys) Lookup(presented string) *WriteKey {
	if ks == nil || presented == "" {
		return nil
	}
	h := sha256.Sum256([]byte(presented))
	var found *WriteKey
	for i := range ks.list {
		if subtle.ConstantTimeCompare(h[:], ks.list[i].hash[:]) == 1 {
			found = &ks.list[i]
		}
	}
	return found
}

// Len is the number of configured keys.
func (ks *WriteKeys) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.list)
}

// HashSecret returns the "sha256:<hex>" form of a secret, for configuration.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(h[:])
}

// ParseWriteKeys parses SEGMENT_WRITE_KEYS: comma-separated entries
// NAME:sha256:<64 hex>[=TENANT] or NAME:plain:<key>[=TENANT] (the plain form, for
// demos, is hashed here and not kept). NAME appears in logs instead of the key. A
// key bound to a TENANT stamps it on its events and rejects events naming another.
func ParseWriteKeys(s string) (*WriteKeys, error) {
	ks := &WriteKeys{}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		cred, tenant, bound := strings.Cut(entry, "=")
		name, secret, ok := strings.Cut(cred, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("write key %d: want NAME:sha256:<hex>[=TENANT] or NAME:plain:<key>[=TENANT]", i+1)
		}
		k := WriteKey{Name: name}
		switch {
		case strings.HasPrefix(secret, "sha256:"):
			b, err := hex.DecodeString(strings.TrimPrefix(secret, "sha256:"))
			if err != nil || len(b) != sha256.Size {
				// Never echo the entry: it may be a key pasted in the wrong form.
				return nil, fmt.Errorf("write key %s: sha256 hash must be 64 hex digits", name)
			}
			copy(k.hash[:], b)
		case strings.HasPrefix(secret, "plain:") && len(secret) > len("plain:"):
			k.hash = sha256.Sum256([]byte(strings.TrimPrefix(secret, "plain:")))
		default:
			return nil, fmt.Errorf("write key %s: want sha256:<hex> or plain:<key> after the name", name)
		}
		if bound {
			if k.Tenant = strings.TrimSpace(tenant); k.Tenant == "" {
				return nil, fmt.Errorf("write key %s: empty tenant after '='", name)
			}
		}
		ks.list = append(ks.list, k)
	}
	return ks, nil
}
