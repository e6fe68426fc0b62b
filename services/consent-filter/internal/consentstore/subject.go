package consentstore

import (
	"fmt"
	"strings"
)

// SubjectType says whether a consent record belongs to a user (or an
// anonymous id) or to a tenant.
type SubjectType string

const (
	// User is a product user or an anonymous id (Segment anonymousId).
	User SubjectType = "user"
	// Tenant is a customer organisation; its denial covers all its users.
	Tenant SubjectType = "tenant"
)

// Valid reports whether t is User or Tenant.
func (t SubjectType) Valid() bool { return t == User || t == Tenant }

// ParseSubjectType accepts "user"/"tenant" in any case (the Avro enum says
// USER/TENANT).
func ParseSubjectType(s string) (SubjectType, error) {
	t := SubjectType(strings.ToLower(s))
	if !t.Valid() {
		return "", fmt.Errorf("unknown subject type %q (want user or tenant)", s)
	}
	return t, nil
}

// SubjectRef names one subject; with a purpose it names one record.
type SubjectRef struct {
	Type SubjectType
	ID   string
}

// UserRef returns the reference of a user or anonymous id.
func UserRef(id string) SubjectRef { return SubjectRef{Type: User, ID: id} }

// TenantRef returns the reference of a tenant.
func TenantRef(id string) SubjectRef { return SubjectRef{Type: Tenant, ID: id} }

// String returns "user:<id>" or "tenant:<id>", the subject part of the
// consent.changes key.
func (r SubjectRef) String() string { return string(r.Type) + ":" + r.ID }

func (r SubjectRef) validate() error {
	if !r.Type.Valid() {
		return fmt.Errorf("subject type %q: want user or tenant", r.Type)
	}
	if r.ID == "" {
		return fmt.Errorf("%s subject: empty id", r.Type)
	}
	return nil
}

// code is the short form used in record keys and invalidation messages.
func (r SubjectRef) code() string {
	if r.Type == Tenant {
		return "t:" + r.ID
	}
	return "u:" + r.ID
}

func parseCode(s string) (SubjectRef, bool) {
	kind, id, ok := strings.Cut(s, ":")
	if !ok || id == "" {
		return SubjectRef{}, false
	}
	switch kind {
	case "u":
		return UserRef(id), true
	case "t":
		return TenantRef(id), true
	}
	return SubjectRef{}, false
}
