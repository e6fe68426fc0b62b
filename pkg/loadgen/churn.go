package loadgen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/consentflow/consentflow/pkg/schema"
)

// ChurnPlan schedules consent changes over a run of known length, so that consent
// churn is proportional to the run whatever its length: a fixed share of the users
// and of the tenants change their consent, each once (a share of them twice), at
// points spread uniformly over the run. A long run therefore checks as large a
// share of events "must pass" as a short one, instead of ending with almost every
// subject withdrawn, as per-action rates do.
type ChurnPlan struct {
	// Events is the run's length in events; 0 disables the plan.
	Events int
	// WithdrawShare of the users withdraw (DENIED) once during the run;
	// RegrantShare of those grant again later.
	WithdrawShare, RegrantShare float64
	// GrantShare of the users without an initial grant grant during the run.
	GrantShare float64
	// TenantOptOutShare of the tenants opt out once; TenantRegrantShare of those
	// grant again later.
	TenantOptOutShare, TenantRegrantShare float64
	// BannerDenyShare of the users with a browser cookie have a cookie banner
	// deny their anonymous id once.
	BannerDenyShare float64
	// ReactiveShare of the planned changes are sent right after an event of their
	// own subject (a user acts, then changes a setting), so that the consent
	// filter often decides that event after the change took effect — the
	// timing-dependent case of the consent rules that a test must exercise.
	ReactiveShare float64
}

// DefaultChurnPlan is the plan of the load generator's command line: a tenth of
// the users withdraw (a third of them re-grant), a fifth of the users without an
// initial grant grant, a tenth of the tenants opt out (half of them re-grant), and
// half of all these follow an event of their subject. Events must be set.
func DefaultChurnPlan() ChurnPlan {
	return ChurnPlan{WithdrawShare: 0.1, RegrantShare: 0.3, GrantShare: 0.2, TenantOptOutShare: 0.1, TenantRegrantShare: 0.5,
		BannerDenyShare: 0.1, ReactiveShare: 0.5}
}

func (p *ChurnPlan) validate() error {
	var errs []error
	if p.Events < 0 {
		errs = append(errs, fmt.Errorf("churn plan: events must be >= 0, got %d", p.Events))
	}
	for name, v := range map[string]float64{"withdraw share": p.WithdrawShare, "regrant share": p.RegrantShare,
		"grant share": p.GrantShare, "tenant opt-out share": p.TenantOptOutShare,
		"tenant regrant share": p.TenantRegrantShare, "banner deny share": p.BannerDenyShare, "reactive share": p.ReactiveShare} {
		if v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("churn plan: %s must be within [0, 1], got %g", name, v))
		}
	}
	return errors.Join(errs...)
}

// planned is one scheduled change: due once at least `at` events were generated.
type planned struct {
	at       int
	reactive bool // wait (a bounded while) for an event of the subject
	c        *ConsentAction
}

// churn is a Generator's schedule.
type churn struct {
	todo   []planned // by at
	due    []planned // reactive, waiting for an event of their subject
	next   []*ConsentAction
	window int // events a reactive change waits for its subject at most
}

// exactly picks round(share*n) of n indexes (at least one when share > 0),
// so that the share holds in every run, not only on average.
func exactly(r *rand.Rand, n int, share float64) []int {
	k := int(math.Round(share * float64(n)))
	if share > 0 && k == 0 && n > 0 {
		k = 1
	}
	return r.Perm(n)[:k]
}

