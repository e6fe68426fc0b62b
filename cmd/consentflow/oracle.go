package main

import (
	"github.com/consentflow/consentflow/pkg/loadgen"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// policyOracle answers the load generator's ground truth with the consent
// filter's own decision function and policy, so the expected outcome of every
// event follows the same rules the pipeline enforces. A consent record's time is
// when its PUT returned, an upper bound of the server's effective_at; the load
// generator never sends a subject's event while its PUT is in flight.
func policyOracle(pol *policy.Policy) loadgen.Oracle {
	rec := func(r *loadgen.ConsentRecord) *decision.Record {
		if r == nil {
			return nil
		}
		return &decision.Record{Status: decision.Status(r.Status), EffectiveAt: r.Since, Version: "loadgen"}
	}
	return loadgen.OracleFunc(func(ev schema.InteractionEvent, st loadgen.ConsentState) (bool, string) {
		d := decision.Decide(pol, decision.Input{
			ReceivedAt: ev.ReceivedAt, Jurisdiction: ev.Jurisdiction, GPC: ev.GPC, Purpose: st.Purpose,
			Tenant: rec(st.Tenant), User: rec(st.User),
		})
		return d.Allow, string(d.Reason)
	})
}
