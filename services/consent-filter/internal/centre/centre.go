// Package centre is the privacy centre: the pages a SaaS product links its
// users and its tenants' admins to, so they can see what is collected about
// them, under which rule, decide per purpose, and see that a withdrawal
// reached the datasets. It is served by the consent-filter on the consent
// API's listener and rests on the same policy, store and decision code.
//
// Routes:
//
//	POST /v1/centre/links                         consent:write  mint a signed link (JSON; a bound token only for its tenant)
//	GET  /centre/s/{link}/                        the user's or the tenant admin's page
//	POST /centre/s/{link}/purposes/{purpose}      form: status=granted|denied, csrf → 303 back to the page
//	GET  /centre/s/{link}/receipts/{purpose}.json the user's consent record for a purpose (ISO/IEC TS 27560 fields)
//	GET  /centre/s/{link}/report.{csv,json}       the tenant admin's report
//	GET  /centre/assets/centre.css, /centre/assets/logo
//
// A link is "v1.<payload>.<HMAC-SHA256>" (see Signer) naming one subject and
// an expiry; anything else under /centre/s/ is a 403 that changes nothing.
package centre

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/strictjson"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/internal/filter"
	"github.com/consentflow/consentflow/services/consent-filter/internal/history"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

//go:embed templates/*.html assets/centre.css
var files embed.FS

// ScopeLinks mints links: the same scope as writing consent, since a link
// lets its holder change a subject's consent.
const ScopeLinks = "consent:write"

// Recorder records a consent change on consent.changes and returns its
// version once Kafka acknowledged it (the consent API's write path).
type Recorder func(ctx context.Context, c schema.ConsentChange) (version string, err error)

// Receipts answers the erasure receipt of a consent change, if the sink
// published one.
type Receipts interface {
	Receipt(purpose, consentVersion string) (schema.ErasureReceipt, bool)
}

// Centre serves the privacy centre.
type Centre struct {
	Policy *policy.Policy
	// Purpose is the chain's purpose: the one whose processing the page
	// describes, and the store's link purpose.
	Purpose  string
	Signer   *Signer
	Tokens   *auth.Tokens
	Lookup   filter.LookupFunc
	Record   Recorder
	Receipts Receipts
	// History, when set, lists a user's past choices.
	History interface {
		Read(ctx context.Context, s identity.Subject) ([]history.Entry, error)
	}
	// Caught, when set, waits until the store holds every change on
	// consent.changes (a switch redirects to a page that shows it).
	Caught func(ctx context.Context) error
	// Fields is what Describe said about the schema (computed at start).
	Fields []FieldStory
	// PurgeDeadline is the sink's ERASURE_PURGE_DEADLINE.
	PurgeDeadline time.Duration
	// LinkTTL is the default lifetime of a minted link, MaxLinkTTL its bound.
	LinkTTL, MaxLinkTTL time.Duration
	// PublicURL, when set, is prefixed to minted links ("https://privacy.example.com").
	PublicURL string
	Theme     Theme
	Report    Reporter
	MaxLinks  int
	Now       func() time.Time
	Logger    *zap.Logger

	tmpl *template.Template
}

// Theme is the product's look: its name, colours and logo.
type Theme struct {
	ProductName string `json:"product_name"`
	// Colours are CSS colours (#rrggbb), checked at start.
	Accent     string `json:"accent"`
	Background string `json:"background"`
	Text       string `json:"text"`
	// LogoFile is a PNG or SVG served as /centre/assets/logo (read at start).
	LogoFile    string `json:"logo_file"`
	logo        []byte
	logoType    string
	SupportText string `json:"support_text"`
}

// Handler returns the routes.
func (c *Centre) Handler() http.Handler {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LinkTTL == 0 {
		c.LinkTTL = 15 * time.Minute
	}
	if c.MaxLinkTTL == 0 {
		c.MaxLinkTTL = 24 * time.Hour
	}
	if c.Theme.ProductName == "" {
		c.Theme.ProductName = "this product"
	}
	c.tmpl = template.Must(template.New("").Funcs(template.FuncMap{
		"date": func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") },
	}).ParseFS(files, "templates/*.html"))
	mux := http.NewServeMux()
	mux.Handle("POST /v1/centre/links", c.Tokens.Require(ScopeLinks, http.HandlerFunc(c.mint)))
	mux.HandleFunc("GET /centre/s/{link}/{$}", c.page)
	mux.HandleFunc("POST /centre/s/{link}/purposes/{purpose}", c.change)
	mux.HandleFunc("GET /centre/s/{link}/receipts/{file}", c.receipt)
	mux.HandleFunc("GET /centre/s/{link}/report.csv", c.report("csv"))
	mux.HandleFunc("GET /centre/s/{link}/report.json", c.report("json"))
	mux.HandleFunc("GET /centre/assets/centre.css", c.css)
	mux.HandleFunc("GET /centre/assets/logo", c.logo)
	return mux
}

