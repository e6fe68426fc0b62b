package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/refusals"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/strictjson"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
)

// ImportRecord is one NDJSON line of a bulk import.
type ImportRecord struct {
	// SubjectType is user, anonymous or tenant.
	SubjectType string `json:"subject_type"`
	SubjectID   string `json:"subject_id"`
	// TenantID is required for user and anonymous ids scoped to their tenant.
	TenantID    string     `json:"tenant_id,omitempty"`
	Purpose     string     `json:"purpose"`
	Status      string     `json:"status"`
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
	Source      string     `json:"source"`
}

// Skipped is an import line that was valid but not applied.
type Skipped struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// ImportResponse answers an import.
type ImportResponse struct {
	Imported     int       `json:"imported"`
	Skipped      []Skipped `json:"skipped"`
	FirstVersion string    `json:"first_version,omitempty"`
	LastVersion  string    `json:"last_version,omitempty"`
}

// progressReader extends the connection's read deadline whenever it reads, so
// a long upload lives as long as it makes progress, but never past until: a
// body trickled in forever is cut off all the same.
type progressReader struct {
	r       io.Reader
	ctl     *http.ResponseController
	timeout time.Duration
	until   time.Time
}

func (p progressReader) Read(b []byte) (int, error) {
	d := time.Now().Add(p.timeout)
	if d.After(p.until) {
		d = p.until
	}
	_ = p.ctl.SetReadDeadline(d)
	return p.r.Read(b)
}

type importLine struct {
	line int
	c    schema.ConsentChange
	s    identity.Subject
}

// importNDJSON imports existing consent records (migrations) under the
// consent:import scope. Validation is all-or-nothing: every line is checked
// before anything is written, and problems are reported with their line
// numbers (the first refusals.MaxListed, each cut to about refusals.MaxText
// bytes, and "more_problems": n for the rest, so a body of bad lines gets a
// small answer). Records keep their original effective_at (never in the future);
// without one, the server clock is used. A record is never applied over a
// stored record (or an earlier line) of the same subject and purpose with the
// same or a later effective_at: such lines are skipped and reported. The
// records are marked imported, so the materializer applies the same rule
// even if a change arrives between this check and the write.
func (a *API) importNDJSON(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-ndjson") && !strings.HasPrefix(ct, "application/jsonl") {
		writeJSON(w, http.StatusUnsupportedMediaType, problem{Error: "Content-Type must be application/x-ndjson"})
		return
	}
	ctl := http.NewResponseController(w)
	now := a.Now()
	body := progressReader{r: http.MaxBytesReader(w, r.Body, a.MaxImportBytes), ctl: ctl, timeout: a.IOTimeout, until: now.Add(a.MaxImportDuration)}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var lines []importLine
	var probs refusals.List // every problem counted; the answer lists the first
	var denied error
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		if len(lines) >= a.MaxImportRecords {
			writeJSON(w, http.StatusRequestEntityTooLarge, problem{Error: fmt.Sprintf("more than %d records", a.MaxImportRecords)})
			return
		}
		path := fmt.Sprintf("line %d: ", line)
		var rec ImportRecord
		if err := strictjson.Decode(strings.NewReader(text), &rec); err != nil {
			probs.Add(path + err.Error())
			continue
		}
		s, tenant, p := a.importSubject(path, rec)
		probs.Add(p...)
		at := now
		if rec.EffectiveAt != nil {
			if rec.EffectiveAt.After(now) {
				probs.Add(path + "effective_at: in the future")
			}
			at = *rec.EffectiveAt
		}
		c, p := a.consent(path, s, rec.Purpose, rec.Status, rec.Source, at)
		if probs.Add(p...); len(p) == 0 && s.Valid() {
			if err := authorize(r, tenant, s); err != nil && denied == nil {
				denied = fmt.Errorf("line %d: %w", line, err)
			}
			if c.TenantID == "" {
				c.TenantID = tenant
			}
			c.Imported = true
			lines = append(lines, importLine{line: line, c: c, s: s})
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
	if probs.Len() > 0 {
		writeJSON(w, http.StatusBadRequest, problem{Error: "invalid request", Problems: probs.Shown(), MoreProblems: probs.More()})
		return
	}
	if denied != nil {
		forbidden(w, denied)
		return
	}
	_ = ctl.SetWriteDeadline(time.Now().Add(a.IOTimeout + a.WriteTimeout))
	keep, skipped, err := a.notOlder(r.Context(), lines)
	if err != nil {
		a.Logger.Warn("consent import: stored state unavailable", zap.Error(err))
		unavailable(w, "consent state unavailable ("+reasonOf(err)+"); retry")
		return
	}
	resp := ImportResponse{Skipped: skipped}
	const chunk = 500
	for i := 0; i < len(keep); i += chunk {
		_ = ctl.SetWriteDeadline(time.Now().Add(a.IOTimeout + a.WriteTimeout))
		out, err := a.append(r.Context(), keep[i:min(i+chunk, len(keep))])
		if err != nil {
			// Earlier chunks are recorded; replaying the whole file is harmless
			// (an imported record never wins over one as new as itself).
			a.Logger.Warn("consent import interrupted", zap.Int("imported", resp.Imported), zap.Error(err))
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": "Kafka unavailable; replay the whole file", "imported": resp.Imported})
			return
		}
		if resp.FirstVersion == "" {
			resp.FirstVersion = out[0].Version
		}
		resp.LastVersion = out[len(out)-1].Version
		resp.Imported += len(out)
	}
	if len(skipped) > 0 {
		a.Logger.Info("consent import skipped records older than the stored ones", zap.Int("skipped", len(skipped)), zap.Int("imported", resp.Imported))
	}
	writeJSON(w, http.StatusOK, resp)
}

