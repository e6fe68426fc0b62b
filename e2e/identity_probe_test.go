//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/consentflow/consentflow/pkg/loadgen"
)

// boundTenant is the tenant the run's bound tokens belong to (a tenant of the
// load generator's world).
const boundTenant = "tenant-001"

// Identity probes of the run, beside the load: ids with '/', '%', spaces and
// non-ASCII letters in a tenant of their own; a token bound to one tenant used
// for another (refused everywhere); a backdated import after a withdrawal
// (skipped), followed by an event of that user, which must stay out of the
// snapshot.
const (
	probeTenant = "probe/tenant é"
	probeUser   = "imp 1/ü 100%"
	// probeSeq numbers the probes' lines in the load generator's log, after
	// every line of the generator.
	probeSeq = 1 << 30
)

type identityReport struct {
	BoundConsentWrite int    `json:"bound_token_consent_write_other_tenant"`
	BoundConsentRead  int    `json:"bound_token_consent_read_other_tenant"`
	BoundOwnRead      int    `json:"bound_token_consent_read_own_tenant"`
	BoundIngest       int    `json:"bound_token_ingest_other_tenant"`
	BoundDatasets     int    `json:"bound_token_datasets"`
	ImportWithWrite   int    `json:"import_with_consent_write"`
	ImportImported    int    `json:"backdated_import_imported"`
	ImportSkipped     int    `json:"backdated_import_skipped"`
	ProbeEvent        string `json:"backdated_import_probe_event"`
	// Withdrawn visitors: users who identified with a browser's anonymous id
	// and whose last change is a withdrawal, and their events (anonymous,
	// logged in, logged out) still in the snapshot.
	WithdrawnVisitors       int `json:"withdrawn_visitors"`
	WithdrawnVisitorEvents  int `json:"withdrawn_visitor_events"`
	WithdrawnVisitorPresent int `json:"withdrawn_visitor_events_present"`
	Links                   int `json:"links"`
	SharedUserIDs           int `json:"user_ids_in_two_or_more_tenants"`
	// SharedUserIDsDiffering: shared ids whose last consent differs between
	// tenants, with events in the snapshot in one tenant and none in another.
	SharedUserIDsDiffering int `json:"user_ids_shared_with_different_outcomes"`
}

func (r *run) request(ctx context.Context, method, u, token, ct, body string) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out, nil
}

