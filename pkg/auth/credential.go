package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/consentflow/consentflow/pkg/identity"
)

// Credential is what a token or write key authenticates: who (Name, for logs),
// what it may do (scopes) and for which tenant.
type Credential struct {
	// Name identifies the credential in logs and metrics.
	Name string
	// Tenant is the tenant the credential is bound to; "" means unbound (a
	// trusted backend acting for every tenant).
	Tenant string
	// Browser marks a write key embedded in web pages: untrusted clients.
	// Its events take Tenant and Jurisdiction from here, never from the
	// client.
	Browser bool
	// Jurisdiction is a browser key's jurisdiction ("" means none: the
	// policy's default regime).
	Jurisdiction string
	// Origins are the web origins (scheme://host[:port], lower case, or "*"
	// for any) whose pages may use a browser key (CORS); none means the key
	// serves no web page.
	Origins []string
	scopes  map[string]bool
}

// AllowsOrigin reports whether a request from a page of origin (the Origin
// header, as browsers send it) may use the credential: a browser key that
// lists the origin, or "*".
func (c *Credential) AllowsOrigin(origin string) bool {
	if c == nil || !c.Browser || origin == "" {
		return false
	}
	for _, o := range c.Origins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// Bound reports whether the credential is bound to a tenant.
func (c *Credential) Bound() bool { return c != nil && c.Tenant != "" }

// HasScope reports whether the credential carries scope.
func (c *Credential) HasScope(scope string) bool { return c != nil && c.scopes[scope] }

// ErrWrongTenant is wrapped by CheckTenant's errors (403).
var ErrWrongTenant = errors.New("credential bound to another tenant")

// CheckTenant returns nil when the credential may act for tenant: it is
// unbound, or bound to exactly that tenant. Otherwise the error (wrapping
// ErrWrongTenant) says why, naming the credential and both tenants, for a 403
// body. An empty tenant (a request for no tenant in particular, e.g. a global
// user's record) is allowed only to unbound credentials.
func (c *Credential) CheckTenant(tenant string) error {
	switch {
	case c == nil:
		return fmt.Errorf("%w: no credential", ErrWrongTenant)
	case !c.Bound() || c.Tenant == tenant:
		return nil
	case tenant == "":
		return fmt.Errorf("%w: %s is bound to tenant %q and cannot act for every tenant (a global subject)", ErrWrongTenant, c.Name, c.Tenant)
	}
	return fmt.Errorf("%w: %s is bound to tenant %q, not %q", ErrWrongTenant, c.Name, c.Tenant, tenant)
}

type ctxKey struct{}

// WithCredential returns ctx carrying c.
func WithCredential(ctx context.Context, c *Credential) context.Context {
	return context.WithValue(ctx, ctxKey{}, c)
}

// FromContext returns the credential Require authenticated, or nil.
func FromContext(ctx context.Context) *Credential {
	c, _ := ctx.Value(ctxKey{}).(*Credential)
	return c
}

func parseSecret(what, name, secret string, minPlain int) ([sha256.Size]byte, error) {
	var h [sha256.Size]byte
	switch {
	case strings.HasPrefix(secret, "sha256:"):
		b, err := hex.DecodeString(strings.TrimPrefix(secret, "sha256:"))
		if err != nil || len(b) != sha256.Size {
			// Never echo the entry: it may be a secret pasted in the wrong form.
			return h, fmt.Errorf("%s %s: sha256 hash must be 64 hex digits", what, name)
		}
		copy(h[:], b)
	case strings.HasPrefix(secret, "plain:") && len(secret) > len("plain:"):
		p := strings.TrimPrefix(secret, "plain:")
		if len(p) < minPlain {
			return h, fmt.Errorf("%s %s: plaintext %s shorter than %d characters", what, name, what, minPlain)
		}
		h = sha256.Sum256([]byte(p))
	default:
		return h, fmt.Errorf("%s %s: want sha256:<hex> or plain:<secret> after the name (see the package doc)", what, name)
	}
	return h, nil
}

var jurisdictionOption = regexp.MustCompile(`^[A-Z]{2}(-[A-Z0-9]{1,3})?$`)

// parseOptions reads ";tenant=T;browser;jurisdiction=XX" (write keys accept
// all, tokens only tenant).
func parseOptions(c *Credential, what, text string, writeKey bool) error {
	if text == "" {
		return nil
	}
	for _, opt := range strings.Split(text, ";") {
		k, v, hasV := strings.Cut(strings.TrimSpace(opt), "=")
		switch {
		case k == "tenant" && hasV:
			t, err := url.PathUnescape(v)
			if err != nil {
				return fmt.Errorf("%s %s: tenant: %v (percent-encode it as a URL path segment)", what, c.Name, err)
			}
			if err := identity.Check(t); err != nil {
				return fmt.Errorf("%s %s: tenant: %s", what, c.Name, identity.Message(err))
			}
			c.Tenant = t
		case k == "browser" && !hasV && writeKey:
			c.Browser = true
		case k == "origins" && hasV && writeKey:
			for _, o := range strings.Split(v, "|") {
				norm, err := parseOrigin(o)
				if err != nil {
					return fmt.Errorf("%s %s: origins: %v", what, c.Name, err)
				}
				c.Origins = append(c.Origins, norm)
			}
		case k == "jurisdiction" && hasV && writeKey:
			if !jurisdictionOption.MatchString(v) {
				return fmt.Errorf("%s %s: jurisdiction %q: want an upper-case ISO 3166 code such as DE or US-CA", what, c.Name, v)
			}
			c.Jurisdiction = v
		default:
			return fmt.Errorf("%s %s: unknown option %q", what, c.Name, k)
		}
	}
	if c.Jurisdiction != "" && !c.Browser {
		return fmt.Errorf("%s %s: jurisdiction= is only for browser keys (a server key's events carry their own)", what, c.Name)
	}
	if len(c.Origins) > 0 && !c.Browser {
		return fmt.Errorf("%s %s: origins= is only for browser keys (;browser): a key web pages use is public", what, c.Name)
	}
	if c.Browser && !c.Bound() {
		return fmt.Errorf("%s %s: a browser key must be bound to a tenant (;tenant=...): its clients cannot be trusted to name one", what, c.Name)
	}
	return nil
}

// parseOrigin checks one configured web origin: "*", or scheme://host[:port]
// with scheme http or https and nothing else (no path, user, query), as a
// browser's Origin header names a page's origin. It returns it in lower case.
func parseOrigin(o string) (string, error) {
	o = strings.TrimSpace(o)
	if o == "*" {
		return o, nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("%q: want * or scheme://host[:port] (http or https), as a browser's Origin header names a page", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// Origins returns every origin some key allows ("*" when one allows any),
// for answering CORS preflights, which carry no credential.
func (ks *WriteKeys) Origins() []string {
	if ks == nil {
		return nil
	}
	var out []string
	for _, e := range ks.entries {
		out = append(out, e.cred.Origins...)
	}
	return out
}

// WriteKeys is a set of Segment write keys, kept only as SHA-256 hashes.
type WriteKeys struct {
	entries []entry
}

// ParseWriteKeys parses SEGMENT_WRITE_KEYS: comma-separated entries
// NAME:sha256:<64 hex>[=TENANT][;OPTIONS] or NAME:plain:<key>[=TENANT][;OPTIONS]
// (the plain form, for demos, is hashed here and not kept). =TENANT is the
// older spelling of ;tenant=TENANT. OPTIONS: tenant=T (percent-encoded),
// browser, jurisdiction=XX and origins=O1|O2 (browser keys only: the web
// origins whose pages may use the key, or *). A browser key must be bound.
func ParseWriteKeys(s string) (*WriteKeys, error) {
	ks := &WriteKeys{}
	for i, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		raw, optText, _ := strings.Cut(raw, ";")
		cred, tenant, bound := strings.Cut(raw, "=")
		name, secret, ok := strings.Cut(cred, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("write key %d: want NAME:sha256:<hex>[;tenant=TENANT][;browser] or NAME:plain:<key>[...]", i+1)
		}
		h, err := parseSecret("write key", name, secret, 1)
		if err != nil {
			return nil, err
		}
		e := entry{cred: Credential{Name: name}, hash: h}
		if bound {
			if optText != "" {
				optText = "tenant=" + strings.TrimSpace(tenant) + ";" + optText
			} else {
				optText = "tenant=" + strings.TrimSpace(tenant)
			}
			if strings.TrimSpace(tenant) == "" {
				return nil, fmt.Errorf("write key %s: empty tenant after '='", name)
			}
		}
		if err := parseOptions(&e.cred, "write key", optText, true); err != nil {
			return nil, err
		}
		ks.entries = append(ks.entries, e)
	}
	return ks, nil
}

// Lookup returns the credential of a presented write key, or nil. Every entry
// is compared in constant time.
func (ks *WriteKeys) Lookup(presented string) *Credential {
	if ks == nil || presented == "" {
		return nil
	}
	h := sha256.Sum256([]byte(presented))
	match := -1
	for i := range ks.entries {
		if subtle.ConstantTimeCompare(h[:], ks.entries[i].hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return nil
	}
	c := ks.entries[match].cred
	return &c
}

// Len is the number of configured keys.
func (ks *WriteKeys) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.entries)
}

// Unbound returns the names of the keys not bound to a tenant.
func (ks *WriteKeys) Unbound() []string {
	var out []string
	if ks == nil {
		return nil
	}
	for _, e := range ks.entries {
		if !e.cred.Bound() {
			out = append(out, e.cred.Name)
		}
	}
	return out
}

// HashSecret returns the "sha256:<hex>" form of a secret, for configuration.
func HashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return "sha256:" + hex.EncodeToString(h[:])
}
