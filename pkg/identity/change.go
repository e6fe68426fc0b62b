package identity

import (
	"fmt"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
)

// Record kinds of consent.changes, by status.
func isConsent(status string) bool {
	return status == schema.StatusGranted || status == schema.StatusDenied
}

func kindOfType(t string) (Kind, bool) {
	switch t {
	case schema.SubjectUser:
		return User, true
	case schema.SubjectAnonymous:
		return Anonymous, true
	case schema.SubjectTenant:
		return Tenant, true
	}
	return "", false
}

// TypeOf is the ConsentChange subject_type of a kind (Legacy records are
// USER).
func TypeOf(k Kind) string {
	switch k {
	case Anonymous:
		return schema.SubjectAnonymous
	case Tenant:
		return schema.SubjectTenant
	}
	return schema.SubjectUser
}

func scopeField(s Subject) string {
	switch s.Kind {
	case User, Anonymous:
		if s.Tenant == "" {
			return schema.ScopeGlobalIDs
		}
		return schema.ScopeTenantIDs
	}
	return ""
}

func subjectFrom(typ, id, tenant, scope string) (Subject, error) {
	k, ok := kindOfType(typ)
	if !ok {
		return Subject{}, fmt.Errorf("subject_type %q: unknown", typ)
	}
	if id == "" {
		return Subject{}, fmt.Errorf("subject_id: empty")
	}
	if k == Tenant {
		return TenantOf(id), nil
	}
	switch scope {
	case schema.ScopeTenantIDs:
		if tenant == "" {
			return Subject{}, fmt.Errorf("tenant_id: required for a tenant-scoped %s", k)
		}
		return Subject{Kind: k, Tenant: tenant, ID: id}, nil
	case schema.ScopeGlobalIDs:
		return Subject{Kind: k, ID: id}, nil
	case "":
		return Subject{}, fmt.Errorf("subject_scope: empty")
	}
	return Subject{}, fmt.Errorf("subject_scope %q: want TENANT or GLOBAL", scope)
}

// Applies returns the subjects a GRANTED or DENIED record is the consent of.
// A record with a scope names one subject. A record written before subjects
// had a scope (legacy: USER, no subject_scope) was looked up by its id alone,
// for user and anonymous ids alike; it becomes:
//   - with tenant_id: that tenant's user and anonymous id of that id (the
//     tenant it was recorded with is the only one it can belong to);
//   - without: the Legacy subject of the id, consulted for that id in every
//     tenant, which can only deny (see the decision package).
func Applies(c *schema.ConsentChange) ([]Subject, error) {
	if !isConsent(c.Status) {
		return nil, fmt.Errorf("status %q: not a consent", c.Status)
	}
	if c.SubjectType == schema.SubjectUser && c.SubjectScope == "" {
		if c.SubjectID == "" {
			return nil, fmt.Errorf("subject_id: empty")
		}
		if c.TenantID == "" {
			return []Subject{LegacyOf(c.SubjectID)}, nil
		}
		return []Subject{{Kind: User, Tenant: c.TenantID, ID: c.SubjectID}, {Kind: Anonymous, Tenant: c.TenantID, ID: c.SubjectID}}, nil
	}
	s, err := subjectFrom(c.SubjectType, c.SubjectID, c.TenantID, c.SubjectScope)
	if err != nil {
		return nil, err
	}
	return []Subject{s}, nil
}

// LinkOf returns the link a LINKED record states.
func LinkOf(c *schema.ConsentChange) (Link, error) {
	if c.Status != schema.StatusLinked {
		return Link{}, fmt.Errorf("status %q: not a link", c.Status)
	}
	a, err := subjectFrom(c.SubjectType, c.SubjectID, c.TenantID, c.SubjectScope)
	if err != nil {
		return Link{}, err
	}
	b, err := subjectFrom(c.LinkedType, c.LinkedID, c.TenantID, c.LinkedScope)
	if err != nil {
		return Link{}, fmt.Errorf("linked: %w", err)
	}
	if a.Kind == Tenant || b.Kind == Tenant {
		return Link{}, fmt.Errorf("a tenant cannot be linked")
	}
	if a == b {
		return Link{}, fmt.Errorf("a subject cannot be linked to itself")
	}
	return NewLink(a, b), nil
}

