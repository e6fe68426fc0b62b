// Package api is the consent API: it records consent changes on consent.changes
// (the source of truth) and answers a user's current consent from the store.
package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// Scopes of the consent API.
const (
	ScopeRead  = "consent:read"
	ScopeWrite = "consent:write"
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

	// MaxImportBytes and MaxImportRecords bound a bulk import (defaults 64 MiB,
	// 100000).
	MaxImportBytes   int64
	MaxImportRecords int
	// WriteTimeout bounds the wait for Kafka's acknowledgement (default 10s).
	WriteTimeout time.Duration
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
	if a.Now == nil {
		a.Now = time.Now
	}
	mux := http.NewServeMux()
	route := func(pattern, scope string, h http.HandlerFunc) {
		mux.Handle(pattern, a.count(pattern, a.Tokens.Require(scope, h)))
	}
	route("PUT /v1/users/{id}/consents/{purpose}", ScopeWrite, a.putConsent(schema.SubjectUser))
	route("PUT /v1/tenants/{id}/consents/{purpose}", ScopeWrite, a.putConsent(schema.SubjectTenant))
	route("GET /v1/users/{id}/consents", ScopeRead, a.getUser)
	route("POST /v1/consents/import", ScopeWrite, a.importNDJSON)
	return mux
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func (a *API) count(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		next.ServeHTTP(rec, r)
		if a.Requests != nil {
			a.Requests.WithLabelValues(route, fmt.Sprint(rec.code)).Inc()
		}
	})
}

// ChangeRequest is the body of a PUT.
type ChangeRequest struct {
	Status   string `json:"status"`
	Source   string `json:"source"`
	TenantID string `json:"tenant_id,omitempty"`
}

// ChangeResponse is a stored consent record.
type ChangeResponse struct {
	SubjectType   string    `json:"subject_type"`
	SubjectID     string    `json:"subject_id"`
	TenantID      string    `json:"tenant_id,omitempty"`
	Purpose       string    `json:"purpose"`
	Status        string    `json:"status"`
	EffectiveAt   time.Time `json:"effective_at"`
	Source        string    `json:"source"`
	PolicyVersion string    `json:"policy_version"`
	Version       string    `json:"version"`
}

