package centre

import (
	"net/http"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/filter"
	"github.com/consentflow/consentflow/services/consent-filter/internal/history"
)

// ConsentRecord is a user's consent record for one purpose, downloadable from
// their page, with the fields of ISO/IEC TS 27560:2023 (consent record
// information structure) that consentflow knows: the record and its schema,
// the PII principal, the controller, the notice (policy), the purpose with its
// lawful basis and PII categories, the consent event (given or withdrawn, when,
// how), its state, the jurisdiction, and — after a withdrawal — the erasure.
type ConsentRecord struct {
	SchemaVersion  string                 `json:"schema_version"`
	RecordID       string                 `json:"record_id"`
	PIIPrincipalID string                 `json:"pii_principal_id"`
	PIIController  Controller             `json:"pii_controller"`
	Notice         Notice                 `json:"notice"`
	Purposes       []RecordPurpose        `json:"purposes"`
	Event          ConsentEvent           `json:"event"`
	State          string                 `json:"consent_state"`
	Jurisdiction   string                 `json:"jurisdiction,omitempty"`
	RecordedAt     time.Time              `json:"record_generated_at"`
	ConsentVersion string                 `json:"consentflow_consent_version"`
	Erasure        *schema.ErasureReceipt `json:"erasure_receipt,omitempty"`
	PurgeDeadline  *time.Time             `json:"purge_deadline,omitempty"`
}

// Controller is the PII controller: the product, for the tenant.
type Controller struct {
	Name   string `json:"name"`
	Tenant string `json:"tenant"`
}

// Notice names the policy the choice was shown under.
type Notice struct {
	PolicyVersion string `json:"policy_version"`
}

// RecordPurpose is the purpose of the record.
type RecordPurpose struct {
	ID            string   `json:"purpose_id"`
	Description   string   `json:"purpose"`
	LawfulBasis   string   `json:"lawful_basis"`
	PIICategories []string `json:"pii_categories"`
}

// ConsentEvent is the choice itself.
type ConsentEvent struct {
	Type   string    `json:"event_type"` // given | withdrawn | none
	Time   time.Time `json:"event_time,omitzero"`
	Method string    `json:"collection_method"`
}

// receipt serves the user's consent record for a purpose as JSON.
func (c *Centre) receipt(w http.ResponseWriter, r *http.Request) {
	l, _, ok := c.link(r)
	if !ok || l.Kind != KindUser {
		c.forbidden(w)
		return
	}
	purpose, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	if !ok || !c.Policy.HasPurpose(purpose) {
		secure(w)
		http.NotFound(w, r)
		return
	}
	now := c.Now()
	st, err := filter.StandingOf(r.Context(), c.Lookup, c.Policy, c.Purpose, purpose, l.Tenant, l.User, l.Jurisdiction, r.Header.Get("Sec-GPC") == "1", now, c.MaxLinks)
	if err != nil {
		c.unavailable(w, err)
		return
	}
	rec := ConsentRecord{
		SchemaVersion: "ISO/IEC TS 27560:2023; consentflow profile 1", PIIPrincipalID: l.User,
		PIIController: Controller{Name: c.Theme.ProductName, Tenant: l.Tenant}, Notice: Notice{PolicyVersion: c.Policy.Version},
		Jurisdiction: l.Jurisdiction, RecordedAt: now.UTC(), State: "not_given",
		Event: ConsentEvent{Type: "none", Method: "none recorded"},
	}
	var cats []string
	for _, f := range c.Fields {
		if f.Kept && purpose == c.Purpose {
			cats = append(cats, f.Field)
		}
	}
	basis := "consent"
	if st.Decision.Reason == decision.AllowedOptOutRegime {
		basis = "opt-out regime (no objection recorded)"
	}
	rec.Purposes = []RecordPurpose{{ID: purpose, Description: c.title(purpose), LawfulBasis: basis, PIICategories: cats}}
	if v := r.URL.Query().Get("version"); v != "" && (!st.User.Has() || v != st.User.Version()) {
		// A past choice, from the history.
		var found *history.Entry
		if c.History != nil {
			past, err := c.History.Read(r.Context(), c.Policy.Identity.Subject(identity.User, l.Tenant, l.User))
			if err != nil {
				c.unavailable(w, err)
				return
			}
			for i := range past {
				if past[i].Purpose == purpose && past[i].Version == v {
					found = &past[i]
				}
			}
		}
		if found == nil {
			secure(w)
			http.NotFound(w, r)
			return
		}
		rec.ConsentVersion, rec.State = v, "superseded"
		rec.RecordID = "consentflow:" + l.Tenant + ":" + purpose + ":" + v
		rec.Notice.PolicyVersion = found.PolicyVersion
		rec.Event = ConsentEvent{Type: "given", Time: found.EffectiveAt.UTC(), Method: methodOf(found.Source)}
		if found.Status != schema.StatusGranted {
			rec.Event.Type = "withdrawn"
			if c.Receipts != nil {
				if rc, ok := c.Receipts.Receipt(purpose, v); ok {
					rec.Erasure = &rc
				}
			}
		}
	} else if st.User.Has() {
		rec.ConsentVersion = st.User.Version()
		rec.RecordID = "consentflow:" + l.Tenant + ":" + purpose + ":" + rec.ConsentVersion
		rec.Event = ConsentEvent{Type: "given", Time: st.User.EffectiveAt.UTC(), Method: "recorded through the consent API or this privacy centre"}
		rec.State = "active"
		if st.User.Status == decision.Denied {
			rec.Event.Type, rec.State = "withdrawn", "withdrawn"
			pd := st.User.EffectiveAt.Add(c.PurgeDeadline).UTC()
			rec.PurgeDeadline = &pd
			if c.Receipts != nil {
				if rc, ok := c.Receipts.Receipt(purpose, rec.ConsentVersion); ok {
					rec.Erasure = &rc
					rec.PurgeDeadline = &rc.PurgeDeadline
				}
			}
		}
	} else {
		rec.RecordID = "consentflow:" + l.Tenant + ":" + purpose + ":none"
	}
	secure(w)
	w.Header().Set("Content-Disposition", `attachment; filename="consent-`+purpose+`.json"`)
	writeJSON(w, http.StatusOK, rec)
}

// methodOf says how a choice was recorded, from its change's source.
func methodOf(source string) string {
	if source == "" {
		return "recorded through the consent API"
	}
	return source
}
