package keyring

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/strictjson"
)

// Parse reads a keyring from the text of a keyring file: JSON
// {"active": id, "keys": {id: base64}} or lines "id:base64", the first active.
// Errors name key ids and line numbers, never key material.
func Parse(text string) (*Keyring, error) {
	trimmed := strings.TrimSpace(text)
	if strings.HasPrefix(trimmed, "{") {
		return parseJSON(trimmed)
	}
	var entries []string
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		entries = append(entries, line)
	}
	return parseEntries(entries, "line")
}

// ParseList reads a keyring from the environment form "id:base64,id:base64", the
// first active.
func ParseList(list string) (*Keyring, error) {
	var entries []string
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			entries = append(entries, e)
		}
	}
	return parseEntries(entries, "entry")
}

// LoadFile reads a keyring file (see Parse). A file group or others may write
// is refused (config.CheckSecretFile); warning is set when they may read it.
func LoadFile(path string) (kr *Keyring, warning string, err error) {
	warning, err = config.CheckSecretFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("keyring file: %w", err)
	}
	kr, err = loadFile(path)
	return kr, warning, err
}

func loadFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read keyring file: %w", err)
	}
	r, err := Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("keyring file %s: %w", path, err)
	}
	return r, nil
}

// Ephemeral returns a keyring of one freshly generated random key, for demos and
// tests: its pseudonyms cannot be recomputed after the process ends. The key id is
// "eph" and 6 random hex digits.
func Ephemeral() (*Keyring, error) {
	var idb [3]byte
	secret := make([]byte, MinKeyBytes)
	if _, err := rand.Read(idb[:]); err != nil {
		return nil, fmt.Errorf("generate ephemeral key id: %w", err)
	}
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("generate ephemeral key: %w", err)
	}
	k, err := NewKey("eph"+hex.EncodeToString(idb[:]), secret)
	if err != nil {
		return nil, err
	}
	return New(k)
}

func parseEntries(entries []string, what string) (*Keyring, error) {
	if len(entries) == 0 {
		return nil, errors.New("no keys")
	}
	keys := make([]Key, 0, len(entries))
	for i, e := range entries {
		id, b64, ok := strings.Cut(e, ":")
		if !ok {
			return nil, fmt.Errorf("%s %d: want id:base64", what, i+1)
		}
		k, err := decodeKey(strings.TrimSpace(id), strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("%s %d: %w", what, i+1, err)
		}
		keys = append(keys, k)
	}
	return New(keys[0], keys[1:]...)
}

type fileJSON struct {
	Active string            `json:"active"`
	Keys   map[string]string `json:"keys"`
}

func parseJSON(text string) (*Keyring, error) {
	var f fileJSON
	if err := strictjson.Decode(strings.NewReader(text), &f); err != nil {
		// json errors can quote offending input; say only where.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("keyring JSON: syntax error at offset %d", se.Offset)
		}
		return nil, errors.New("keyring JSON: want {\"active\": id, \"keys\": {id: base64}}")
	}
	if f.Active == "" {
		return nil, errors.New("keyring JSON: no active key id")
	}
	b64, ok := f.Keys[f.Active]
	if !ok {
		return nil, fmt.Errorf("keyring JSON: active key %s is not in keys", f.Active)
	}
	active, err := decodeKey(f.Active, b64)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(f.Keys))
	for id := range f.Keys {
		if id != f.Active {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids) // retained keys in a stable order
	var retained []Key
	for _, id := range ids {
		k, err := decodeKey(id, f.Keys[id])
		if err != nil {
			return nil, err
		}
		retained = append(retained, k)
	}
	return New(active, retained...)
}

var encodings = []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}

// decodeKey decodes standard or URL base64, padded or not.
func decodeKey(id, b64 string) (Key, error) {
	if !idPattern.MatchString(id) {
		return Key{}, errors.New("key id must be 1-32 characters of A-Z a-z 0-9 _ . -")
	}
	for _, enc := range encodings {
		if secret, err := enc.DecodeString(b64); err == nil {
			return NewKey(id, secret)
		}
	}
	return Key{}, fmt.Errorf("key %s: secret is not base64", id)
}
