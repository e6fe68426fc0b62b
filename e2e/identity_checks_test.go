//go:build linux

package e2e

import (
	"time"

	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/consentflow/consentflow/pkg/schema"
)

// subj names a consent subject as the default policy does: user and anonymous
// ids are scoped to their tenant; a tenant's own record has tenant "".
type subj struct{ typ, tenant, id string }

func userOf(e loadgen.EventTruth) subj     { return subj{"user", e.TenantID, e.UserID} }
func anonOf(e loadgen.EventTruth) subj     { return subj{"anonymous", e.TenantID, e.AnonymousID} }
func tenantSubj(e loadgen.EventTruth) subj { return subj{"tenant", "", e.TenantID} }
func consentSubj(c loadgen.ConsentTruth) subj {
	if c.SubjectType == "tenant" {
		return subj{"tenant", "", c.SubjectID}
	}
	return subj{c.SubjectType, c.TenantID, c.SubjectID}
}

// primaryOf is the event's consent subject: its user id, or its anonymous id.
func primaryOf(e loadgen.EventTruth) subj {
	if e.UserID != "" {
		return userOf(e)
	}
	return anonOf(e)
}

// identityTruth indexes the truth file by subject: consent changes in time
// order, links with the time they became visible.
type identityTruth struct {
	changes   map[subj][]loadgen.ConsentTruth
	uncertain map[subj]bool // a consent request of the subject failed: it may or may not have been applied
	links     map[subj]map[subj]time.Time
	unsure    map[subj]bool // a link of the subject was not observed: it may or may not exist
}

func indexIdentity(tr *truth) *identityTruth {
	it := &identityTruth{changes: map[subj][]loadgen.ConsentTruth{}, uncertain: map[subj]bool{},
		links: map[subj]map[subj]time.Time{}, unsure: map[subj]bool{}}
	for _, c := range tr.consents {
		k := consentSubj(c)
		if !c.Applied {
			it.uncertain[k] = true
			continue
		}
		it.changes[k] = append(it.changes[k], c) // truth lines of a tenant are in order
	}
	link := func(a, b subj, at time.Time) {
		for _, p := range [][2]subj{{a, b}, {b, a}} {
			if it.links[p[0]] == nil {
				it.links[p[0]] = map[subj]time.Time{}
			}
			if prev, ok := it.links[p[0]][p[1]]; !ok || at.Before(prev) {
				it.links[p[0]][p[1]] = at
			}
		}
	}
	for _, l := range tr.links {
		u, a := subj{"user", l.TenantID, l.UserID}, subj{"anonymous", l.TenantID, l.AnonymousID}
		if !l.Observed {
			it.unsure[u], it.unsure[a] = true, true
			continue
		}
		link(u, a, l.LinkedAt)
	}
	// An event carrying both ids links them too (the filter records it when it
	// decides the event); the load generator only sends those after the
	// identify's link showed, so this adds nothing but is the rule.
	for _, e := range tr.events {
		if e.UserID != "" && e.AnonymousID != "" && e.Accepted {
			link(userOf(e), anonOf(e), e.SentAt)
		}
	}
	return it
}

// withdrawnVisitors is the stitching check spelled out: users who linked a
// browser's anonymous id (identify) and whose last applied change is DENIED,
// every request of theirs certain, must have no row at all in the snapshot:
// not their anonymous events before login, nor their logged-in events, nor
// their logged-out events after.
func withdrawnVisitors(tr *truth, rows []snapRow) (users, events, present int) {
	it := indexIdentity(tr)
	in := map[string]bool{}
	for _, r := range rows {
		in[r.EventID] = true
	}
	withdrawn := map[subj]bool{}
	for u, linked := range it.links {
		if u.typ != "user" || len(linked) == 0 || it.uncertain[u] || it.unsure[u] {
			continue
		}
		cs := it.changes[u]
		if len(cs) > 0 && cs[len(cs)-1].Status == schema.StatusDenied {
			withdrawn[u] = true
		}
	}
	for _, e := range tr.events {
		p := primaryOf(e)
		hit := withdrawn[p]
		for x := range it.links[p] {
			hit = hit || withdrawn[x]
		}
		if hit {
			events++
			if in[e.EventID] {
				present++
			}
		}
	}
	return len(withdrawn), events, present
}

// sharedUserIDs counts the user ids used in two or more tenants, and among them
// those that are two people with different outcomes: their last consent differs
// between tenants, and one tenant's events of the id are in the snapshot while
// another tenant's are all absent. (Whether each event belongs there is the
// oracle's judgement; this shows the run exercised it.)
func sharedUserIDs(tr *truth, rows []snapRow) (shared, differing int) {
	in := map[string]bool{}
	for _, r := range rows {
		in[r.EventID] = true
	}
	it := indexIdentity(tr)
	present := map[string]map[string]bool{} // user id -> tenant -> some event in the snapshot
	for _, e := range tr.events {
		if e.UserID == "" {
			continue
		}
		if present[e.UserID] == nil {
			present[e.UserID] = map[string]bool{}
		}
		present[e.UserID][e.TenantID] = present[e.UserID][e.TenantID] || in[e.EventID]
	}
	for id, tenants := range present {
		if len(tenants) < 2 {
			continue
		}
		shared++
		lasts := map[string]bool{}
		with, without := 0, 0
		for t, p := range tenants {
			last := "none"
			if cs := it.changes[subj{"user", t, id}]; len(cs) > 0 {
				last = cs[len(cs)-1].Status
			}
			lasts[last] = true
			if p {
				with++
			} else {
				without++
			}
		}
		if len(lasts) > 1 && with > 0 && without > 0 {
			differing++
		}
	}
	return shared, differing
}
