package consentstore

import (
	"fmt"

	"github.com/consentflow/consentflow/pkg/identity"
)

// SubjectRef names one consent subject (see pkg/identity); with a purpose it
// names one record.
type SubjectRef = identity.Subject

// UserRef returns the subject of a global user id (a user id the policy
// declares the same in every tenant).
func UserRef(id string) SubjectRef { return identity.Subject{Kind: identity.User, ID: id} }

// TenantUserRef returns the subject of a tenant-scoped user id.
func TenantUserRef(tenant, id string) SubjectRef {
	return identity.Subject{Kind: identity.User, Tenant: tenant, ID: id}
}

// AnonymousRef returns the subject of a tenant-scoped anonymous id.
func AnonymousRef(tenant, id string) SubjectRef {
	return identity.Subject{Kind: identity.Anonymous, Tenant: tenant, ID: id}
}

// TenantRef returns the subject of a tenant.
func TenantRef(id string) SubjectRef { return identity.TenantOf(id) }

func validateRef(r SubjectRef) error {
	if !r.Valid() {
		return fmt.Errorf("subject %#v: invalid", r)
	}
	return nil
}
