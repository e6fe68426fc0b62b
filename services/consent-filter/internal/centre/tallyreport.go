package centre

import (
	"context"
	"time"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/internal/filter"
	"github.com/consentflow/consentflow/services/consent-filter/internal/tally"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// TallyReport builds a tenant's report from the filter's counts: events by
// reason over 7 and 30 days, and, among the user ids seen in the tenant's
// events over 30 days, how many chose yes, chose no, or have no record of
// their own, per purpose (looked up in the consent store now).
type TallyReport struct {
	Tally  *tally.Tally
	Lookup filter.LookupFunc
	Policy *policy.Policy
	// MaxUsers bounds the users looked up for one report (default 100000).
	MaxUsers int
}

// Report implements Reporter.
func (t *TallyReport) Report(ctx context.Context, tenant string, now time.Time) (Report, error) {
	counts, users, err := t.Tally.Read(ctx, tenant, now)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Tenant: tenant, GeneratedAt: now.UTC()}
	for _, c := range counts {
		rep.Events = append(rep.Events, ReasonCounts{Purpose: c.Purpose, Reason: c.Reason, Allowed: decision.Reason(c.Reason).Allows(), Days7: c.Days7, Days30: c.Days30})
	}
	max := t.MaxUsers
	if max <= 0 {
		max = 100_000
	}
	if len(users) > max {
		users = users[:max]
	}
	refs := make([]consentstore.SubjectRef, len(users))
	for i, u := range users {
		refs[i] = t.Policy.Identity.Subject(identity.User, tenant, u)
	}
	for _, p := range sortedPurposes(t.Policy) {
		sc := SubjectCounts{Purpose: p}
		for i := 0; i < len(refs); i += 500 {
			chunk := refs[i:min(i+500, len(refs))]
			recs, err := t.Lookup(ctx, p, chunk)
			if err != nil {
				return Report{}, err
			}
			for _, r := range chunk {
				switch rec := recs[r]; {
				case !rec.Has():
					sc.NoRecord++
				case rec.Status == decision.Granted:
					sc.OptedIn++
				default:
					sc.OptedOut++
				}
			}
		}
		rep.Subjects = append(rep.Subjects, sc)
	}
	return rep, nil
}

func sortedPurposes(p *policy.Policy) []string {
	c := Centre{Policy: p}
	return c.purposes()
}
