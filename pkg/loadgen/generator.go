package loadgen

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/google/uuid"
)

// ActionKind tells what an Action does.
type ActionKind int

// Action kinds.
const (
	// ActionEvent posts one event to the producer.
	ActionEvent ActionKind = iota + 1
	// ActionConsent puts one consent change to the consent API.
	ActionConsent
)

// Action is one step of the simulated traffic.
type Action struct {
	// Seq numbers actions from 1 in generation order.
	Seq int
	// Kind selects Event or Consent.
	Kind    ActionKind
	Event   *EventAction
	Consent *ConsentAction
}

// TenantID is the tenant the action belongs to; the Runner runs a tenant's
// actions in order on one worker.
func (a *Action) TenantID() string {
	if a.Kind == ActionEvent {
		return a.Event.Event.TenantID
	}
	return a.Consent.TenantID
}

// EventAction is an event to post.
type EventAction struct {
	// Event as the client sends it: EventID set, ReceivedAt zero (the producer
	// stamps it), GPC false (sent as the Sec-GPC header instead).
	Event schema.InteractionEvent
	// GPC: send the request with Sec-GPC: 1.
	GPC bool
	// PII lists every value seeded into Event.Text.
	PII []PII
	// NewLink marks the first identify of a user with their browser's
	// anonymous id: the Runner waits until the consent API shows the link
	// before it goes on with the tenant, so that every later action of the
	// tenant happens after the link (and the ground truth can order them).
	NewLink bool
	// linkSentAt is set by the Runner when a NewLink event was accepted.
	linkSentAt time.Time
}

// ConsentAction is a consent change to put.
type ConsentAction struct {
	// SubjectType is schema.SubjectUser, schema.SubjectAnonymous or
	// schema.SubjectTenant.
	SubjectType string
	SubjectID   string
	TenantID    string
	Purpose     string
	Status      string // schema.StatusGranted or schema.StatusDenied
}

// Path is the consent API path of the change, ids percent-encoded:
// /v1/tenants/{tenant}/users/{user}/consents/{purpose},
// /v1/tenants/{tenant}/anonymous/{anon}/consents/{purpose} or
// /v1/tenants/{tenant}/consents/{purpose}.
func (c *ConsentAction) Path() string {
	t, p := url.PathEscape(c.TenantID), url.PathEscape(c.Purpose)
	switch c.SubjectType {
	case schema.SubjectTenant:
		return fmt.Sprintf("/v1/tenants/%s/consents/%s", url.PathEscape(c.SubjectID), p)
	case schema.SubjectAnonymous:
		return fmt.Sprintf("/v1/tenants/%s/anonymous/%s/consents/%s", t, url.PathEscape(c.SubjectID), p)
	}
	return fmt.Sprintf("/v1/tenants/%s/users/%s/consents/%s", t, url.PathEscape(c.SubjectID), p)
}

// Subject is the consent subject of the change under tenant-scoped ids (the
// default policy).
func (c *ConsentAction) Subject() identity.Subject {
	m := identity.DefaultModes()
	switch c.SubjectType {
	case schema.SubjectTenant:
		return identity.TenantOf(c.SubjectID)
	case schema.SubjectAnonymous:
		return m.Subject(identity.Anonymous, c.TenantID, c.SubjectID)
	}
	return m.Subject(identity.User, c.TenantID, c.SubjectID)
}

// Generator produces a deterministic sequence of Actions from a Config. It is not
// safe for concurrent use.
type Generator struct {
	cfg     Config
	r       *rand.Rand
	world   *World
	seq     int
	initial []*User // users still to grant consent up front
	weights []int   // cumulative user activity weights over world.Users()
	users   []*User
	base    time.Time
	churn   *churn // nil without a plan
	events  int    // events generated so far
}

