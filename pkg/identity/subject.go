package identity

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"
)

// Kind is the kind of a consent subject.
type Kind string

const (
	// User is a product user id (Segment userId).
	User Kind = "user"
	// Anonymous is an anonymous id (Segment anonymousId), e.g. a browser
	// cookie before login. Its namespace is apart from user ids': user "7" and
	// anonymous id "7" are two subjects.
	Anonymous Kind = "anonymous"
	// Tenant is a customer organisation; its denial covers all its users.
	Tenant Kind = "tenant"
	// Legacy is a user record written before subjects had a tenant (no
	// tenant_id, no subject_scope): it may be any tenant's user or anonymous
	// id, so it is consulted for that id in every tenant and can only deny.
	Legacy Kind = "legacy"
)

// Scope says whether user (or anonymous) ids name the same person in every
// tenant (Global, e.g. a platform account id) or only within their tenant
// (TenantScoped, the default: many products number users per tenant).
type Scope string

const (
	// TenantScoped ids are unique within a tenant only: a subject is
	// (tenant, id).
	TenantScoped Scope = "tenant"
	// Global ids are unique across tenants: a subject is the id alone.
	Global Scope = "global"
)

// Valid reports whether s is TenantScoped or Global.
func (s Scope) Valid() bool { return s == TenantScoped || s == Global }

// Subject names one consent subject. Build it with Modes.Subject, TenantOf or
// LegacyOf; the zero Subject is invalid.
type Subject struct {
	Kind Kind
	// Tenant is the tenant of a tenant-scoped user or anonymous id; empty for
	// a global id, a tenant and a legacy record.
	Tenant string
	// ID is the user id, anonymous id, tenant id or legacy id.
	ID string
}

// TenantOf returns the subject of a tenant's own consent.
func TenantOf(id string) Subject { return Subject{Kind: Tenant, ID: id} }

// LegacyOf returns the subject of a pre-identity record for id.
func LegacyOf(id string) Subject { return Subject{Kind: Legacy, ID: id} }

// Scope returns the subject's scope: TenantScoped when it has a tenant.
func (s Subject) Scope() Scope {
	if s.Tenant != "" {
		return TenantScoped
	}
	return Global
}

// Valid reports whether the subject is well formed (not whether its ids
// pass Check).
func (s Subject) Valid() bool {
	switch s.Kind {
	case User, Anonymous:
		return s.ID != ""
	case Tenant, Legacy:
		return s.ID != "" && s.Tenant == ""
	}
	return false
}

func esc(s string) string { return url.PathEscape(s) }

// Code is the subject's canonical text, used in Kafka keys, Redis keys and
// invalidation messages: "user:<tenant>/<id>", "user:/<id>" (global),
// "anonymous:<tenant>/<id>", "tenant:<id>", "legacy:<id>", where tenant and
// id are percent-encoded as URL path segments (url.PathEscape). The encoding
// is injective: two subjects never share a code.
func (s Subject) Code() string {
	switch s.Kind {
	case Tenant, Legacy:
		return string(s.Kind) + ":" + esc(s.ID)
	}
	return string(s.Kind) + ":" + esc(s.Tenant) + "/" + esc(s.ID)
}

// String is Code.
func (s Subject) String() string { return s.Code() }

// ParseCode is the inverse of Code.
func ParseCode(code string) (Subject, error) {
	kind, rest, ok := strings.Cut(code, ":")
	if !ok {
		return Subject{}, fmt.Errorf("subject code %q: no kind", code)
	}
	unesc := func(part string) (string, error) {
		v, err := url.PathUnescape(part)
		if err != nil || esc(v) != part {
			return "", fmt.Errorf("subject code %q: %q is not canonically escaped", code, part)
		}
		return v, nil
	}
	var s Subject
	switch Kind(kind) {
	case Tenant, Legacy:
		id, err := unesc(rest)
		if err != nil {
			return Subject{}, err
		}
		s = Subject{Kind: Kind(kind), ID: id}
	case User, Anonymous:
		t, i, ok := strings.Cut(rest, "/")
		if !ok {
			return Subject{}, fmt.Errorf("subject code %q: want %s:<tenant>/<id>", code, kind)
		}
		tenant, err := unesc(t)
		if err != nil {
			return Subject{}, err
		}
		id, err := unesc(i)
		if err != nil {
			return Subject{}, err
		}
		s = Subject{Kind: Kind(kind), Tenant: tenant, ID: id}
	default:
		return Subject{}, fmt.Errorf("subject code %q: unknown kind %q", code, kind)
	}
	if !s.Valid() {
		return Subject{}, fmt.Errorf("subject code %q: empty id", code)
	}
	return s, nil
}