// identityProbes runs the probes; it returns the log lines of what they
// changed and sent (the denial and the user's next event, for the oracle,
// which must find the event absent), and fails on the first broken
// expectation.
func (r *run) identityProbes(ctx context.Context, rep *identityReport) ([]any, error) {
	consent, producer, datasets := "http://"+r.ports["consent"], "http://"+r.ports["producer"], "http://"+r.ports["datasets"]
	var err error
	check := func(what string, got, want int) error {
		if got != want {
			return fmt.Errorf("identity probe %s: got %d, want %d", what, got, want)
		}
		r.logln("identity probe %s: %d", what, got)
		return nil
	}

	// A token bound to tenant-001, used for tenant-002: refused everywhere.
	if rep.BoundConsentWrite, _, err = r.request(ctx, "PUT", consent+"/v1/tenants/tenant-002/users/u-0001/consents/ai_training", r.boundToken, "application/json", `{"status":"denied"}`); err != nil {
		return nil, err
	}
	if err := check("bound consent token writes another tenant's user", rep.BoundConsentWrite, 403); err != nil {
		return nil, err
	}
	if rep.BoundConsentRead, _, err = r.request(ctx, "GET", consent+"/v1/tenants/tenant-002/users/u-0001/consents", r.boundToken, "", ""); err != nil {
		return nil, err
	}
	if err := check("bound consent token reads another tenant's user", rep.BoundConsentRead, 403); err != nil {
		return nil, err
	}
	if rep.BoundOwnRead, _, err = r.request(ctx, "GET", consent+"/v1/tenants/"+boundTenant+"/users/u-0001/consents", r.boundToken, "", ""); err != nil {
		return nil, err
	}
	if err := check("bound consent token reads its own tenant's user", rep.BoundOwnRead, 200); err != nil {
		return nil, err
	}
	if rep.BoundIngest, _, err = r.request(ctx, "POST", producer+"/v1/events", r.boundToken, "application/json",
		`{"event_type":"probe","tenant_id":"tenant-002","user_id":"u-0001","jurisdiction":"US"}`); err != nil {
		return nil, err
	}
	if err := check("bound ingest token posts another tenant's event", rep.BoundIngest, 403); err != nil {
		return nil, err
	}
	if rep.BoundDatasets, _, err = r.request(ctx, "GET", datasets+"/v1/datasets", r.boundToken, "", ""); err != nil {
		return nil, err
	}
	if err := check("bound dataset token lists datasets", rep.BoundDatasets, 403); err != nil {
		return nil, err
	}

	// A withdrawal, then an import of a grant dated 1970.
	userPath := consent + "/v1/tenants/" + url.PathEscape(probeTenant) + "/users/" + url.PathEscape(probeUser)
	sentDeny := time.Now()
	code, out, err := r.request(ctx, "PUT", userPath+"/consents/ai_training", r.token, "application/json", `{"status":"denied","source":"e2e-probe"}`)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("identity probe: deny %q/%q: %d %v", probeTenant, probeUser, code, out)
	}
	deny := loadgen.ConsentTruth{Kind: "consent", Seq: probeSeq, SubjectType: "user", SubjectID: probeUser, TenantID: probeTenant,
		Purpose: "ai_training", Status: "DENIED", SentAt: sentDeny, CompletedAt: time.Now(), Attempts: 1, HTTPStatus: code, Applied: true}
	deny.Version, _ = out["version"].(string)
	if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(out["effective_at"])); err == nil {
		deny.EffectiveAt = &at
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, out, err := r.request(ctx, "GET", userPath+"/consents", r.token, "", "")
		if p, _ := out["purposes"].(map[string]any); err == nil && p != nil {
			if st, _ := p["ai_training"].(map[string]any); st["status"] == "denied" {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("identity probe: the denial of %q never showed: %v", probeUser, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	line, _ := json.Marshal(map[string]string{"subject_type": "user", "subject_id": probeUser, "tenant_id": probeTenant,
		"purpose": "ai_training", "status": "granted", "effective_at": "1970-01-01T00:00:00Z", "source": "e2e-backdated"})
	if rep.ImportWithWrite, _, err = r.request(ctx, "POST", consent+"/v1/consents/import", r.token, "application/x-ndjson", string(line)); err != nil {
		return nil, err
	}
	if err := check("import with consent:write", rep.ImportWithWrite, 403); err != nil {
		return nil, err
	}
	code, out, err = r.request(ctx, "POST", consent+"/v1/consents/import", r.importToken, "application/x-ndjson", string(line))
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("identity probe: import: %d %v", code, out)
	}
	rep.ImportImported = int(num(out["imported"]))
	if s, ok := out["skipped"].([]any); ok {
		rep.ImportSkipped = len(s)
	}
	if err := check("backdated import: records imported", rep.ImportImported, 0); err != nil {
		return nil, err
	}
	if err := check("backdated import: records skipped", rep.ImportSkipped, 1); err != nil {
		return nil, err
	}
	// The user's next event (US, an opt-out regime: only the denial keeps it
	// out) must not reach the snapshot.
	id := uuid.NewString()
	body, _ := json.Marshal(map[string]any{"event_id": id, "event_type": "page_viewed", "tenant_id": probeTenant, "user_id": probeUser, "jurisdiction": "US"})
	sent := time.Now()
	code, out, err = r.request(ctx, "POST", producer+"/v1/events", r.token, "application/json", string(body))
	if err != nil {
		return nil, err
	}
	if code != 202 {
		return nil, fmt.Errorf("identity probe: event: %d %v", code, out)
	}
	rep.ProbeEvent = id
	ev := loadgen.EventTruth{Kind: "event", Seq: probeSeq + 1, EventID: id, EventType: "page_viewed", UserID: probeUser, TenantID: probeTenant,
		Jurisdiction: "US", SentAt: sent, AckedAt: time.Now(), Attempts: 1, HTTPStatus: code, Accepted: true, PII: []loadgen.PII{}}
	if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(out["received_at"])); err == nil {
		ev.ReceivedAt = &at
	}
	return []any{deny, ev}, nil
}

// appendLog appends lines to the load generator's log.
func appendLog(path string, lines []any) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(f)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
