// Package api is the consent API: it records consent changes and identity
// links on consent.changes (the source of truth) and answers a subject's
// current consent from the store.
//
// Routes (paths take ids as percent-encoded segments: "/" is %2F, "%" is %25;
// every id passes pkg/identity's rule, the same as at ingest):
//
//	PUT  /v1/tenants/{tenant}/consents/{purpose}                   consent:write  the tenant's own consent
//	PUT  /v1/tenants/{tenant}/users/{user}/consents/{purpose}      consent:write  a user's consent in a tenant
//	PUT  /v1/tenants/{tenant}/anonymous/{anon}/consents/{purpose}  consent:write  an anonymous id's (cookie banner)
//	PUT  /v1/tenants/{tenant}/users/{user}/anonymous/{anon}        consent:write  link an anonymous id to the user
//	GET  /v1/tenants/{tenant}/users/{user}/consents                consent:read
//	GET  /v1/tenants/{tenant}/anonymous/{anon}/consents            consent:read
//	PUT  /v1/users/{user}/consents/{purpose}                       consent:write  global user ids; with tenant-scoped ids the body's tenant_id names the tenant
//	GET  /v1/users/{user}/consents[?tenant_id=T]                   consent:read   likewise
//	POST /v1/consents/import                                       consent:import NDJSON; never rolls a subject back
//
// A token bound to a tenant may only act for that tenant (403 with the
// reason otherwise), so it can write neither another tenant's records nor a
// global user's (which would apply in every tenant).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/strictjson"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// Scopes of the consent API.
const (
	ScopeRead  = "consent:read"
	ScopeWrite = "consent:write"
	// ScopeImport may import records with their own (past) effective_at.
	// Apart from consent:write because it writes history, not the present.
	ScopeImport = "consent:import"
)

// Appender appends records to consent.changes and reports their versions.
type Appender interface {
	Append(ctx context.Context, recs ...stream.Record) ([]stream.Position, error)
}

// Reader answers current consent records.
type Reader interface {
	Lookup(ctx context.Context, purpose string, refs []consentstore.SubjectRef) (map[consentstore.SubjectRef]consentstore.Record, error)
}

// API serves the consent endpoints.
type API struct {
	Policy   *policy.Policy
	Tokens   *auth.Tokens
	Changes  Appender
	Codec    *avro.Codec[schema.ConsentChange]
	Store    Reader
	Logger   *zap.Logger
	Now      func() time.Time
	Requests *prometheus.CounterVec
	// Caught, when set, waits until the store holds every change on
	// consent.changes that existed when it was called (an import compares
	// its records with the stored ones only then).
	Caught func(ctx context.Context) error

	// MaxImportBytes and MaxImportRecords bound a bulk import (defaults 64 MiB,
	// 100000).
	MaxImportBytes   int64
	MaxImportRecords int
	// WriteTimeout bounds the wait for Kafka's acknowledgement (default 10s).
	WriteTimeout time.Duration
	// IOTimeout is how long an import may go without progress reading its
	// body or writing its answer; the import extends the connection's
	// deadlines by it as it goes (default 30s), up to MaxImportDuration
	// (default 10m) for the whole upload.
	IOTimeout         time.Duration
	MaxImportDuration time.Duration
}

// NewRequestsMetric registers the request counter (labels: route, code).
func NewRequestsMetric(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "consentflow_consent_api_requests_total", Help: "Consent API requests by route and status code."}, []string{"route", "code"})
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}

