package centre

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/strictjson"
)

// Link kinds: a page for one (tenant, user), or a tenant admin's page.
const (
	KindUser  = "user"
	KindAdmin = "admin"
)

// Link is what a signed link grants: one subject's page until Expires.
type Link struct {
	Kind   string `json:"k"`
	Tenant string `json:"t"`
	User   string `json:"u,omitempty"`
	// Jurisdiction is the user's ISO 3166 code as the product backend knows
	// it (the regime shown on the page); empty: the policy's default regime.
	Jurisdiction string `json:"j,omitempty"`
	Expires      int64  `json:"e"` // Unix seconds
}

// ErrLink is every refusal of a link (tampered, expired, malformed): the
// pages answer 403 without saying which.
var ErrLink = errors.New("invalid or expired link")

const linkPrefix = "v1."

// Signer mints and verifies links with an HMAC-SHA256 key held by the
// consent-filter (CENTRE_LINK_KEY).
type Signer struct {
	Key []byte
	Now func() time.Time
}

func (s *Signer) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte("consentflow/centre-link/v1\x00"))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// Check validates a link's content (not its signature).
func (l Link) Check() error {
	switch l.Kind {
	case KindUser:
		if err := identity.Check(l.User); err != nil {
			return fmt.Errorf("user: %s", identity.Message(err))
		}
	case KindAdmin:
		if l.User != "" {
			return errors.New("user: not allowed on an admin link")
		}
	default:
		return fmt.Errorf("kind: must be %q or %q", KindUser, KindAdmin)
	}
	if err := identity.Check(l.Tenant); err != nil {
		return fmt.Errorf("tenant: %s", identity.Message(err))
	}
	if len(l.Jurisdiction) > 16 {
		return errors.New("jurisdiction: longer than 16 bytes")
	}
	return nil
}

// Mint returns the signed token of l ("v1.<payload>.<signature>", URL-safe).
func (s *Signer) Mint(l Link) (string, error) {
	if err := l.Check(); err != nil {
		return "", err
	}
	b, err := json.Marshal(l)
	if err != nil {
		return "", err
	}
	p := base64.RawURLEncoding.EncodeToString(b)
	return linkPrefix + p + "." + base64.RawURLEncoding.EncodeToString(s.mac(p)), nil
}

// Verify returns the link a token grants, or ErrLink.
func (s *Signer) Verify(token string) (Link, error) {
	rest, ok := strings.CutPrefix(token, linkPrefix)
	if !ok || len(token) > 2048 {
		return Link{}, ErrLink
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return Link{}, ErrLink
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(p)) {
		return Link{}, ErrLink
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return Link{}, ErrLink
	}
	var l Link
	if err := strictjson.Decode(bytes.NewReader(b), &l); err != nil || l.Check() != nil {
		return Link{}, ErrLink
	}
	if !s.Now().Before(time.Unix(l.Expires, 0)) {
		return Link{}, ErrLink
	}
	return l, nil
}

// csrf is the form token of a page served under token: an HMAC of the link
// under a separate label, so a form can only be posted with a token read from
// a page of the same link.
func (s *Signer) csrf(token string) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte("consentflow/centre-csrf/v1\x00"))
	m.Write([]byte(token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Signer) csrfOK(token, got string) bool {
	return hmac.Equal([]byte(s.csrf(token)), []byte(got))
}