type problem struct {
	Error    string   `json:"error"`
	Problems []string `json:"problems,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func badRequest(w http.ResponseWriter, problems ...string) {
	writeJSON(w, http.StatusBadRequest, problem{Error: "invalid request", Problems: problems})
}

func unavailable(w http.ResponseWriter, msg string) {
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusServiceUnavailable, problem{Error: msg})
}

const maxIDLen = 256

func validID(field, id string) string {
	switch {
	case id == "":
		return field + ": required"
	case len(id) > maxIDLen:
		return fmt.Sprintf("%s: longer than %d bytes", field, maxIDLen)
	case strings.ContainsAny(id, "/\x00"):
		return field + ": must not contain '/' or NUL"
	}
	return ""
}

// change validates one requested change; effectiveAt is the server clock for live
// changes and the original time for imports.
func (a *API) change(path, subjectType, id, purpose, status, source, tenant string, effectiveAt time.Time) (schema.ConsentChange, []string) {
	var probs []string
	if p := validID(path+"subject_id", id); p != "" {
		probs = append(probs, p)
	}
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
	if tenant != "" {
		if p := validID(path+"tenant_id", tenant); p != "" {
			probs = append(probs, p)
		}
	}
	return schema.ConsentChange{
		SubjectType: subjectType, SubjectID: id, TenantID: tenant, Purpose: purpose, Status: st,
		EffectiveAt: effectiveAt.UTC().Truncate(time.Millisecond), Source: source, PolicyVersion: a.Policy.Version,
	}, probs
}

func (a *API) putConsent(subjectType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !isJSON(r) {
			writeJSON(w, http.StatusUnsupportedMediaType, problem{Error: "Content-Type must be application/json"})
			return
		}
		var req ChangeRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			badRequest(w, "body: "+err.Error())
			return
		}
		if subjectType == schema.SubjectTenant && req.TenantID != "" {
			badRequest(w, "tenant_id: not allowed on a tenant's consent")
			return
		}
		c, probs := a.change("", subjectType, r.PathValue("id"), r.PathValue("purpose"), req.Status, req.Source, req.TenantID, a.Now())
		if len(probs) > 0 {
			badRequest(w, probs...)
			return
		}
		resp, err := a.append(r.Context(), []schema.ConsentChange{c})
		if err != nil {
			a.Logger.Warn("consent change not recorded", zap.String("subject_type", subjectType), zap.Error(err))
			unavailable(w, "consent change not recorded: Kafka unavailable, retry")
			return
		}
		writeJSON(w, http.StatusOK, resp[0])
	}
}

func (a *API) append(ctx context.Context, cs []schema.ConsentChange) ([]ChangeResponse, error) {
	recs := make([]stream.Record, len(cs))
	for i := range cs {
		b, err := a.Codec.Encode(&cs[i])
		if err != nil {
			return nil, fmt.Errorf("encode change: %w", err)
		}
		recs[i] = stream.Record{Key: []byte(cs[i].Key()), Value: b}
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

// UserConsents is the GET answer.
type UserConsents struct {
	UserID       string                  `json:"user_id"`
	TenantID     string                  `json:"tenant_id,omitempty"`
	Jurisdiction string                  `json:"jurisdiction,omitempty"`
	Regime       string                  `json:"regime"`
	GPCDenies    bool                    `json:"gpc_denies"`
	Purposes     map[string]ConsentState `json:"purposes"`
	Tenant       map[string]ConsentState `json:"tenant,omitempty"`
	Policy       string                  `json:"policy_version"`
}

func state(rec consentstore.Record, ok bool) ConsentState {
	if !ok {
		return ConsentState{Status: "none"}
	}
	at := rec.EffectiveAt
	return ConsentState{Status: strings.ToLower(string(rec.Status)), EffectiveAt: &at, Version: rec.Version()}
}

// getUser answers the user's recorded consent per purpose, the tenant's, and the
// regime for ?jurisdiction= (the consent API does not store jurisdictions: the
// product backend sends them with events).
func (a *API) getUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if p := validID("user_id", id); p != "" {
		badRequest(w, p)
		return
	}
	tenant := r.URL.Query().Get("tenant_id")
	jur := r.URL.Query().Get("jurisdiction")
	out := UserConsents{UserID: id, TenantID: tenant, Jurisdiction: jur, Regime: string(a.Policy.Regime(jur)),
		Purposes: map[string]ConsentState{}, Policy: a.Policy.Version}
	for _, purpose := range slices.Sorted(maps.Keys(a.Policy.Purposes)) {
		refs := []consentstore.SubjectRef{consentstore.UserRef(id)}
		if tenant != "" {
			refs = append(refs, consentstore.TenantRef(tenant))
		}
		recs, err := a.Store.Lookup(r.Context(), purpose, refs)
		if err != nil {
			unavailable(w, "consent state unavailable: "+reasonOf(err))
			return
		}
		rec, ok := recs[consentstore.UserRef(id)]
		out.Purposes[purpose] = state(rec, ok)
		out.GPCDenies = a.Policy.GPCDenies(purpose)
		if out.TenantID == "" && ok && rec.TenantID != "" {
			out.TenantID = rec.TenantID
		}
		if tenant != "" {
			if out.Tenant == nil {
				out.Tenant = map[string]ConsentState{}
			}
			trec, tok := recs[consentstore.TenantRef(tenant)]
			out.Tenant[purpose] = state(trec, tok)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func reasonOf(err error) string {
	if errors.Is(err, consentstore.ErrNotReady) {
		return "rebuilding"
	}
	return "redis unreachable"
}

// ImportRecord is one NDJSON line of a bulk import.
type ImportRecord struct {
	SubjectType string     `json:"subject_type"`
	SubjectID   string     `json:"subject_id"`
	TenantID    string     `json:"tenant_id,omitempty"`
	Purpose     string     `json:"purpose"`
	Status      string     `json:"status"`
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	Source      string     `json:"source"`
}

// importNDJSON imports existing consent records (migrations). All-or-nothing on
// validation: every line is checked before anything is written, and problems are
// reported with their line numbers. Records keep their original effective_at
// (never in the future); without one, the server clock is used.
func (a *API) importNDJSON(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-ndjson") && !strings.HasPrefix(ct, "application/jsonl") {
		writeJSON(w, http.StatusUnsupportedMediaType, problem{Error: "Content-Type must be application/x-ndjson"})
		return
	}
	now := a.Now()
	sc := bufio.NewScanner(http.MaxBytesReader(w, r.Body, a.MaxImportBytes))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var changes []schema.ConsentChange
	var probs []string
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if len(changes) >= a.MaxImportRecords {
			writeJSON(w, http.StatusRequestEntityTooLarge, problem{Error: fmt.Sprintf("more than %d records", a.MaxImportRecords)})
			return
		}
		path := fmt.Sprintf("line %d: ", line)
		var rec ImportRecord
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil {
			probs = append(probs, path+err.Error())
			continue
		}
		st := strings.ToUpper(rec.SubjectType)
		if st != schema.SubjectUser && st != schema.SubjectTenant {
			probs = append(probs, path+`subject_type: must be "user" or "tenant"`)
			continue
		}
		at := now
		if rec.EffectiveAt != nil {
			if rec.EffectiveAt.After(now) {
				probs = append(probs, path+"effective_at: in the future")
				continue
			}
			at = *rec.EffectiveAt
		}
		c, p := a.change(path, st, rec.SubjectID, rec.Purpose, rec.Status, rec.Source, rec.TenantID, at)
		probs = append(probs, p...)
		changes = append(changes, c)
		if len(probs) > 100 {
			break
		}
	}
	if err := sc.Err(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, problem{Error: fmt.Sprintf("body larger than %d bytes", a.MaxImportBytes)})
			return
		}
		badRequest(w, "body: "+err.Error())
		return
	}
	if len(probs) > 0 {
		badRequest(w, probs...)
		return
	}
	const chunk = 500
	imported := 0
	var first, last string
	for i := 0; i < len(changes); i += chunk {
		resp, err := a.append(r.Context(), changes[i:min(i+chunk, len(changes))])
		if err != nil {
			// Earlier chunks are recorded; replaying the whole file is harmless
			// (newest version wins per key, and equal states are equivalent).
			a.Logger.Warn("consent import interrupted", zap.Int("imported", imported), zap.Error(err))
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "Kafka unavailable; replay the whole file", "imported": imported})
			return
		}
		if first == "" {
			first = resp[0].Version
		}
		last = resp[len(resp)-1].Version
		imported += len(resp)
	}
	writeJSON(w, http.StatusOK, map[string]any{"imported": imported, "first_version": first, "last_version": last})
}

func isJSON(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return ct == "" || strings.HasPrefix(ct, "application/json")
}