// Handler returns the routes.
func (a *API) Handler() http.Handler {
	if a.MaxImportBytes == 0 {
		a.MaxImportBytes = 64 << 20
	}
	if a.MaxImportRecords == 0 {
		a.MaxImportRecords = 100_000
	}
	if a.WriteTimeout == 0 {
		a.WriteTimeout = 10 * time.Second
	}
	if a.IOTimeout == 0 {
		a.IOTimeout = 30 * time.Second
	}
	if a.MaxImportDuration == 0 {
		a.MaxImportDuration = 10 * time.Minute
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	mux := http.NewServeMux()
	route := func(pattern, scope string, h http.HandlerFunc) {
		mux.Handle(pattern, a.count(pattern, a.Tokens.Require(scope, h)))
	}
	route("PUT /v1/tenants/{tenant}/consents/{purpose}", ScopeWrite, a.putTenant)
	route("PUT /v1/tenants/{tenant}/users/{user}/consents/{purpose}", ScopeWrite, a.putSubject(identity.User, true))
	route("PUT /v1/tenants/{tenant}/anonymous/{anon}/consents/{purpose}", ScopeWrite, a.putSubject(identity.Anonymous, true))
	route("PUT /v1/tenants/{tenant}/users/{user}/anonymous/{anon}", ScopeWrite, a.putLink)
	route("GET /v1/tenants/{tenant}/users/{user}/consents", ScopeRead, a.getSubject(identity.User, true))
	route("GET /v1/tenants/{tenant}/anonymous/{anon}/consents", ScopeRead, a.getSubject(identity.Anonymous, true))
	route("PUT /v1/users/{user}/consents/{purpose}", ScopeWrite, a.putSubject(identity.User, false))
	route("GET /v1/users/{user}/consents", ScopeRead, a.getSubject(identity.User, false))
	route("POST /v1/consents/import", ScopeImport, a.importNDJSON)
	return mux
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

// Unwrap lets http.ResponseController reach the connection (deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (a *API) count(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		next.ServeHTTP(rec, r)
		if a.Requests != nil {
			a.Requests.WithLabelValues(route, fmt.Sprint(rec.code)).Inc()
		}
	})
}

// ChangeRequest is the body of a consent PUT.
type ChangeRequest struct {
	Status string `json:"status"`
	Source string `json:"source"`
	// TenantID names the user's tenant on PUT /v1/users/{user}/...; on the
	// /v1/tenants/{tenant}/... paths it may repeat the path's tenant.
	TenantID string `json:"tenant_id,omitempty"`
}

// ChangeResponse is a stored consent record or link.
type ChangeResponse struct {
	SubjectType   string    `json:"subject_type"`
	SubjectID     string    `json:"subject_id"`
	TenantID      string    `json:"tenant_id,omitempty"`
	SubjectScope  string    `json:"subject_scope,omitempty"`
	LinkedType    string    `json:"linked_type,omitempty"`
	LinkedID      string    `json:"linked_id,omitempty"`
	Purpose       string    `json:"purpose,omitempty"`
	Status        string    `json:"status"`
	EffectiveAt   time.Time `json:"effective_at"`
	Source        string    `json:"source"`
	PolicyVersion string    `json:"policy_version,omitempty"`
	Version       string    `json:"version"`
}

