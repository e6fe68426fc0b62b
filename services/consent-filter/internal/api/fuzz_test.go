package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/avro/avrotest"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// memAppender records what the API appends, as consent.changes would.
type memAppender struct {
	mu   sync.Mutex
	recs []stream.Record
}

func (m *memAppender) Append(_ context.Context, recs ...stream.Record) ([]stream.Position, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]stream.Position, len(recs))
	for i, r := range recs {
		out[i] = stream.Position{Partition: 0, Offset: int64(len(m.recs))}
		m.recs = append(m.recs, r)
	}
	return out, nil
}

func (m *memAppender) take() []stream.Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.recs
	m.recs = nil
	return r
}

const fuzzToken = "fuzz-token"

// noRecords is a consent store that holds nothing (imports compare with it).
type noRecords struct{}

func (noRecords) Lookup(context.Context, string, []consentstore.SubjectRef) (map[consentstore.SubjectRef]consentstore.Record, error) {
	return map[consentstore.SubjectRef]consentstore.Record{}, nil
}

// fuzzAPI is the consent API on an in-memory appender and an in-process registry.
func fuzzAPI(f *testing.F) (*API, http.Handler, *memAppender) {
	codec, err := avro.ConsentChanges(context.Background(), avrotest.Serde(f), "consent.changes")
	if err != nil {
		f.Fatal(err)
	}
	tokens, err := auth.ParseTokens("fuzz:plain:" + fuzzToken + "=consent:read|consent:write|consent:import")
	if err != nil {
		f.Fatal(err)
	}
	app := &memAppender{}
	fixed := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	a := &API{Policy: policy.Default(), Tokens: tokens, Changes: app, Codec: codec, Store: noRecords{}, Logger: zap.NewNop(),
		Now: func() time.Time { return fixed }, Requests: NewRequestsMetric(nil), MaxImportRecords: 50}
	return a, a.Handler(), app
}

