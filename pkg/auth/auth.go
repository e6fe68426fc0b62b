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
//
// # Tenant binding
//
// An entry may end with options after ';'. ";tenant=TENANT" binds the
// credential to one tenant (TENANT percent-encoded as a URL path segment, so
// any tenant id can be written): it may then only read and write that tenant
// and its users, and only ingest that tenant's events; anything else is
// refused with 403 and the reason (CheckTenant). Unbound credentials are for
// trusted backends that act for every tenant; services log their names once
// at start (Unbound).
//
//	settings-ui:sha256:9f86d0...=consent:read|consent:write;tenant=acme
//
// Segment write keys (ParseWriteKeys) take the same options plus ";browser"
// (a key embedded in web pages: its events get the key's tenant and
// ";jurisdiction=XX", or no jurisdiction, i.e. the policy's default regime,
// never what the client claims) and ";origins=https://app.example.com|..."
// (the web origins whose pages may use a browser key, for CORS; "*" for any).
// The same format serves other analytics keys (Amplitude API keys, Mixpanel
// project tokens).
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
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
	cred Credential
	hash [sha256.Size]byte
}

// ParseTokens parses a token list; an empty list admits nobody.
func ParseTokens(spec string) (*Tokens, error) {
	t := &Tokens{}
	for i, raw := range strings.Split(spec, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		raw, optText, _ := strings.Cut(raw, ";")
		eq := strings.LastIndex(raw, "=")
		if eq < 0 {
			return nil, fmt.Errorf("token %d: want NAME:HASH=SCOPES", i+1)
		}
		cred, scopes := raw[:eq], raw[eq+1:]
		name, secret, ok := strings.Cut(cred, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("token %d: want NAME:HASH=SCOPES", i+1)
		}
		e := entry{cred: Credential{Name: name, scopes: map[string]bool{}}}
		h, err := parseSecret("token", name, secret, 8)
		if err != nil {
			return nil, err
		}
		e.hash = h
		for _, s := range strings.Split(scopes, "|") {
			if s = strings.TrimSpace(s); s != "" {
				e.cred.scopes[s] = true
			}
		}
		if len(e.cred.scopes) == 0 {
			return nil, fmt.Errorf("token %s: no scopes", name)
		}
		if err := parseOptions(&e.cred, "token", optText, false); err != nil {
			return nil, err
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
	c := t.Lookup(token)
	if c == nil {
		return "", false, false
	}
	return c.Name, true, c.HasScope(scope)
}

// Lookup returns the credential of token, or nil for an unknown token. Every
// entry is compared in constant time.
func (t *Tokens) Lookup(token string) *Credential {
	if t == nil {
		return nil
	}
	h := sha256.Sum256([]byte(token))
	match := -1
	for i := range t.entries {
		if subtle.ConstantTimeCompare(h[:], t.entries[i].hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return nil
	}
	c := t.entries[match].cred
	return &c
}

// Unbound returns the names of the credentials not bound to a tenant, for
// the start-up log.
func (t *Tokens) Unbound() []string {
	var out []string
	if t == nil {
		return nil
	}
	for _, e := range t.entries {
		if !e.cred.Bound() {
			out = append(out, e.cred.Name)
		}
	}
	return out
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
// without the scope) and a JSON error body. next finds the credential with
// FromContext, and must check a bound credential's tenant (CheckTenant).
func (t *Tokens) Require(scope string, next http.Handler) http.Handler {
	return t.require(scope, false, next)
}

// RequireUnbound is Require for endpoints that act across tenants: a
// credential bound to a tenant gets 403 with the reason.
func (t *Tokens) RequireUnbound(scope string, next http.Handler) http.Handler {
	return t.require(scope, true, next)
}

func (t *Tokens) require(scope string, unbound bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := BearerToken(r)
		if !ok {
			unauthorized(w, "missing bearer token")
			return
		}
		c := t.Lookup(tok)
		if c == nil {
			unauthorized(w, "invalid token")
			return
		}
		if !c.HasScope(scope) {
			WriteError(w, http.StatusForbidden, "token lacks scope "+scope)
			return
		}
		if unbound && c.Bound() {
			WriteError(w, http.StatusForbidden, fmt.Sprintf("token %s is bound to tenant %q; this endpoint serves every tenant's data", c.Name, c.Tenant))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithCredential(r.Context(), c)))
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