// importSubject resolves a line's subject like the paths do.
func (a *API) importSubject(path string, rec ImportRecord) (identity.Subject, string, []string) {
	var probs []string
	kind := identity.Kind(strings.ToLower(rec.SubjectType))
	if p := checkID(path+"subject_id", rec.SubjectID); p != "" {
		probs = append(probs, p)
	}
	if rec.TenantID != "" {
		if p := checkID(path+"tenant_id", rec.TenantID); p != "" {
			probs = append(probs, p)
		}
	}
	switch kind {
	case identity.Tenant:
		if rec.TenantID != "" && rec.TenantID != rec.SubjectID {
			probs = append(probs, path+"tenant_id: a tenant's record names no other tenant")
		}
		return identity.TenantOf(rec.SubjectID), rec.SubjectID, probs
	case identity.User, identity.Anonymous:
		if rec.TenantID == "" && a.Policy.Identity.Scope(kind) == identity.TenantScoped {
			probs = append(probs, fmt.Sprintf("%stenant_id: required: %s ids are scoped to their tenant", path, kind))
		}
		return a.Policy.Identity.Subject(kind, rec.TenantID, rec.SubjectID), rec.TenantID, probs
	}
	return identity.Subject{}, "", append(probs, path+`subject_type: must be "user", "anonymous" or "tenant"`)
}

// notOlder drops the lines whose effective_at is not after the stored
// record's (or an earlier line's) for the same subject and purpose, and says
// why. It first waits until the store holds every change already on
// consent.changes, so a denial acknowledged just before the import counts.
func (a *API) notOlder(ctx context.Context, lines []importLine) ([]schema.ConsentChange, []Skipped, error) {
	if a.Caught != nil {
		if err := a.Caught(ctx); err != nil {
			return nil, nil, err
		}
	}
	type key struct {
		s       identity.Subject
		purpose string
	}
	latest := map[key]time.Time{}
	version := map[key]string{}
	byPurpose := map[string][]consentstore.SubjectRef{}
	for _, l := range lines {
		byPurpose[l.c.Purpose] = append(byPurpose[l.c.Purpose], l.s)
	}
	for purpose, refs := range byPurpose {
		for i := 0; i < len(refs); i += 1000 {
			recs, err := a.Store.Lookup(ctx, purpose, refs[i:min(i+1000, len(refs))])
			if err != nil {
				return nil, nil, err
			}
			for s, rec := range recs {
				if rec.Has() {
					latest[key{s, purpose}] = rec.EffectiveAt
					version[key{s, purpose}] = rec.Version()
				}
			}
		}
	}
	var keep []schema.ConsentChange
	var skipped []Skipped
	for _, l := range lines {
		k := key{l.s, l.c.Purpose}
		cur, ok := latest[k]
		at := l.c.EffectiveAt.Truncate(time.Millisecond)
		if ok && !at.After(cur) {
			why := fmt.Sprintf("effective_at %s is not after the stored record's %s", at.Format(time.RFC3339Nano), cur.Format(time.RFC3339Nano))
			if v := version[k]; v != "" {
				why += " (version " + v + ")"
			} else {
				why = fmt.Sprintf("effective_at %s is not after an earlier line's %s", at.Format(time.RFC3339Nano), cur.Format(time.RFC3339Nano))
			}
			skipped = append(skipped, Skipped{Line: l.line, Reason: why})
			continue
		}
		latest[k], version[k] = at, ""
		keep = append(keep, l.c)
	}
	if skipped == nil {
		skipped = []Skipped{}
	}
	return keep, skipped, nil
}
