package api

import (
	"net/http"

	"github.com/consentflow/consentflow/pkg/auth"
)

// Token scopes of the dataset API (SINK_TOKENS, pkg/auth format).
const (
	ScopeRead  = "datasets:read"
	ScopeWrite = "datasets:write"
)

// guard wraps API handlers in scope checks: pkg/auth's RequireUnbound (401
// without a valid bearer token, 403 without the scope, and 403 for a token
// bound to a tenant: snapshots hold every tenant's rows, so a tenant's token
// can read none of them). With no tokens configured the API is open;
// Config.Validate allows that only on a loopback address.
type guard struct{ tokens *auth.Tokens }

// anonymous reports whether the API runs without tokens.
func (g guard) anonymous() bool { return g.tokens == nil || g.tokens.Len() == 0 }

// require returns h behind a check for scope.
func (g guard) require(scope string, h http.HandlerFunc) http.Handler {
	if g.anonymous() {
		return h
	}
	return g.tokens.RequireUnbound(scope, h)
}
