package datasetsink

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// Token scopes.
const (
	ScopeRead  = "datasets:read"
	ScopeWrite = "datasets:write"
)

// tokenSet holds sha256 hashes of bearer tokens and their scopes.
type tokenSet struct {
	tokens    []scopedHash
	anonymous bool // no tokens configured: loopback development mode
}

type scopedHash struct {
	hash   [32]byte
	scopes []string
}

func newTokenSet(read, write []string) (*tokenSet, error) {
	ts := &tokenSet{}
	for _, t := range read {
		h, err := tokenHash(t)
		if err != nil {
			return nil, err
		}
		ts.tokens = append(ts.tokens, scopedHash{h, []string{ScopeRead}})
	}
	for _, t := range write {
		h, err := tokenHash(t)
		if err != nil {
			return nil, err
		}
		ts.tokens = append(ts.tokens, scopedHash{h, []string{ScopeRead, ScopeWrite}})
	}
	ts.anonymous = len(ts.tokens) == 0
	return ts, nil
}

// scopes returns the scopes of the request's bearer token; ok is false when
// there is no valid token. Every configured hash is compared in constant time.
func (ts *tokenSet) scopes(r *http.Request) ([]string, bool) {
	if ts.anonymous {
		return []string{ScopeRead, ScopeWrite}, true
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return nil, false
	}
	h := sha256.Sum256([]byte(tok))
	var found []string
	for _, t := range ts.tokens {
		if subtle.ConstantTimeCompare(h[:], t.hash[:]) == 1 {
			found = t.scopes
		}
	}
	return found, found != nil
}

// require wraps h so that it runs only for a token with scope: 401 without a
// valid token, 403 with one lacking the scope.
func (ts *tokenSet) require(scope string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		scopes, ok := ts.scopes(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="consentflow datasets"`)
			httpError(w, http.StatusUnauthorized, "missing or invalid bearer token")
			return
		}
		for _, s := range scopes {
			if s == scope {
				h(w, r)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+scope+`"`)
		httpError(w, http.StatusForbidden, "token lacks scope "+scope)
	}
}