type problem struct {
	Error    string   `json:"error"`
	Problems []string `json:"problems,omitempty"`
	// MoreProblems counts the problems Problems leaves out (imports list
	// at most refusals.MaxListed).
	MoreProblems int `json:"more_problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, problems ...string) {
	writeJSON(w, http.StatusBadRequest, problem{Error: "invalid request", Problems: problems})
}

func forbidden(w http.ResponseWriter, err error) {
	writeJSON(w, http.StatusForbidden, problem{Error: "forbidden", Problems: []string{err.Error()}})
}

func unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, problem{Error: msg})
}

// checkID applies the identifier rule; "" when fine, else "field: reason".
func checkID(field, id string) string {
	if err := identity.Check(id); err != nil {
		return field + ": " + identity.Message(err)
	}
	return ""
}

// subjectFrom resolves the subject a request names: the path's ids and, on
// the tenant-less /v1/users path, the tenant_id the body or query gives. The
// policy says whether the id is scoped to the tenant (then the tenant is
// required) or global. It returns the subject, the tenant the request acts in
// ("" for a global subject written without one), and problems.
func (a *API) subjectFrom(kind identity.Kind, pathTenant bool, r *http.Request, tenant string) (identity.Subject, string, []string) {
	var probs []string
	idField, id := "path: user", r.PathValue("user")
	if kind == identity.Anonymous {
		idField, id = "path: anon", r.PathValue("anon")
	}
	if p := checkID(idField, id); p != "" {
		probs = append(probs, p)
	}
	tenantField := "tenant_id"
	if pathTenant {
		tenantField = "path: tenant"
		if tenant != "" && tenant != r.PathValue("tenant") {
			probs = append(probs, fmt.Sprintf("tenant_id: %q differs from the path's tenant", tenant))
		}
		tenant = r.PathValue("tenant")
	}
	scope := a.Policy.Identity.Scope(kind)
	switch {
	case tenant != "":
		if p := checkID(tenantField, tenant); p != "" {
			probs = append(probs, p)
		}
	case scope == identity.TenantScoped:
		probs = append(probs, fmt.Sprintf("tenant_id: required: %s ids are scoped to their tenant (policy identity.%s_ids: tenant); use /v1/tenants/{tenant}/users/{user}/...", kind, kind))
	}
	return a.Policy.Identity.Subject(kind, tenant, id), tenant, probs
}

// authorize checks the request's credential against the tenant it acts in
// and the subject it writes: a bound credential may not act for another
// tenant, nor write a global subject (whose choice applies in every tenant).
func authorize(r *http.Request, tenant string, s identity.Subject) error {
	c := auth.FromContext(r.Context())
	if err := c.CheckTenant(tenant); err != nil {
		return err
	}
	if (s.Kind == identity.User || s.Kind == identity.Anonymous) && s.Tenant == "" {
		return c.CheckTenant("")
	}
	return nil
}

func decodeChange(w http.ResponseWriter, r *http.Request) (ChangeRequest, bool) {
	var req ChangeRequest
	if !isJSON(r) {
		writeJSON(w, http.StatusUnsupportedMediaType, problem{Error: "Content-Type must be application/json"})
		return req, false
	}
	if err := strictjson.Decode(http.MaxBytesReader(w, r.Body, 16<<10), &req); err != nil && !errors.Is(err, io.EOF) {
		badRequest(w, "body: "+err.Error())
		return req, false
	}
	return req, true
}

// consent validates one requested consent change of s; effectiveAt is the
// server clock for live changes and the record's own time for imports.
func (a *API) consent(path string, s identity.Subject, purpose, status, source string, effectiveAt time.Time) (schema.ConsentChange, []string) {
	var probs []string
	if !a.Policy.HasPurpose(purpose) {
		probs = append(probs, fmt.Sprintf("%spurpose: unknown purpose %q", path, purpose))
	}
	st := strings.ToUpper(status)
	if st != schema.StatusGranted && st != schema.StatusDenied {
		probs = append(probs, path+`status: must be "granted" or "denied"`)
	}
	if len(source) > 128 {
		probs = append(probs, path+"source: longer than 128 bytes")
	}
	return identity.ConsentChange(s, purpose, st, effectiveAt, source, a.Policy.Version), probs
}

func (a *API) putTenant(w http.ResponseWriter, r *http.Request) {
	req, ok := decodeChange(w, r)
	if !ok {
		return
	}
	tenant := r.PathValue("tenant")
	var probs []string
	if p := checkID("path: tenant", tenant); p != "" {
		probs = append(probs, p)
	}
	if req.TenantID != "" {
		probs = append(probs, "tenant_id: not allowed on a tenant's consent")
	}
	c, p := a.consent("", identity.TenantOf(tenant), r.PathValue("purpose"), req.Status, req.Source, a.Now())
	if probs = append(probs, p...); len(probs) > 0 {
		badRequest(w, probs...)
		return
	}
	if err := auth.FromContext(r.Context()).CheckTenant(tenant); err != nil {
		forbidden(w, err)
		return
	}
	a.write(w, r, c)
}

func (a *API) putSubject(kind identity.Kind, pathTenant bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, ok := decodeChange(w, r)
		if !ok {
			return
		}
		s, tenant, probs := a.subjectFrom(kind, pathTenant, r, req.TenantID)
		c, p := a.consent("", s, r.PathValue("purpose"), req.Status, req.Source, a.Now())
		if probs = append(probs, p...); len(probs) > 0 {
			badRequest(w, probs...)
			return
		}
		if err := authorize(r, tenant, s); err != nil {
			forbidden(w, err)
			return
		}
		if c.TenantID == "" {
			c.TenantID = tenant // recorded with a global subject, for the record
		}
		a.write(w, r, c)
	}
}

// LinkRequest is the optional body of a link PUT.
type LinkRequest struct {
	Source string `json:"source"`
}

func (a *API) putLink(w http.ResponseWriter, r *http.Request) {
	var req LinkRequest
	if r.ContentLength != 0 {
		if !isJSON(r) {
			writeJSON(w, http.StatusUnsupportedMediaType, problem{Error: "Content-Type must be application/json"})
			return
		}
		if err := strictjson.Decode(http.MaxBytesReader(w, r.Body, 16<<10), &req); err != nil && !errors.Is(err, io.EOF) {
			badRequest(w, "body: "+err.Error())
			return
		}
	}
	u, tenant, probs := a.subjectFrom(identity.User, true, r, "")
	anon, _, p := a.subjectFrom(identity.Anonymous, true, r, "")
	probs = append(probs, p...)
	if len(req.Source) > 128 {
		probs = append(probs, "source: longer than 128 bytes")
	}
	if len(probs) > 0 {
		badRequest(w, probs...)
		return
	}
	if err := authorize(r, tenant, u); err != nil {
		forbidden(w, err)
		return
	}
	if err := authorize(r, tenant, anon); err != nil {
		forbidden(w, err)
		return
	}
	a.write(w, r, identity.LinkChange(identity.NewLink(u, anon), tenant, a.Now(), req.Source))
}

func (a *API) write(w http.ResponseWriter, r *http.Request, c schema.ConsentChange) {
	resp, err := a.append(r.Context(), []schema.ConsentChange{c})
	if err != nil {
		a.Logger.Warn("consent change not recorded", zap.String("subject_type", c.SubjectType), zap.String("status", c.Status), zap.Error(err))
		unavailable(w, "consent change not recorded: Kafka unavailable, retry")
		return
	}
	writeJSON(w, http.StatusOK, resp[0])
}

// Record appends one change to consent.changes (the privacy centre's
// switches go through here) and returns its version once Kafka acknowledged it.
func (a *API) Record(ctx context.Context, c schema.ConsentChange) (string, error) {
	resp, err := a.append(ctx, []schema.ConsentChange{c})
	if err != nil {
		return "", err
	}
	return resp[0].Version, nil
}

func (a *API) append(ctx context.Context, cs []schema.ConsentChange) ([]ChangeResponse, error) {
	recs := make([]stream.Record, len(cs))
	for i := range cs {
		key, route, err := identity.KeyOf(&cs[i])
		if err != nil {
			return nil, fmt.Errorf("key of change: %w", err)
		}
		b, err := a.Codec.Encode(&cs[i])
		if err != nil {
			return nil, fmt.Errorf("encode change: %w", err)
		}
		recs[i] = stream.Record{Key: []byte(key), Route: []byte(route), Value: b}
	}
	ctx, cancel := context.WithTimeout(ctx, a.WriteTimeout)
	defer cancel()
	pos, err := a.Changes.Append(ctx, recs...)
	if err != nil {
		return nil, err
	}
	out := make([]ChangeResponse, len(cs))
	for i, c := range cs {
		out[i] = ChangeResponse{SubjectType: strings.ToLower(c.SubjectType), SubjectID: c.SubjectID, TenantID: c.TenantID,
			SubjectScope: strings.ToLower(c.SubjectScope), LinkedType: strings.ToLower(c.LinkedType), LinkedID: c.LinkedID,
			Purpose: c.Purpose, Status: strings.ToLower(c.Status), EffectiveAt: c.EffectiveAt, Source: c.Source,
			PolicyVersion: c.PolicyVersion, Version: pos[i].String()}
	}
	return out, nil
}

// ConsentState is one purpose's state in a GET answer.
type ConsentState struct {
	Status      string     `json:"status"`
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	Version     string     `json:"version,omitempty"`
}

// LinkedConsents is a linked subject's consent in a GET answer.
type LinkedConsents struct {
	SubjectType string                  `json:"subject_type"`
	SubjectID   string                  `json:"subject_id"`
	Purposes    map[string]ConsentState `json:"purposes"`
}

// UserConsents is the GET answer for a user or anonymous id.
type UserConsents struct {
	SubjectType  string                  `json:"subject_type"`
	UserID       string                  `json:"user_id,omitempty"`
	AnonymousID  string                  `json:"anonymous_id,omitempty"`
	TenantID     string                  `json:"tenant_id,omitempty"`
	SubjectScope string                  `json:"subject_scope"`
	Jurisdiction string                  `json:"jurisdiction,omitempty"`
	Regime       string                  `json:"regime"`
	GPCDenies    bool                    `json:"gpc_denies"`
	Purposes     map[string]ConsentState `json:"purposes"`
	Tenant       map[string]ConsentState `json:"tenant,omitempty"`
	// Linked are the subjects linked to this one with their own consents: a
	// denial of any of them denies this subject's events too.
	Linked []LinkedConsents `json:"linked"`
	Policy string           `json:"policy_version"`
}

func state(rec consentstore.Record, ok bool) ConsentState {
	if !ok || !rec.Has() {
		return ConsentState{Status: "none"}
	}
	at := rec.EffectiveAt
	return ConsentState{Status: strings.ToLower(string(rec.Status)), EffectiveAt: &at, Version: rec.Version()}
}

// getSubject answers the subject's recorded consent per purpose, the
// tenant's, the linked subjects', and the regime for ?jurisdiction= (the
// consent API does not store jurisdictions: the product backend sends them
// with events).
func (a *API) getSubject(kind identity.Kind, pathTenant bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, tenant, probs := a.subjectFrom(kind, pathTenant, r, r.URL.Query().Get("tenant_id"))
		if len(probs) > 0 {
			badRequest(w, probs...)
			return
		}
		if err := auth.FromContext(r.Context()).CheckTenant(tenant); err != nil {
			forbidden(w, err)
			return
		}
		jur := r.URL.Query().Get("jurisdiction")
		out := UserConsents{SubjectType: string(kind), TenantID: tenant, SubjectScope: string(s.Scope()), Jurisdiction: jur,
			Regime: string(a.Policy.Regime(jur)), Purposes: map[string]ConsentState{}, Linked: []LinkedConsents{}, Policy: a.Policy.Version}
		if kind == identity.User {
			out.UserID = s.ID
		} else {
			out.AnonymousID = s.ID
		}
		var links []identity.Subject
		purposes := slices.Sorted(maps.Keys(a.Policy.Purposes))
		for _, purpose := range purposes {
			refs := []consentstore.SubjectRef{s}
			if tenant != "" {
				refs = append(refs, identity.TenantOf(tenant))
			}
			recs, err := a.Store.Lookup(r.Context(), purpose, refs)
			if err != nil {
				unavailable(w, "consent state unavailable: "+reasonOf(err))
				return
			}
			rec, ok := recs[s]
			out.Purposes[purpose] = state(rec, ok)
			out.GPCDenies = a.Policy.GPCDenies(purpose)
			links = append(links, rec.Links...) // stored under one purpose
			if tenant != "" {
				if out.Tenant == nil {
					out.Tenant = map[string]ConsentState{}
				}
				trec, tok := recs[identity.TenantOf(tenant)]
				out.Tenant[purpose] = state(trec, tok)
			}
		}
		for _, l := range links {
			lc := LinkedConsents{SubjectType: string(l.Kind), SubjectID: l.ID, Purposes: map[string]ConsentState{}}
			out.Linked = append(out.Linked, lc)
		}
		for _, purpose := range purposes {
			if len(links) == 0 {
				break
			}
			recs, err := a.Store.Lookup(r.Context(), purpose, links)
			if err != nil {
				unavailable(w, "consent state unavailable: "+reasonOf(err))
				return
			}
			for i, l := range links {
				lr, ok := recs[l]
				out.Linked[i].Purposes[purpose] = state(lr, ok)
			}
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func reasonOf(err error) string {
	if errors.Is(err, consentstore.ErrNotReady) {
		return "rebuilding"
	}
	return "redis unreachable"
}

func isJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return ct == "" || strings.HasPrefix(ct, "application/json")
}
