package filter

import (
	"context"
	"time"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// LookupFunc answers the current records of refs for purpose (the store's or
// the cache's Lookup).
type LookupFunc func(ctx context.Context, purpose string, refs []consentstore.SubjectRef) (map[consentstore.SubjectRef]consentstore.Record, error)

// Standing is what the filter would decide now for a new event of one user
// (the privacy centre's "status and why"), with the records it rests on.
type Standing struct {
	Decision decision.Decision
	// User and Tenant are the user's own and the tenant's records (Has false
	// when there is none).
	User, Tenant consentstore.Record
	// Linked is how many subjects are linked to the user.
	Linked int
}

// StandingOf decides a new event of user in tenant, received at, with the
// filter's own subject rules (subjectsOf, linkedOf, decisionInput — legacy
// records consulted) and decision.Decide. linkPurpose is the store's link
// purpose (the chain's purpose: links are stored under it only).
func StandingOf(ctx context.Context, lookup LookupFunc, pol *policy.Policy, linkPurpose, purpose, tenant, user, jurisdiction string, gpc bool, at time.Time, maxLinks int) (Standing, error) {
	es, err := subjectsOf(pol.Identity, &schema.InteractionEvent{TenantID: tenant, UserID: user})
	if err != nil {
		return Standing{}, err
	}
	links, err := lookup(ctx, linkPurpose, []consentstore.SubjectRef{es.primary})
	if err != nil {
		return Standing{}, err
	}
	linked := linkedOf(es, links[es.primary].Links, nil)
	refs := append([]consentstore.SubjectRef{es.primary, identity.TenantOf(tenant)}, linked...)
	for _, id := range es.rawIDs() {
		refs = append(refs, identity.LegacyOf(id))
	}
	recs, err := lookup(ctx, purpose, refs)
	if err != nil {
		return Standing{}, err
	}
	in := decision.Input{ReceivedAt: at, Jurisdiction: jurisdiction, GPC: gpc, Purpose: purpose}
	st := Standing{User: recs[es.primary], Tenant: recs[identity.TenantOf(tenant)], Linked: len(linked)}
	if st.Tenant.Has() {
		in.Tenant = st.Tenant.Decision()
	}
	if maxLinks <= 0 {
		maxLinks = 1000
	}
	in.User, in.Linked, in.TooManyLinks = decisionInput(es, linked, recs, true, maxLinks, nil)
	st.Decision = decision.Decide(pol, in)
	return st, nil
}
