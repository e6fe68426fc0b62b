package ledger

import (
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/dataset-sink/internal/table"
)

// Matcher decides whether a row is covered by a set of erasures. A SUBJECT
// erasure covers rows whose subject is one of its pseudonyms, a TENANT erasure
// rows whose tenant is, in both cases for the erasure's purpose, and only rows
// whose decision did not rest on a later consent change than the erased one.
//
// Coverage is decided by consent versions, not time (received_at is coarsened to
// the hour, so a row received just after a re-grant would look older than the
// denial). An erasure carries the version ("p:o" on consent.changes) of the change
// that caused it; a row carries consent_version (the consent state position its
// decision was made at on its subject's partition: every change below it was seen,
// see docs/ARCHITECTURE.md, Identity, "Versions") and tenant_consent_version (the
// tenant's record in force, empty without one). All changes of one subject and of
// one tenant share a partition, so:
//
//   - a SUBJECT erasure E covers R iff
//     !ParseVersion(R.consent_version).NewerThan(ParseVersion(E.consent_version));
//   - a TENANT erasure E covers R iff
//     !ParseVersion(R.tenant_consent_version).NewerThan(ParseVersion(E.consent_version)).
//
// So a row that rested on the same or an older record, or on none, is covered; a
// row decided on a later re-grant is kept. An erasure whose version does not parse
// covers every row of its pseudonyms, and a row whose version is on another
// partition (not ordered) or does not parse is covered: doubt errs towards
// erasure. effective_at stays in the ledger for information only.
type Matcher struct {
	subjects map[target]*erased
	tenants  map[target]*erased
}

// target is a pseudonym for a purpose: a struct key, so that looking a row up
// (twice per row on the write path) builds no string.
type target struct{ purpose, pseudonym string }

// erased is what a pseudonym's erasures cover: everything (all), or per
// partition of consent.changes the rows whose version is at or below the highest
// erased offset.
type erased struct {
	all bool
	max map[int]int64
}

func (e *erased) add(version string) {
	v, ok := schema.ParseVersion(version)
	if !ok {
		e.all = true
		return
	}
	if cur, seen := e.max[v.Partition]; !seen || v.Offset > cur {
		e.max[v.Partition] = v.Offset
	}
}

// covers reports whether a row whose decision rested on version is covered: some
// erasure's version is not older than it (or is not comparable with it).
func (e *erased) covers(version string) bool {
	if e == nil {
		return false
	}
	if e.all {
		return true
	}
	v, ok := schema.ParseVersion(version)
	if !ok { // no record (or a malformed one): the decision predates any re-grant
		return true
	}
	for p, o := range e.max {
		if !v.NewerThan(schema.Version{Partition: p, Offset: o}) {
			return true
		}
	}
	return false
}

// NewMatcher returns a matcher that covers nothing yet.
func NewMatcher() *Matcher {
	return &Matcher{subjects: map[target]*erased{}, tenants: map[target]*erased{}}
}

// Add adds an erasure to the matcher.
func (m *Matcher) Add(e *schema.Erasure) {
	into := m.subjects
	if e.Scope == schema.ScopeTenant {
		into = m.tenants
	}
	for _, p := range e.Pseudonyms {
		k := target{e.Purpose, p}
		if into[k] == nil {
			into[k] = &erased{max: map[int]int64{}}
		}
		into[k].add(e.ConsentVersion)
	}
}

// Empty reports whether the matcher covers nothing.
func (m *Matcher) Empty() bool { return len(m.subjects) == 0 && len(m.tenants) == 0 }

// Covered reports whether the matcher's erasures cover r.
func (m *Matcher) Covered(r *table.Row) bool {
	return m.subjects[target{r.Purpose, r.Subject}].covers(r.ConsentVersion) ||
		m.tenants[target{r.Purpose, r.Tenant}].covers(r.TenantConsentVersion)
}