// EraseOf returns the subject and trigger of an ERASE record.
func EraseOf(c *schema.ConsentChange) (Subject, string, error) {
	if c.Status != schema.StatusErase {
		return Subject{}, "", fmt.Errorf("status %q: not an erasure request", c.Status)
	}
	s, err := subjectFrom(c.SubjectType, c.SubjectID, c.TenantID, c.SubjectScope)
	if err != nil {
		return Subject{}, "", err
	}
	if _, ok := schema.ParseVersion(c.TriggerVersion); !ok {
		return Subject{}, "", fmt.Errorf("trigger_version %q: want partition:offset", c.TriggerVersion)
	}
	return s, c.TriggerVersion, nil
}

// ConsentChange returns the record of subject s's consent (status GRANTED or
// DENIED) for purpose.
func ConsentChange(s Subject, purpose, status string, at time.Time, source, policyVersion string) schema.ConsentChange {
	return schema.ConsentChange{
		SubjectType: TypeOf(s.Kind), SubjectID: s.ID, TenantID: s.Tenant, SubjectScope: scopeField(s),
		Purpose: purpose, Status: status, EffectiveAt: at.UTC().Truncate(time.Millisecond), Source: source, PolicyVersion: policyVersion,
	}
}

// LinkChange returns the LINKED record of l. tenant is the tenant the link
// was seen in (recorded even when both ids are global).
func LinkChange(l Link, tenant string, at time.Time, source string) schema.ConsentChange {
	if l.A.Tenant != "" {
		tenant = l.A.Tenant
	} else if l.B.Tenant != "" {
		tenant = l.B.Tenant
	}
	return schema.ConsentChange{
		SubjectType: TypeOf(l.A.Kind), SubjectID: l.A.ID, TenantID: tenant, SubjectScope: scopeField(l.A),
		LinkedType: TypeOf(l.B.Kind), LinkedID: l.B.ID, LinkedScope: scopeField(l.B),
		Status: schema.StatusLinked, EffectiveAt: at.UTC().Truncate(time.Millisecond), Source: source,
	}
}

// EraseChange returns the ERASE record asking to erase s's rows for purpose
// because of the change at trigger.
func EraseChange(s Subject, purpose, trigger string, at time.Time) schema.ConsentChange {
	return schema.ConsentChange{
		SubjectType: TypeOf(s.Kind), SubjectID: s.ID, TenantID: s.Tenant, SubjectScope: scopeField(s),
		Purpose: purpose, Status: schema.StatusErase, EffectiveAt: at.UTC().Truncate(time.Millisecond),
		Source: "materializer", TriggerVersion: trigger,
	}
}

// KeyOf returns the consent.changes key and partitioning route of a record
// built by ConsentChange, LinkChange or EraseChange.
func KeyOf(c *schema.ConsentChange) (key, route string, err error) {
	switch c.Status {
	case schema.StatusLinked:
		l, err := LinkOf(c)
		if err != nil {
			return "", "", err
		}
		return l.Key(), l.Route(), nil
	case schema.StatusErase:
		s, trigger, err := EraseOf(c)
		if err != nil {
			return "", "", err
		}
		return EraseKey(s, c.Purpose, trigger), s.Route(), nil
	}
	if c.SubjectType != schema.SubjectTenant && c.SubjectScope == "" {
		return "", "", fmt.Errorf("subject_scope: required on new records")
	}
	ss, err := Applies(c)
	if err != nil {
		return "", "", err
	}
	return ss[0].ChangeKey(c.Purpose), ss[0].Route(), nil
}