// NewGenerator validates cfg and builds the world from its seed.
func NewGenerator(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("loadgen config: %w", err)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	g := &Generator{cfg: cfg, r: r, world: newWorld(r, cfg.Tenants, cfg.UsersPerTenant),
		base: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	g.users = g.world.Users()
	total := 0
	for _, u := range g.users {
		total += u.weight
		g.weights = append(g.weights, total)
		if r.Float64() < cfg.InitialGrantShare {
			g.initial = append(g.initial, u)
		}
	}
	g.churn = newChurn(cfg, g.world, g.initial)
	return g, nil
}

// World is the generated population.
func (g *Generator) World() *World { return g.world }

// Next returns the next action. The initial grants come first.
func (g *Generator) Next() Action {
	g.seq++
	a := Action{Seq: g.seq}
	if len(g.initial) > 0 {
		u := g.initial[0]
		g.initial = g.initial[1:]
		a.Kind, a.Consent = ActionConsent, g.userConsent(u, schema.StatusGranted)
		return a
	}
	if g.churn != nil {
		if c := g.churn.pop(g.events); c != nil {
			a.Kind, a.Consent = ActionConsent, c
			return a
		}
	}
	x := g.r.Float64()
	c := g.cfg
	switch {
	case x < c.WithdrawRate:
		a.Kind, a.Consent = ActionConsent, g.userConsent(g.pickUser(), schema.StatusDenied)
	case x < c.WithdrawRate+c.GrantRate:
		a.Kind, a.Consent = ActionConsent, g.userConsent(g.pickUser(), schema.StatusGranted)
	case x < c.WithdrawRate+c.GrantRate+c.TenantOptOutRate:
		a.Kind, a.Consent = ActionConsent, g.tenantConsent(schema.StatusDenied)
	case x < c.WithdrawRate+c.GrantRate+c.TenantOptOutRate+c.TenantGrantRate:
		a.Kind, a.Consent = ActionConsent, g.tenantConsent(schema.StatusGranted)
	default:
		a.Kind, a.Event = ActionEvent, g.event()
		g.events++
		if g.churn != nil {
			g.churn.after(a.Event)
		}
	}
	return a
}

func (g *Generator) userConsent(u *User, status string) *ConsentAction {
	return &ConsentAction{SubjectType: schema.SubjectUser, SubjectID: u.ID, TenantID: u.TenantID, Purpose: g.cfg.Purpose, Status: status}
}

func (g *Generator) tenantConsent(status string) *ConsentAction {
	t := g.world.Tenants[g.r.IntN(len(g.world.Tenants))]
	return &ConsentAction{SubjectType: schema.SubjectTenant, SubjectID: t.ID, TenantID: t.ID, Purpose: g.cfg.Purpose, Status: status}
}

// pickUser draws a user by activity weight.
func (g *Generator) pickUser() *User {
	n := g.r.IntN(g.weights[len(g.weights)-1])
	lo, hi := 0, len(g.weights)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if g.weights[mid] > n {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return g.users[lo]
}

func (g *Generator) tenantOf(u *User) *Tenant {
	for _, t := range g.world.Tenants {
		if t.ID == u.TenantID {
			return t
		}
	}
	panic("loadgen: user without tenant")
}

func (g *Generator) uuid() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := g.r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return uuid.UUID(b).String()
}

func (g *Generator) event() *EventAction {
	u := g.pickUser()
	t := g.tenantOf(u)
	anonymous := g.r.Float64() < g.cfg.AnonymousRate
	et := g.pickType(anonymous)
	if u.session == "" || g.r.IntN(12) == 0 {
		u.session = "s-" + randString(g.r, "0123456789abcdef", 12)
	}
	ev := schema.InteractionEvent{
		EventID:    g.uuid(),
		EventType:  et.name,
		TenantID:   t.ID,
		OccurredAt: g.base.Add(time.Duration(g.seq) * time.Second),
		Properties: propertiesFor(g.r, et.name),
	}
	act := &EventAction{GPC: g.r.Float64() < g.cfg.GPCRate}
	// A user with a browser cookie is on a journey: logged out they browse
	// anonymously (their cookie is the subject), then log in (identify links
	// the cookie to them), then use the product logged in (their web events
	// carry both ids), and now and then log out.
	journey := ""
	if !anonymous && u.Cookie != "" {
		switch n := g.r.IntN(10); {
		case !u.loggedIn && n < 6:
			journey = "browse"
		case !u.loggedIn:
			journey = "login"
			u.loggedIn = true
		case n == 0:
			journey = "logout"
			u.loggedIn = false
		default:
			journey = "web"
		}
	}
	switch {
	case anonymous:
		ev.AnonymousID = t.anonymous[g.r.IntN(len(t.anonymous))]
		ev.IP = ipAddr(g.r)
		ev.UserAgent = agents[g.r.IntN(len(agents))]
		ev.Jurisdiction = pickJurisdiction(g.r)
	case journey == "browse" || journey == "logout":
		// Logged out on the user's own browser: their jurisdiction is known to
		// the backend from the session's location.
		et = eventTypes[0] // page_viewed
		ev.EventType = et.name
		ev.Properties = propertiesFor(g.r, et.name)
		ev.AnonymousID, ev.SessionID = u.Cookie, u.session
		ev.Jurisdiction, ev.IP, ev.Locale, ev.UserAgent = u.Jurisdiction, u.IP, u.Locale, u.UserAgent
	case journey == "login":
		ev.EventType, ev.Properties, et.withText = "identify", nil, false
		ev.UserID, ev.AnonymousID, ev.SessionID = u.ID, u.Cookie, u.session
		ev.Jurisdiction, ev.IP, ev.Locale, ev.UserAgent = u.Jurisdiction, u.IP, u.Locale, u.UserAgent
		ev.ActorName, ev.ActorEmail, ev.ActorHandle = u.Name, u.Email, u.Handle
		act.NewLink = !u.linked
		u.linked = true
	default:
		ev.UserID, ev.SessionID = u.ID, u.session
		if journey == "web" {
			ev.AnonymousID = u.Cookie
		}
		ev.Jurisdiction, ev.IP, ev.Locale, ev.UserAgent = u.Jurisdiction, u.IP, u.Locale, u.UserAgent
		ev.ActorName, ev.ActorEmail, ev.ActorHandle = u.Name, u.Email, u.Handle
	}
	if et.withText && journey != "browse" && journey != "logout" {
		// Another user of the tenant (UsersPerTenant >= 2).
		colleague := t.Users[(indexOf(t.Users, u)+1+g.r.IntN(len(t.Users)-1))%len(t.Users)]
		actor := u
		if anonymous {
			// An anonymous visitor has no identity of their own to leak.
			actor = &User{Name: "Anonymous Visitor", Handle: "anonymous"}
		}
		rates := g.cfg.PIIRates
		if anonymous {
			rates = withoutActor(rates)
		}
		ev.Text, act.PII = textFor(g.r, et.name, actor, colleague, t.Domain, rates)
	}
	act.Event = ev
	return act
}

func (g *Generator) pickType(anonymous bool) struct {
	name     string
	weight   int
	withText bool
} {
	if anonymous {
		if g.r.IntN(2) == 0 {
			return eventTypes[0] // page_viewed
		}
		return eventTypes[2] // search_performed
	}
	total := 0
	for _, e := range eventTypes {
		total += e.weight
	}
	n := g.r.IntN(total)
	for _, e := range eventTypes {
		if n < e.weight {
			return e
		}
		n -= e.weight
	}
	return eventTypes[0]
}

func withoutActor(rates map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(rates))
	for k, v := range rates {
		if k != KindActorName && k != KindActorHandle {
			out[k] = v
		}
	}
	return out
}

func indexOf(us []*User, u *User) int {
	for i, x := range us {
		if x == u {
			return i
		}
	}
	return 0
}
