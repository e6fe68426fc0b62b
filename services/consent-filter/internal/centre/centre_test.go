package centre

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
	"github.com/consentflow/consentflow/services/consent-filter/internal/history"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

const (
	tokAll  = "backend-token-all-tenants"
	tokAcme = "backend-token-acme-only"
)

// world is an in-memory consent store that the recorder writes, as the
// materializer would.
type world struct {
	mu      sync.Mutex
	recs    map[string]map[consentstore.SubjectRef]consentstore.Record
	offset  int64
	changes []schema.ConsentChange
	down    bool
}

func (w *world) lookup(_ context.Context, purpose string, refs []consentstore.SubjectRef) (map[consentstore.SubjectRef]consentstore.Record, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down {
		return nil, errors.New("redis down")
	}
	out := map[consentstore.SubjectRef]consentstore.Record{}
	for _, r := range refs {
		if rec, ok := w.recs[purpose][r]; ok {
			out[r] = rec
		}
	}
	return out, nil
}

func (w *world) record(_ context.Context, c schema.ConsentChange) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.down {
		return "", errors.New("kafka down")
	}
	w.offset++
	w.changes = append(w.changes, c)
	var s identity.Subject
	if c.SubjectType == schema.SubjectTenant {
		s = identity.TenantOf(c.SubjectID)
	} else {
		s = identity.Subject{Kind: identity.User, Tenant: c.TenantID, ID: c.SubjectID}
	}
	if w.recs == nil {
		w.recs = map[string]map[consentstore.SubjectRef]consentstore.Record{}
	}
	if w.recs[c.Purpose] == nil {
		w.recs[c.Purpose] = map[consentstore.SubjectRef]consentstore.Record{}
	}
	w.recs[c.Purpose][s] = consentstore.Record{Status: decision.Status(c.Status), EffectiveAt: c.EffectiveAt, Partition: 1, Offset: w.offset}
	return "1:" + string(rune('0'+w.offset)), nil
}

// read is the world's history of s, newest first (as history.History answers).
func (w *world) read(_ context.Context, s identity.Subject) ([]history.Entry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []history.Entry
	for i, c := range w.changes {
		if c.SubjectType == schema.SubjectUser && c.SubjectID == s.ID && c.TenantID == s.Tenant {
			out = append([]history.Entry{{Purpose: c.Purpose, Status: c.Status, EffectiveAt: c.EffectiveAt, Source: c.Source,
				PolicyVersion: c.PolicyVersion, Version: "1:" + string(rune('1'+i))}}, out...)
		}
	}
	return out, nil
}

type historyFunc func(context.Context, identity.Subject) ([]history.Entry, error)

func (f historyFunc) Read(ctx context.Context, s identity.Subject) ([]history.Entry, error) {
	return f(ctx, s)
}

type fixture struct {
	c   *Centre
	h   http.Handler
	w   *world
	idx *ReceiptIndex
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pol, err := policy.Parse([]byte(`version: "t1"
default_regime: opt_in
purposes:
  ai_training:
    description: Training AI models
  product_analytics:
    description: Product analytics
jurisdictions:
  US: opt_out
identity:
  user_ids: tenant
  anonymous_ids: tenant
`))
	if err != nil {
		t.Fatal(err)
	}
	toks, err := auth.ParseTokens("all:plain:" + tokAll + "=consent:read|consent:write,acme:plain:" + tokAcme + "=consent:write;tenant=acme")
	if err != nil {
		t.Fatal(err)
	}
	fields, err := schema.RawFields()
	if err != nil {
		t.Fatal(err)
	}
	stories, err := Describe(fields, Processing{TimeGranularity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{w: &world{}, idx: &ReceiptIndex{}, now: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}
	now := func() time.Time { return f.now }
	f.c = &Centre{Policy: pol, Purpose: "ai_training", Signer: &Signer{Key: []byte("0123456789abcdef0123456789abcdef"), Now: now},
		Tokens: toks, Lookup: f.w.lookup, Record: f.w.record, Receipts: f.idx, Fields: stories, PurgeDeadline: 72 * time.Hour,
		Theme: Theme{ProductName: "Acme Tracker"}, Now: now, Logger: zap.NewNop()}
	f.c.History = historyFunc(f.w.read)
	f.h = f.c.Handler()
	return f
}

func (f *fixture) do(t *testing.T, method, target string, body io.Reader, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, body)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	return rec
}

func (f *fixture) mint(t *testing.T, token, body string) (int, string) {
	t.Helper()
	rec := f.do(t, "POST", "/v1/centre/links", strings.NewReader(body), map[string]string{"Authorization": "Bearer " + token})
	var lr LinkResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &lr)
	return rec.Code, lr.URL
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (f *fixture) page(t *testing.T, path string) (int, string) {
	t.Helper()
	rec := f.do(t, "GET", path, nil, nil)
	return rec.Code, rec.Body.String()
}

func (f *fixture) post(t *testing.T, path, purpose, status, csrf string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"status": {status}, "csrf": {csrf}}.Encode()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range hdr {
		h[k] = v
	}
	return f.do(t, "POST", path+"purposes/"+purpose, strings.NewReader(form), h)
}

