package producer

import (
	"fmt"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/schema"
)

// ScopeEventsWrite is the scope POST /v1/events requires.
const ScopeEventsWrite = "events:write"

// WriteKeys are the Segment write keys (pkg/auth): hashed, optionally bound
// to a tenant, optionally browser keys.
type WriteKeys = auth.WriteKeys

// ParseWriteKeys parses SEGMENT_WRITE_KEYS (see auth.ParseWriteKeys).
func ParseWriteKeys(s string) (*WriteKeys, error) { return auth.ParseWriteKeys(s) }

// HashSecret returns the "sha256:<hex>" form of a secret, for configuration.
func HashSecret(secret string) string { return auth.HashSecret(secret) }

// bindEvent is what every ingest endpoint applies to each decoded event,
// after mapping its payload and before requiring the core fields: the
// credential's tenant binding and, for a browser key, what an untrusted
// client may not choose.
//
//   - A credential bound to a tenant stamps it on an event that names none,
//     and refuses (403, at tenantAt) an event that names another: it may only
//     ingest its own tenant's events.
//   - A browser key's events take their tenant from the key and their
//     jurisdiction from the key's configuration, or none (the policy's
//     default regime), never from the page: a page cannot choose an opt-out
//     regime for its visitors.
func bindEvent(cred *auth.Credential, ev *schema.InteractionEvent, tenantAt loc, p *problems) {
	if cred == nil {
		return
	}
	if cred.Bound() {
		switch {
		case ev.TenantID == "":
			ev.TenantID = cred.Tenant
		case ev.TenantID != cred.Tenant:
			p.forbid(tenantAt, "%s", fmt.Sprintf("credential %s is bound to tenant %q; this event names %q", cred.Name, cred.Tenant, ev.TenantID))
		}
	}
	if cred.Browser {
		ev.Jurisdiction = cred.Jurisdiction
	}
}