// LinkRequest is the body of POST /v1/centre/links.
type LinkRequest struct {
	Kind         string `json:"kind"` // "user" (default) or "admin"
	TenantID     string `json:"tenant_id"`
	UserID       string `json:"user_id,omitempty"`
	Jurisdiction string `json:"jurisdiction,omitempty"`
	TTLSeconds   int    `json:"ttl_seconds,omitempty"`
}

// LinkResponse is the minted link.
type LinkResponse struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (c *Centre) mint(w http.ResponseWriter, r *http.Request) {
	var req LinkRequest
	if err := strictjson.Decode(http.MaxBytesReader(w, r.Body, 8<<10), &req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid request", "problems": []string{"body: " + err.Error()}})
		return
	}
	if req.Kind == "" {
		req.Kind = KindUser
	}
	ttl := c.LinkTTL
	if req.TTLSeconds != 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	var probs []string
	if ttl <= 0 || ttl > c.MaxLinkTTL {
		probs = append(probs, fmt.Sprintf("ttl_seconds: must be 1..%d", int(c.MaxLinkTTL.Seconds())))
	}
	if req.Kind == KindUser && c.Policy.Identity.Scope(identity.User) != identity.TenantScoped {
		probs = append(probs, "kind: user pages need tenant-scoped user ids (policy identity.user_ids: tenant)")
	}
	exp := c.Now().Add(ttl)
	l := Link{Kind: req.Kind, Tenant: req.TenantID, User: req.UserID, Jurisdiction: req.Jurisdiction, Expires: exp.Unix()}
	if err := l.Check(); err != nil {
		probs = append(probs, err.Error())
	}
	if len(probs) > 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid request", "problems": probs})
		return
	}
	if err := auth.FromContext(r.Context()).CheckTenant(l.Tenant); err != nil {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "forbidden", "problems": []string{err.Error()}})
		return
	}
	tok, err := c.Signer.Mint(l)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid request", "problems": []string{err.Error()}})
		return
	}
	writeJSON(w, http.StatusOK, LinkResponse{URL: c.PublicURL + pagePath(tok), ExpiresAt: time.Unix(l.Expires, 0).UTC()})
}

func pagePath(tok string) string { return "/centre/s/" + tok + "/" }

// secure sets the headers every centre response carries: no third-party
// anything, no framing, no referrer (the link is a credential), no caching.
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

func (c *Centre) forbidden(w http.ResponseWriter) {
	secure(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusForbidden)
	_ = c.tmpl.ExecuteTemplate(w, "forbidden.html", c.Theme)
}

func (c *Centre) unavailable(w http.ResponseWriter, err error) {
	c.Logger.Warn("privacy centre: consent state unavailable", zap.Error(err))
	secure(w)
	w.Header().Set("Retry-After", "5")
	http.Error(w, "Your privacy settings cannot be shown right now. Please try again in a minute.", http.StatusServiceUnavailable)
}

// link verifies the request's link.
func (c *Centre) link(r *http.Request) (Link, string, bool) {
	tok := r.PathValue("link")
	l, err := c.Signer.Verify(tok)
	return l, tok, err == nil
}

// sameOrigin refuses a form posted from another site (Sec-Fetch-Site or
// Origin, when the browser sends them); the CSRF token is checked besides.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// PurposeView is one purpose on a page.
type PurposeView struct {
	ID, Title  string
	On         bool
	Why        string
	Reason     string
	Action     string // "denied" to turn off, "granted" to turn on
	ActionText string
	OwnChoice  bool
	Since      time.Time
	Withdrawn  *Withdrawal
	Version    string
	TenantOff  bool
	Choices    []Choice
}

// Choice is one past choice in a user's list.
type Choice struct {
	At      time.Time
	On      bool
	Source  string
	Version string
	Current bool
}

// Withdrawal is what the page says after a withdrawal.
type Withdrawal struct {
	At            time.Time
	PurgeDeadline time.Time
	Receipt       *schema.ErasureReceipt
}

type pageData struct {
	Theme     Theme
	Token     string
	CSRF      string
	Admin     bool
	Tenant    string
	User      string
	Region    string
	Regime    string
	GPC       bool
	Purposes  []PurposeView
	Fields    []FieldStory
	Purpose   string
	Done      string
	ExpiresAt time.Time
	Report    *Report
	Policy    string
}

func (c *Centre) purposes() []string {
	ps := slices.Sorted(maps.Keys(c.Policy.Purposes))
	// the chain's purpose first
	if i := slices.Index(ps, c.Purpose); i > 0 {
		ps = append([]string{c.Purpose}, slices.Delete(ps, i, i+1)...)
	}
	return ps
}

