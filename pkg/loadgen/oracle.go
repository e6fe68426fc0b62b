package loadgen

import (
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
)

// ConsentRecord is the latest consent change of a subject the Runner completed.
type ConsentRecord struct {
	// Status is schema.StatusGranted or schema.StatusDenied.
	Status string `json:"status"`
	// Since is when the PUT returned: an upper bound of the server's effective_at.
	Since time.Time `json:"since"`
}

// ConsentState is what the consent API knows about an event's subjects when the
// event is sent. A nil record means no change was ever made for that subject.
type ConsentState struct {
	Purpose string         `json:"purpose"`
	User    *ConsentRecord `json:"user,omitempty"`
	Tenant  *ConsentRecord `json:"tenant,omitempty"`
}

// Oracle decides whether an event must reach the curated outputs of the state's
// purpose. The consent filter's decision function is plugged in here; event
// carries GPC (as sent) and ReceivedAt (the send time).
type Oracle interface {
	Expect(event schema.InteractionEvent, state ConsentState) (allow bool, reason string)
}

// OracleFunc adapts a function to Oracle.
type OracleFunc func(event schema.InteractionEvent, state ConsentState) (bool, string)

// Expect calls f.
func (f OracleFunc) Expect(event schema.InteractionEvent, state ConsentState) (bool, string) {
	return f(event, state)
}

// ReferenceOracle applies the rules of ARCHITECTURE.md with a fixed regime table.
// It stands in until the consent filter's own decision function is plugged in;
// its reasons use the filter's names.
type ReferenceOracle struct {
	// OptOut lists the opt_out jurisdictions; every other one (and a missing
	// one) is opt_in, the conservative default.
	OptOut map[string]bool
	// GPCDenies: Sec-GPC: 1 counts as a denial in opt_out regimes.
	GPCDenies bool
}

// DefaultReferenceOracle treats US, US-CA, US-NY and BR as opt_out and honours GPC.
func DefaultReferenceOracle() *ReferenceOracle {
	return &ReferenceOracle{OptOut: map[string]bool{"US": true, "US-CA": true, "US-NY": true, "BR": true}, GPCDenies: true}
}

// Expect applies rules 1-4.
func (o *ReferenceOracle) Expect(ev schema.InteractionEvent, st ConsentState) (bool, string) {
	if t := st.Tenant; t != nil {
		if t.Status != schema.StatusGranted {
			return false, "tenant_opt_out"
		}
		if t.Since.After(ev.ReceivedAt) {
			return false, "tenant_consent_after_event"
		}
	}
	if u := st.User; u != nil {
		if u.Status != schema.StatusGranted {
			return false, "user_opt_out"
		}
		if u.Since.After(ev.ReceivedAt) {
			return false, "consent_after_event"
		}
		return true, "allowed_consent"
	}
	if o.OptOut[ev.Jurisdiction] {
		if ev.GPC && o.GPCDenies {
			return false, "gpc"
		}
		return true, "allowed_opt_out_regime"
	}
	return false, "no_consent"
}