func TestMintNeedsABackendTokenForTheTenant(t *testing.T) {
	f := newFixture(t)
	if code, _ := f.mint(t, "wrong", `{"tenant_id":"acme","user_id":"u1"}`); code != http.StatusUnauthorized {
		t.Fatalf("no valid token: %d", code)
	}
	if code, _ := f.mint(t, tokAcme, `{"tenant_id":"globex","user_id":"u1"}`); code != http.StatusForbidden {
		t.Fatalf("token bound to acme minting for globex: %d", code)
	}
	if code, _ := f.mint(t, tokAll, `{"tenant_id":"acme","user_id":"u1","ttl_seconds":999999}`); code != http.StatusBadRequest {
		t.Fatalf("ttl beyond the bound: %d", code)
	}
	code, u := f.mint(t, tokAcme, `{"tenant_id":"acme","user_id":"u1"}`)
	if code != http.StatusOK || !strings.HasPrefix(u, "/centre/s/v1.") {
		t.Fatalf("mint: %d %q", code, u)
	}
	if code, body := f.page(t, u); code != http.StatusOK || !strings.Contains(body, "Your privacy") {
		t.Fatalf("page: %d", code)
	}
}

// A tampered, expired or other-subject link gets 403 and changes nothing.
func TestBadLinksAreRefusedAndChangeNothing(t *testing.T) {
	f := newFixture(t)
	_, u := f.mint(t, tokAll, `{"tenant_id":"acme","user_id":"u1"}`)
	_, body := f.page(t, u)
	csrf := csrfRe.FindStringSubmatch(body)[1]
	tok := strings.TrimSuffix(strings.TrimPrefix(u, "/centre/s/"), "/")
	payload, sig, _ := strings.Cut(strings.TrimPrefix(tok, "v1."), ".")

	// Other subject: u2's payload under u1's signature.
	other, err := f.c.Signer.Mint(Link{Kind: KindUser, Tenant: "acme", User: "u2", Expires: f.now.Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	otherPayload, _, _ := strings.Cut(strings.TrimPrefix(other, "v1."), ".")
	flipped := []byte(sig)
	flipped[3] ^= 1
	bad := map[string]string{
		"tampered signature":     "v1." + payload + "." + string(flipped),
		"other subject":          "v1." + otherPayload + "." + sig,
		"no signature":           "v1." + payload,
		"admin of the same link": "v1." + payload + "." + sig + "x",
	}
	for name, tk := range bad {
		p := "/centre/s/" + tk + "/"
		if code, _ := f.page(t, p); code != http.StatusForbidden {
			t.Errorf("%s: page %d", name, code)
		}
		if rec := f.post(t, p, "ai_training", "denied", csrf, nil); rec.Code != http.StatusForbidden {
			t.Errorf("%s: post %d", name, rec.Code)
		}
		if rec := f.do(t, "GET", p+"receipts/ai_training.json", nil, nil); rec.Code != http.StatusForbidden {
			t.Errorf("%s: receipt %d", name, rec.Code)
		}
	}
	// Expired: the same link after its lifetime.
	f.now = f.now.Add(16 * time.Minute)
	if code, _ := f.page(t, u); code != http.StatusForbidden {
		t.Errorf("expired: page %d", code)
	}
	if rec := f.post(t, u, "ai_training", "denied", csrf, nil); rec.Code != http.StatusForbidden {
		t.Errorf("expired: post %d", rec.Code)
	}
	if len(f.w.changes) != 0 {
		t.Fatalf("refused requests changed consent: %+v", f.w.changes)
	}
}

// Every form needs the page's CSRF token and a same-origin post.
func TestFormsNeedCSRFAndSameOrigin(t *testing.T) {
	f := newFixture(t)
	_, u := f.mint(t, tokAll, `{"tenant_id":"acme","user_id":"u1"}`)
	_, u2 := f.mint(t, tokAll, `{"tenant_id":"acme","user_id":"u2"}`)
	_, body := f.page(t, u)
	csrf := csrfRe.FindStringSubmatch(body)[1]
	_, body2 := f.page(t, u2)
	csrf2 := csrfRe.FindStringSubmatch(body2)[1]
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"no token":           f.post(t, u, "ai_training", "denied", "", nil),
		"other page's token": f.post(t, u, "ai_training", "denied", csrf2, nil),
		"cross-site":         f.post(t, u, "ai_training", "denied", csrf, map[string]string{"Sec-Fetch-Site": "cross-site"}),
		"foreign origin":     f.post(t, u, "ai_training", "denied", csrf, map[string]string{"Origin": "https://evil.example"}),
	} {
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: %d", name, rec.Code)
		}
	}
	if len(f.w.changes) != 0 {
		t.Fatalf("refused posts changed consent: %+v", f.w.changes)
	}
	rec := f.post(t, u, "ai_training", "denied", csrf, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("valid post: %d %s", rec.Code, rec.Body)
	}
	if len(f.w.changes) != 1 {
		t.Fatalf("changes %d", len(f.w.changes))
	}
	c := f.w.changes[0]
	if c.SubjectType != schema.SubjectUser || c.SubjectID != "u1" || c.TenantID != "acme" || c.Status != schema.StatusDenied || c.Purpose != "ai_training" || c.Source != "privacy-centre" {
		t.Fatalf("change %+v", c)
	}
}