func (c *Centre) title(p string) string {
	if d := c.Policy.Purposes[p].Description; d != "" {
		return d
	}
	return p
}

func (c *Centre) page(w http.ResponseWriter, r *http.Request) {
	l, tok, ok := c.link(r)
	if !ok {
		c.forbidden(w)
		return
	}
	d := pageData{Theme: c.Theme, Token: tok, CSRF: c.Signer.csrf(tok), Tenant: l.Tenant, User: l.User,
		Region: l.Jurisdiction, Regime: string(c.Policy.Regime(l.Jurisdiction)), GPC: r.Header.Get("Sec-GPC") == "1",
		Fields: c.Fields, Purpose: c.Purpose, Done: r.URL.Query().Get("done"), ExpiresAt: time.Unix(l.Expires, 0), Policy: c.Policy.Version}
	var err error
	if l.Kind == KindAdmin {
		d.Admin = true
		d.Purposes, err = c.tenantPurposes(r.Context(), l)
		if err == nil && c.Report != nil {
			var rep Report
			rep, err = c.Report.Report(r.Context(), l.Tenant, c.Now())
			d.Report = &rep
		}
	} else {
		d.Purposes, err = c.userPurposes(r.Context(), l, d.GPC)
	}
	if err != nil {
		c.unavailable(w, err)
		return
	}
	secure(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := c.tmpl.ExecuteTemplate(w, "page.html", d); err != nil {
		c.Logger.Warn("privacy centre: render", zap.Error(err))
	}
}

// why says, in plain language, why a purpose is on or off for the user.
func (c *Centre) why(st filter.Standing, region string) string {
	tenantName := "Your organisation"
	where := "where you are"
	if region != "" {
		where = "in your region (" + region + ")"
	}
	switch st.Decision.Reason {
	case decision.AllowedConsent:
		return "You turned this on."
	case decision.AllowedOptOutRegime:
		return "The rules " + where + " allow this unless you say no, and you have not said no."
	case decision.TenantOptOut:
		return tenantName + " has turned this off for everyone in it. Your own choice applies again if they turn it back on."
	case decision.TenantConsentAfterEvent:
		return tenantName + " has just turned this on; it applies to what you do from now on."
	case decision.UserOptOut:
		return "You turned this off."
	case decision.ConsentAfterEvent:
		return "You have just turned this on; it applies to what you do from now on."
	case decision.GPC:
		return "Your browser sends Global Privacy Control, which counts as no " + where + "."
	case decision.NoConsent:
		return "The rules " + where + " need your permission first, and you have not given it."
	case decision.LinkedOptOut:
		return "You said no under another of your ids (for example before you signed in), so it is off for this one too."
	case decision.LinkedConsentAfterEvent:
		return "One of your other ids has just changed its choice; it applies to what you do from now on."
	case decision.LinkLimit:
		return "Your account is joined to too many other ids for us to check them all, so we leave this off."
	}
	return ""
}

func (c *Centre) userPurposes(ctx context.Context, l Link, gpc bool) ([]PurposeView, error) {
	now := c.Now()
	var out []PurposeView
	var past []history.Entry
	if c.History != nil {
		var err error
		if past, err = c.History.Read(ctx, c.Policy.Identity.Subject(identity.User, l.Tenant, l.User)); err != nil {
			return nil, err
		}
	}
	for _, p := range c.purposes() {
		st, err := filter.StandingOf(ctx, c.Lookup, c.Policy, c.Purpose, p, l.Tenant, l.User, l.Jurisdiction, gpc, now, c.MaxLinks)
		if err != nil {
			return nil, err
		}
		v := PurposeView{ID: p, Title: c.title(p), On: st.Decision.Allow, Reason: string(st.Decision.Reason), Why: c.why(st, l.Jurisdiction),
			TenantOff: st.Tenant.Has() && st.Tenant.Status != decision.Granted}
		if st.User.Has() {
			v.OwnChoice, v.Since, v.Version = true, st.User.EffectiveAt, st.User.Version()
			if st.User.Status == decision.Denied {
				wd := &Withdrawal{At: st.User.EffectiveAt, PurgeDeadline: st.User.EffectiveAt.Add(c.PurgeDeadline)}
				if c.Receipts != nil {
					if rc, ok := c.Receipts.Receipt(p, v.Version); ok {
						wd.Receipt, wd.PurgeDeadline = &rc, rc.PurgeDeadline
					}
				}
				v.Withdrawn = wd
			}
		}
		for _, e := range past {
			if e.Purpose == p {
				v.Choices = append(v.Choices, Choice{At: e.EffectiveAt, On: e.Status == schema.StatusGranted, Source: e.Source, Version: e.Version, Current: e.Version == v.Version})
			}
		}
		// The switch acts on the user's own choice: off when it is on for
		// them (or when their own choice is yes), on otherwise.
		if v.On || (st.User.Has() && st.User.Status == decision.Granted) {
			v.Action, v.ActionText = "denied", "Turn off"
		} else {
			v.Action, v.ActionText = "granted", "Turn on"
		}
		out = append(out, v)
	}
	return out, nil
}

func (c *Centre) tenantPurposes(ctx context.Context, l Link) ([]PurposeView, error) {
	var out []PurposeView
	t := identity.TenantOf(l.Tenant)
	for _, p := range c.purposes() {
		recs, err := c.Lookup(ctx, p, []consentstore.SubjectRef{t})
		if err != nil {
			return nil, err
		}
		rec := recs[t]
		v := PurposeView{ID: p, Title: c.title(p), On: !rec.Has() || rec.Status == decision.Granted}
		if rec.Has() {
			v.OwnChoice, v.Since, v.Version = true, rec.EffectiveAt, rec.Version()
		}
		if v.On {
			v.Why = "On for your organisation: each person's own choice and the rules of their region decide."
			v.Action, v.ActionText = "denied", "Turn off for everyone"
		} else {
			v.Why = "Off for everyone in your organisation, whatever their own choice."
			v.Action, v.ActionText = "granted", "Turn back on"
			v.Withdrawn = &Withdrawal{At: rec.EffectiveAt, PurgeDeadline: rec.EffectiveAt.Add(c.PurgeDeadline)}
			if c.Receipts != nil {
				if rc, ok := c.Receipts.Receipt(p, v.Version); ok {
					v.Withdrawn.Receipt, v.Withdrawn.PurgeDeadline = &rc, rc.PurgeDeadline
				}
			}
		}
		out = append(out, v)
	}
	return out, nil
}

// change applies a switch: the link's subject, the purpose, the status; the
// change goes through the consent API's write path (consent.changes), then
// the browser is sent back to the page.
func (c *Centre) change(w http.ResponseWriter, r *http.Request) {
	l, tok, ok := c.link(r)
	if !ok || !sameOrigin(r) {
		c.forbidden(w)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil || !c.Signer.csrfOK(tok, r.PostForm.Get("csrf")) {
		c.forbidden(w)
		return
	}
	purpose := r.PathValue("purpose")
	status := strings.ToUpper(r.PostForm.Get("status"))
	if !c.Policy.HasPurpose(purpose) || (status != schema.StatusGranted && status != schema.StatusDenied) {
		secure(w)
		http.Error(w, "Unknown purpose or choice.", http.StatusBadRequest)
		return
	}
	var s identity.Subject
	if l.Kind == KindAdmin {
		s = identity.TenantOf(l.Tenant)
	} else {
		s = c.Policy.Identity.Subject(identity.User, l.Tenant, l.User)
	}
	ch := identity.ConsentChange(s, purpose, status, c.Now(), "privacy-centre", c.Policy.Version)
	if ch.TenantID == "" {
		ch.TenantID = l.Tenant
	}
	if _, err := c.Record(r.Context(), ch); err != nil {
		c.Logger.Warn("privacy centre: consent change not recorded", zap.Error(err))
		secure(w)
		w.Header().Set("Retry-After", "2")
		http.Error(w, "Your choice could not be saved. Nothing changed; please try again.", http.StatusServiceUnavailable)
		return
	}
	if c.Caught != nil {
		if err := c.Caught(r.Context()); err != nil {
			// Recorded, not yet in the store: the page may show the old state
			// for a moment; the filter waits for it before deciding anyway.
			c.Logger.Warn("privacy centre: change recorded, store not caught up yet", zap.Error(err))
		}
	}
	http.Redirect(w, r, pagePath(tok)+"?done="+url.QueryEscape(purpose)+"#"+url.PathEscape(purpose), http.StatusSeeOther)
}

func (c *Centre) css(w http.ResponseWriter, _ *http.Request) {
	b, _ := files.ReadFile("assets/centre.css")
	secure(w)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	th := c.Theme
	vars := ":root{"
	for _, kv := range [][2]string{{"--accent", th.Accent}, {"--bg", th.Background}, {"--text", th.Text}} {
		if kv[1] != "" {
			vars += kv[0] + ":" + kv[1] + ";"
		}
	}
	_, _ = io.WriteString(w, string(b)+"\n"+vars+"}\n")
}

func (c *Centre) logo(w http.ResponseWriter, _ *http.Request) {
	if len(c.Theme.logo) == 0 {
		http.NotFound(w, nil)
		return
	}
	secure(w)
	w.Header().Set("Content-Type", c.Theme.logoType)
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(c.Theme.logo)
}

// errNoRecord: a receipt for a purpose without the user's own record.
var errNoRecord = errors.New("no consent record")