// ChangeKey is the consent.changes key of the subject's consent for purpose:
// Code + "/" + purpose, e.g. "user:acme/7/ai_training", "tenant:acme/ai_training".
// A tenant's key is the same as before subjects had tenants; a user key
// now always holds two '/', a pre-identity key ("user:<id>/<purpose>", ids
// without '/') exactly one, so old and new keys never collide.
func (s Subject) ChangeKey(purpose string) string { return s.Code() + "/" + purpose }

// Route is the partitioning key of the subject's records on consent.changes:
// every record of one tenant (its own consent, its tenant-scoped users' and
// anonymous ids', their links) shares it, so they land on one partition and
// their versions (offsets) are totally ordered. A global id routes by itself.
func (s Subject) Route() string {
	switch {
	case s.Kind == Tenant:
		return "tenant:" + esc(s.ID)
	case s.Tenant != "":
		return "tenant:" + esc(s.Tenant)
	}
	return s.Code()
}

// Link is an identity link between two subjects (an anonymous id and the user
// who logged in with it, or two user ids joined by an alias). Links are
// symmetric and permanent. Build it with NewLink, which orders the pair.
type Link struct{ A, B Subject }

// NewLink returns the link of a and b in canonical order (user before
// anonymous, then by code).
func NewLink(a, b Subject) Link {
	if linkOrder(a, b) > 0 {
		a, b = b, a
	}
	return Link{A: a, B: b}
}

func linkOrder(a, b Subject) int {
	rank := func(s Subject) int {
		if s.Kind == User {
			return 0
		}
		return 1
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	return strings.Compare(a.Code(), b.Code())
}

// Key is the link's consent.changes key: "link:" + A's code + "|" + B's code
// ('|' never occurs unescaped in a code).
func (l Link) Key() string { return "link:" + l.A.Code() + "|" + l.B.Code() }

// Route is the link's partitioning key: its first subject's (in tenant mode,
// the tenant both share).
func (l Link) Route() string { return l.A.Route() }

// EraseKey is the consent.changes key of a derived erasure request: subject s
// must be erased for purpose because of the change at trigger ("p:o").
func EraseKey(s Subject, purpose, trigger string) string {
	return "erase:" + s.Code() + "/" + purpose + "@" + trigger
}

// Modes are the policy's identity settings: the scope of user ids and of
// anonymous ids.
type Modes struct {
	UserIDs      Scope
	AnonymousIDs Scope
}

// DefaultModes scopes both user and anonymous ids to their tenant.
func DefaultModes() Modes { return Modes{UserIDs: TenantScoped, AnonymousIDs: TenantScoped} }

// Scope returns the scope of ids of kind (User or Anonymous).
func (m Modes) Scope(kind Kind) Scope {
	sc := m.UserIDs
	if kind == Anonymous {
		sc = m.AnonymousIDs
	}
	if sc == "" {
		return TenantScoped
	}
	return sc
}

// Subject returns the subject of a user or anonymous id seen in tenant.
func (m Modes) Subject(kind Kind, tenant, id string) Subject {
	if m.Scope(kind) == Global {
		tenant = ""
	}
	return Subject{Kind: kind, Tenant: tenant, ID: id}
}

// EventIDs are the identifiers an event carries.
type EventIDs struct {
	Tenant, UserID, AnonymousID, PreviousID string
}

// Primary is the subject an event belongs to: its user id, or its anonymous
// id when it has none. Its curated rows are pseudonymized as this subject.
func (m Modes) Primary(ids EventIDs) (Subject, bool) {
	switch {
	case ids.UserID != "":
		return m.Subject(User, ids.Tenant, ids.UserID), true
	case ids.AnonymousID != "":
		return m.Subject(Anonymous, ids.Tenant, ids.AnonymousID), true
	}
	return Subject{}, false
}

// Links returns the identity links an event establishes: its user id with its
// anonymous id (identify, and any event that carries both), and with an
// alias's previous id, taken both as an anonymous id and as a user id because
// Segment's previousId may be either.
func (m Modes) Links(ids EventIDs) []Link {
	if ids.UserID == "" {
		return nil
	}
	u := m.Subject(User, ids.Tenant, ids.UserID)
	var out []Link
	add := func(s Subject) {
		if s == u {
			return
		}
		l := NewLink(u, s)
		for _, have := range out {
			if have == l {
				return
			}
		}
		out = append(out, l)
	}
	if ids.AnonymousID != "" {
		add(m.Subject(Anonymous, ids.Tenant, ids.AnonymousID))
	}
	if ids.PreviousID != "" {
		add(m.Subject(Anonymous, ids.Tenant, ids.PreviousID))
		add(m.Subject(User, ids.Tenant, ids.PreviousID))
	}
	return out
}