// The user's page: status and why per purpose from the decision rules, the
// switch, and after a withdrawal the exclusion, the deadline and the receipt.
func TestUserPageWithdrawalAndReceipt(t *testing.T) {
	f := newFixture(t)
	_, u := f.mint(t, tokAll, `{"tenant_id":"acme","user_id":"u1","jurisdiction":"US-CA"}`)
	_, body := f.page(t, u)
	// US-CA is opt-out: on without a record, by the regime.
	if !strings.Contains(body, `data-reason="allowed_opt_out_regime"`) || !strings.Contains(body, "allow this unless you say no") {
		t.Fatalf("opt-out regime not explained:\n%s", body)
	}
	// GPC from the browser: off, and why.
	rec := f.do(t, "GET", u, nil, map[string]string{"Sec-GPC": "1"})
	if !strings.Contains(rec.Body.String(), `data-reason="gpc"`) || !strings.Contains(rec.Body.String(), "Global Privacy Control") {
		t.Fatalf("GPC not explained")
	}
	csrf := csrfRe.FindStringSubmatch(body)[1]
	if rec := f.post(t, u, "ai_training", "denied", csrf, nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), u) {
		t.Fatalf("withdraw: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	_, body = f.page(t, u+"?done=ai_training")
	ai := section(t, body, "ai_training")
	for _, want := range []string{`data-reason="user_opt_out"`, "You turned this off", "New events are excluded at once", "3 December 2026, 10:00 UTC", "data-pending", `value="granted"`} {
		if !strings.Contains(ai, want) {
			t.Errorf("after withdrawal the page lacks %q:\n%s", want, ai)
		}
	}
	if strings.Contains(ai, "data-receipt") {
		t.Fatal("receipt shown before the sink applied the erasure")
	}
	// The other purpose is untouched.
	if pa := section(t, body, "product_analytics"); !strings.Contains(pa, `data-reason="allowed_opt_out_regime"`) {
		t.Errorf("product_analytics changed:\n%s", pa)
	}
	version := f.w.recs["ai_training"][identity.Subject{Kind: identity.User, Tenant: "acme", ID: "u1"}].Version()
	applied := f.now.Add(90 * time.Second)
	f.idx.Add(schema.ErasureReceipt{Purpose: "ai_training", ConsentVersion: "0:999", AppliedAt: applied})
	if _, body = f.page(t, u); strings.Contains(section(t, body, "ai_training"), "data-receipt") {
		t.Fatal("another change's receipt shown")
	}
	f.idx.Add(schema.ErasureReceipt{Dataset: "consentflow.consentflow.ai_training", Purpose: "ai_training", ConsentVersion: version,
		SnapshotID: 7, AppliedAt: applied, PurgeDeadline: f.now.Add(72*time.Hour + 2*time.Second)})
	_, body = f.page(t, u)
	if ai := section(t, body, "ai_training"); !strings.Contains(ai, "Removed from the dataset snapshots on <strong>30 November 2026, 10:01 UTC") {
		t.Fatalf("receipt not shown:\n%s", ai)
	}
	// The list of choices: the grant, then the withdrawal, newest first, each with its record.
	f.now = f.now.Add(time.Minute)
	_, body = f.page(t, u)
	csrf = csrfRe.FindStringSubmatch(body)[1]
	f.post(t, u, "ai_training", "granted", csrf, nil)
	f.now = f.now.Add(time.Minute)
	f.post(t, u, "ai_training", "denied", csrf, nil)
	_, body = f.page(t, u)
	ai = section(t, body, "ai_training")
	if n := strings.Count(ai, "data-choice="); n != 3 || strings.Index(ai, "turned off") > strings.Index(ai, "turned on") {
		t.Fatalf("choices listed %d, newest first expected:\n%s", n, ai)
	}
	rec = f.do(t, "GET", u+"receipts/ai_training.json?version=1:2", nil, nil)
	var past ConsentRecord
	if err := json.Unmarshal(rec.Body.Bytes(), &past); err != nil || past.Event.Type != "given" || past.State != "superseded" || past.ConsentVersion != "1:2" {
		t.Fatalf("record of a past choice: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "GET", u+"receipts/ai_training.json?version=9:9", nil, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("record of an unknown version: %d", rec.Code)
	}
	version = f.w.recs["ai_training"][identity.Subject{Kind: identity.User, Tenant: "acme", ID: "u1"}].Version()
	f.idx.Add(schema.ErasureReceipt{Purpose: "ai_training", ConsentVersion: version, SnapshotID: 7, AppliedAt: applied})
	// The downloadable consent record.
	rec = f.do(t, "GET", u+"receipts/ai_training.json", nil, nil)
	var cr ConsentRecord
	if err := json.Unmarshal(rec.Body.Bytes(), &cr); err != nil {
		t.Fatal(err)
	}
	if cr.PIIPrincipalID != "u1" || cr.State != "withdrawn" || cr.Event.Type != "withdrawn" || !cr.Event.Time.Equal(f.now) ||
		cr.ConsentVersion != version || cr.Erasure == nil || cr.Erasure.SnapshotID != 7 || cr.PIIController.Tenant != "acme" ||
		len(cr.Purposes) != 1 || cr.Purposes[0].ID != "ai_training" || len(cr.Purposes[0].PIICategories) == 0 {
		t.Fatalf("consent record %s", rec.Body)
	}
}

// An admin link switches the tenant, not a user; a user link cannot.
func TestAdminSwitchesTheTenant(t *testing.T) {
	f := newFixture(t)
	_, a := f.mint(t, tokAcme, `{"kind":"admin","tenant_id":"acme"}`)
	code, body := f.page(t, a)
	if code != 200 || !strings.Contains(body, "Turn off for everyone") {
		t.Fatalf("admin page %d", code)
	}
	csrf := csrfRe.FindStringSubmatch(body)[1]
	if rec := f.post(t, a, "ai_training", "denied", csrf, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("admin switch %d", rec.Code)
	}
	if c := f.w.changes[0]; c.SubjectType != schema.SubjectTenant || c.SubjectID != "acme" || c.Status != schema.StatusDenied {
		t.Fatalf("change %+v", c)
	}
	if rec := f.do(t, "GET", a+"receipts/ai_training.json", nil, nil); rec.Code != http.StatusForbidden {
		t.Fatalf("admin link reads a user's record: %d", rec.Code)
	}
	// A user of the tenant now sees the organisation's choice.
	_, u := f.mint(t, tokAll, `{"tenant_id":"acme","user_id":"u9","jurisdiction":"US"}`)
	_, body = f.page(t, u)
	if ai := section(t, body, "ai_training"); !strings.Contains(ai, `data-reason="tenant_opt_out"`) {
		t.Fatalf("user page after tenant opt-out:\n%s", ai)
	}
	if rec := f.do(t, "GET", u+"report.csv", nil, nil); rec.Code != http.StatusForbidden {
		t.Fatalf("user link reads the admin report: %d", rec.Code)
	}
}

// Pages load nothing from elsewhere and say so in their headers.
func TestPagesAreSelfContained(t *testing.T) {
	f := newFixture(t)
	_, u := f.mint(t, tokAll, `{"tenant_id":"acme","user_id":"u1"}`)
	rec := f.do(t, "GET", u, nil, nil)
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || rec.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("headers %v", rec.Header())
	}
	if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(rec.Body.String()) || strings.Contains(rec.Body.String(), "<script") {
		t.Fatal("page references another origin or a script")
	}
	f.w.down = true
	if rec := f.do(t, "GET", u, nil, nil); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("store down: %d", rec.Code)
	}
}

// section is the purpose's article of a page.
func section(t *testing.T, body, purpose string) string {
	t.Helper()
	i := strings.Index(body, `<article class="purpose" id="`+purpose+`"`)
	if i < 0 {
		t.Fatalf("no section for %s", purpose)
	}
	j := strings.Index(body[i:], "</article>")
	return body[i : i+j]
}