// problemsOf checks a 4xx answer: a JSON body naming at least one problem.
func problemsOf(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var p struct {
		Error    string   `json:"error"`
		Problems []string `json:"problems"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || (p.Error == "" && len(p.Problems) == 0) {
		t.Fatalf("%d without a reason: %q", rec.Code, rec.Body.String())
	}
}

// FuzzConsentPut sends arbitrary bodies, subject ids and purposes to
// PUT /v1/tenants/t-1/users/{id}/consents/{purpose} and
// PUT /v1/tenants/{id}/consents/{purpose}: never a panic or a 5xx (the
// appender works); 200 exactly when one change was appended, and that change is
// what was asked (subject, purpose, status) and decodes; otherwise a 4xx with a
// reason and nothing appended.
//
//	go test ./services/consent-filter/internal/api -run '^$' -fuzz FuzzConsentPut -fuzztime 30s
func FuzzConsentPut(f *testing.F) {
	a, h, app := fuzzAPI(f)
	for _, s := range []struct {
		tenant      bool
		id, purpose string
		body, ctype string
	}{
		{false, "u-1", "ai_training", `{"status":"granted","source":"ui"}`, "application/json"},
		{false, "u-1", "ai_training", `{"status":"DENIED","tenant_id":"t-1"}`, ""},
		{true, "t-1", "ai_training", `{"status":"denied","tenant_id":"t-1"}`, "application/json"},
		{false, "u 1", "unknown", `{"status":"maybe","extra":1}`, "application/json"},
		{false, "ü/ß", "ai_training", `{"status":"granted"}{"status":"denied"}`, "text/plain"},
		{false, "x", "ai_training", `[]`, "application/json"},
	} {
		f.Add(s.tenant, s.id, s.purpose, []byte(s.body), s.ctype)
	}
	f.Fuzz(func(t *testing.T, tenant bool, id, purpose string, body []byte, ctype string) {
		target := "/v1/tenants/t-1/users/" + url.PathEscape(id) + "/consents/" + url.PathEscape(purpose)
		if tenant {
			target = "/v1/tenants/" + url.PathEscape(id) + "/consents/" + url.PathEscape(purpose)
		}
		req := httptest.NewRequest(http.MethodPut, "http://consent.test"+target, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fuzzToken)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := app.take()
		switch {
		case rec.Code == http.StatusOK:
			if len(got) != 1 {
				t.Fatalf("200 with %d records appended", len(got))
			}
			c, err := a.Codec.Decode(context.Background(), got[0].Value)
			if err != nil {
				t.Fatalf("appended change does not decode: %v", err)
			}
			var req struct{ Status string }
			_ = json.Unmarshal(body, &req)
			key, _, kerr := identity.KeyOf(&c)
			if c.SubjectID != id || c.Purpose != purpose || !strings.EqualFold(c.Status, req.Status) || kerr != nil || string(got[0].Key) != key {
				t.Fatalf("recorded %+v (key %q) for PUT %s %s", c, got[0].Key, target, body)
			}
			if (c.SubjectType == schema.SubjectTenant) != tenant {
				t.Fatalf("subject type %s for %s", c.SubjectType, target)
			}
			var ans ChangeResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || ans.Version == "" || ans.EffectiveAt.IsZero() {
				t.Fatalf("200 answer without version or effective_at: %s", rec.Body.String())
			}
		case rec.Code >= 300 && rec.Code < 500:
			if len(got) != 0 {
				t.Fatalf("%d but %d records appended", rec.Code, len(got))
			}
			// The router's own answers (a redirect to the cleaned path, 404, 405)
			// carry no problem list.
			if rec.Code >= 400 && rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
				problemsOf(t, rec)
			}
		default:
			t.Fatalf("PUT %s: status %d: %s", target, rec.Code, rec.Body.String())
		}
	})
}

// FuzzConsentImport sends arbitrary NDJSON to POST /v1/consents/import: never a
// panic or a 5xx; all or nothing — 200 accounts for every non-blank line
// (imported, or skipped as not newer than an earlier one) and says so,
// anything else appends nothing and names a reason.
//
//	go test ./services/consent-filter/internal/api -run '^$' -fuzz FuzzConsentImport -fuzztime 30s
func FuzzConsentImport(f *testing.F) {
	a, h, app := fuzzAPI(f)
	for _, s := range []string{
		`{"subject_type":"user","subject_id":"u1","tenant_id":"t1","purpose":"ai_training","status":"granted","source":"crm"}` + "\n" +
			`{"subject_type":"tenant","subject_id":"t1","purpose":"ai_training","status":"denied","effective_at":"2024-01-01T00:00:00Z"}`,
		`{"subject_type":"user","subject_id":"u1","purpose":"ai_training","status":"granted","effective_at":"2999-01-01T00:00:00Z"}`,
		`{"subject_type":"group","subject_id":"","purpose":"x","status":"y","z":1}` + "\n\n   \n" + `not json`,
		"\n\n",
		`{"subject_type":"USER","subject_id":"a/b","purpose":"ai_training","status":"Granted","tenant_id":"t\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "http://consent.test/v1/consents/import", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fuzzToken)
		req.Header.Set("Content-Type", "application/x-ndjson")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := app.take()
		switch {
		case rec.Code == http.StatusOK:
			var ans struct {
				Imported int   `json:"imported"`
				Skipped  []any `json:"skipped"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil || ans.Imported != len(got) {
				t.Fatalf("200 %s with %d records appended", rec.Body.String(), len(got))
			}
			lines := 0
			for _, l := range strings.Split(string(body), "\n") {
				if strings.TrimSpace(l) != "" {
					lines++
				}
			}
			if len(got)+len(ans.Skipped) != lines {
				t.Fatalf("%d records appended and %d skipped for %d lines", len(got), len(ans.Skipped), lines)
			}
			for _, r := range got {
				c, err := a.Codec.Decode(context.Background(), r.Value)
				key, _, kerr := identity.KeyOf(&c)
				if err != nil || kerr != nil || c.EffectiveAt.After(a.Now()) || c.SubjectID == "" || string(r.Key) != key || !c.Imported {
					t.Fatalf("imported %+v (key %q, %v)", c, r.Key, err)
				}
			}
		case rec.Code >= 400 && rec.Code < 500:
			if len(got) != 0 {
				t.Fatalf("%d but %d records appended", rec.Code, len(got))
			}
			problemsOf(t, rec)
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	})
}
