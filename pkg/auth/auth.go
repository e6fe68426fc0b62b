// Package auth checks scoped bearer tokens. Tokens are configured as SHA-256
// hashes (a plaintext form exists for the demo and is hashed at load), compared in
// constant time, and never logged.
//
// A token list is comma-separated entries NAME:HASH=SCOPES, where HASH is
// sha256:<64 hex> or plain:<token>, and SCOPES is scope names separated by "|":
//
//	ingest:sha256:9f86d0...=events:write,ops:plain:s3cret=consent:read|consent:write
//
// NAME identifies the token in logs and metrics instead of the token itself.
// Generate a hash with `printf %s "$TOKEN" | sha256sum`.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Tokens is a parsed token list.
type Tokens struct {
	entries []entry
}

type entry struct {
	name   string
	hash   [sha256.Size]byte
	scopes map[string]bool
}

// ParseTokens parses a token list; an empty list admits nobody.
func ParseTokens(spec string) (*Tokens, error) {
	t := &Tokens{}
	for i, raw := range strings.Split(spec, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		eq := strings.LastIndex(raw, "=")
		if eq < 0 {
			return nil, fmt.Errorf("token %d: want NAME:HASH=SCOPES", i+1)
		}
		cred, scopes := raw[:eq], raw[eq+1:]
		name, secret, ok := strings.Cut(cred, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("token %d: want NAME:HASH=SCOPES", i+1)
		}
		e := entry{name: name, scopes: map[string]bool{}}
		switch {
		case strings.HasPrefix(secret, "sha256:"):
			b, err := hex.DecodeString(strings.TrimPrefix(secret, "sha256:"))
			if err != nil || len(b) != sha256.Size {
				return nil, fmt.Errorf("token %s: sha256 hash must be 64 hex digits", name)
			}
			copy(e.hash[:], b)
		case strings.HasPrefix(secret, "plain:"):
			p := strings.TrimPrefix(secret, "plain:")
			if len(p) < 8 {
				return nil, fmt.Errorf("token %s: plaintext token shorter than 8 characters", name)
			}
			e.hash = sha256.Sum256([]byte(p))
		default:
			return nil, fmt.Errorf("token %s: hash must start with sha256: or plain: (see the package doc)", name)
		}
		for _, s := range strings.Split(scopes, "|") {
			if s = strings.TrimSpace(s); s != "" {
				e.scopes[s] = true
			}
		}
		if len(e.scopes) == 0 {
			return nil, fmt.Errorf("token %s: no scopes", name)
		}
		t.entries = append(t.entries, e)
	}
	return t, nil
}

// Len is the number of configured tokens.
func (t *Tokens) Len() int { return len(t.entries) }

// Check finds the token among the configured ones, comparing every entry in
// constant time, and returns its name and whether it carries scope. ok is false for
// an unknown token.
func (t *Tokens) Check(token, scope string) (name string, ok, allowed bool) {
	h := sha256.Sum256([]byte(token))
	match := -1
	for i := range t.entries {
		if subtle.ConstantTimeCompare(h[:], t.entries[i].hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return "", false, false
	}
	e := t.entries[match]
	return e.name, true, e.scopes[scope]
}

// BearerToken extracts the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// Require wraps next so that it runs only for a bearer token with scope; otherwise
// it answers 401 (missing or unknown token, with WWW-Authenticate) or 403 (token
// without the scope) and a JSON error body.
func (t *Tokens) Require(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := BearerToken(r)
		if !ok {
			unauthorized(w, "missing bearer token")
			return
		}
		_, known, allowed := t.Check(tok, scope)
		if !known {
			unauthorized(w, "invalid token")
			return
		}
		if !allowed {
			WriteError(w, http.StatusForbidden, "token lacks scope "+scope)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="consentflow"`)
	WriteError(w, http.StatusUnauthorized, msg)
}

// WriteError writes {"error": msg} with status.
func WriteError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