// newChurn plans the changes of a run; it draws from its own random stream so
// that the events themselves do not depend on the plan.
func newChurn(cfg Config, w *World, initial []*User) *churn {
	p := cfg.Plan
	if p.Events <= 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0xc4a7))
	e := float64(p.Events)
	pos := func(lo, hi float64) int { return int(e*lo + r.Float64()*e*(hi-lo)) }
	// A reactive change waits up to a fifth of the run for its subject to act;
	// every change is planned early enough to be sent before the run ends, and a
	// re-grant late enough to come after its withdrawal even if that waited.
	ch := &churn{window: max(20, p.Events/5)}
	later := func(at int) int {
		first := at + ch.window + 1
		return first + int(r.Float64()*math.Max(0, 0.75*e-float64(first)))
	}
	add := func(at int, c *ConsentAction) {
		ch.todo = append(ch.todo, planned{at: at, reactive: r.Float64() < p.ReactiveShare, c: c})
	}
	users := w.Users()
	granted := map[*User]bool{}
	for _, u := range initial {
		granted[u] = true
	}
	withdrawing := map[int]bool{}
	for _, i := range exactly(r, len(users), p.WithdrawShare) {
		withdrawing[i] = true
	}
	var regrantFrom []int
	for i := range users {
		if withdrawing[i] {
			regrantFrom = append(regrantFrom, i)
		}
	}
	sort.Ints(regrantFrom)
	regrant := map[int]bool{}
	for _, j := range exactly(r, len(regrantFrom), p.RegrantShare) {
		regrant[regrantFrom[j]] = true
	}
	var ungranted []int
	for i, u := range users {
		if !granted[u] && !withdrawing[i] {
			ungranted = append(ungranted, i)
		}
	}
	grant := map[int]bool{}
	for _, j := range exactly(r, len(ungranted), p.GrantShare) {
		grant[ungranted[j]] = true
	}
	for i, u := range users {
		switch {
		case withdrawing[i]:
			at := pos(0.02, 0.45)
			add(at, &ConsentAction{SubjectType: schema.SubjectUser, SubjectID: u.ID, TenantID: u.TenantID, Purpose: cfg.Purpose, Status: schema.StatusDenied})
			if regrant[i] { // after the withdrawal, even if that waited its whole window
				add(later(at), &ConsentAction{SubjectType: schema.SubjectUser, SubjectID: u.ID, TenantID: u.TenantID, Purpose: cfg.Purpose, Status: schema.StatusGranted})
			}
		case grant[i]:
			add(pos(0.02, 0.7), &ConsentAction{SubjectType: schema.SubjectUser, SubjectID: u.ID, TenantID: u.TenantID, Purpose: cfg.Purpose, Status: schema.StatusGranted})
		}
	}
	tenants := exactly(r, len(w.Tenants), p.TenantOptOutShare)
	sort.Ints(tenants)
	back := map[int]bool{}
	for _, j := range exactly(r, len(tenants), p.TenantRegrantShare) {
		back[tenants[j]] = true
	}
	for _, i := range tenants {
		t := w.Tenants[i]
		at := pos(0.05, 0.4)
		add(at, &ConsentAction{SubjectType: schema.SubjectTenant, SubjectID: t.ID, TenantID: t.ID, Purpose: cfg.Purpose, Status: schema.StatusDenied})
		if back[i] {
			add(later(at), &ConsentAction{SubjectType: schema.SubjectTenant, SubjectID: t.ID, TenantID: t.ID, Purpose: cfg.Purpose, Status: schema.StatusGranted})
		}
	}
	var visitors []*User
	for _, u := range users {
		if u.Cookie != "" {
			visitors = append(visitors, u)
		}
	}
	banner := exactly(r, len(visitors), p.BannerDenyShare)
	sort.Ints(banner)
	for _, i := range banner {
		u := visitors[i]
		add(pos(0.02, 0.6), &ConsentAction{SubjectType: schema.SubjectAnonymous, SubjectID: u.Cookie, TenantID: u.TenantID, Purpose: cfg.Purpose, Status: schema.StatusDenied})
	}
	sort.SliceStable(ch.todo, func(a, b int) bool { return ch.todo[a].at < ch.todo[b].at })
	return ch
}

// pop returns a change to send now, given how many events were generated, or nil.
func (ch *churn) pop(events int) *ConsentAction {
	if len(ch.next) > 0 {
		c := ch.next[0]
		ch.next = ch.next[1:]
		return c
	}
	for len(ch.todo) > 0 && ch.todo[0].at <= events {
		p := ch.todo[0]
		ch.todo = ch.todo[1:]
		if !p.reactive {
			return p.c
		}
		ch.due = append(ch.due, p)
	}
	for i, p := range ch.due {
		if events > p.at+ch.window { // its subject stayed quiet: send it anyway
			ch.due = append(ch.due[:i], ch.due[i+1:]...)
			return p.c
		}
	}
	return nil
}

// after queues the reactive changes of the subject of the event just generated.
func (ch *churn) after(ev *EventAction) {
	kept := ch.due[:0]
	for _, p := range ch.due {
		c := p.c
		// User and anonymous ids are per tenant: user 7 of another tenant is
		// someone else.
		if (c.SubjectType == schema.SubjectUser && ev.Event.UserID != "" && c.SubjectID == ev.Event.UserID && c.TenantID == ev.Event.TenantID) ||
			(c.SubjectType == schema.SubjectAnonymous && ev.Event.UserID == "" && c.SubjectID == ev.Event.AnonymousID && c.TenantID == ev.Event.TenantID) ||
			(c.SubjectType == schema.SubjectTenant && c.SubjectID == ev.Event.TenantID) {
			ch.next = append(ch.next, c)
			continue
		}
		kept = append(kept, p)
	}
	ch.due = kept
}
