package loadgen

import (
	"errors"
	"fmt"
)

// PII kinds a Config can seed into free text, with their probability per text.
const (
	KindEmail       = "email"
	KindPhone       = "phone"
	KindCard        = "card"
	KindIBAN        = "iban"
	KindIP          = "ip"
	KindSSN         = "ssn"
	KindURL         = "url"
	KindSecret      = "secret"
	KindActorName   = "actor_name"
	KindActorHandle = "actor_handle"
	KindMention     = "mention"
	// made-up people, towns and street addresses (not in any name list)
	KindPerson  = "person"
	KindPlace   = "place"
	KindAddress = "address"
)

// AllKinds lists every PII kind in a fixed order.
var AllKinds = []string{KindEmail, KindPhone, KindCard, KindIBAN, KindIP, KindSSN, KindURL, KindSecret, KindActorName, KindActorHandle, KindMention, KindPerson, KindPlace, KindAddress}

// Config fixes the simulated product and its traffic mix. Rates are
// probabilities in [0, 1].
type Config struct {
	// Seed makes the run deterministic.
	Seed uint64
	// Tenants and UsersPerTenant size the world.
	Tenants, UsersPerTenant int
	// Purpose of the consent traffic (e.g. ai_training).
	Purpose string
	// PIIRates: per kind, the probability that a free text carries one value.
	PIIRates map[string]float64
	// Plan schedules consent changes in proportion to a run of known length
	// (disabled while Plan.Events is 0).
	Plan ChurnPlan
	// WithdrawRate, GrantRate, TenantOptOutRate and TenantGrantRate are the
	// probabilities that an action is that consent change rather than an event:
	// steady churn for runs without a known length (see SteadyChurn), on top of
	// the plan. Over a long run they leave almost every subject withdrawn.
	WithdrawRate, GrantRate, TenantOptOutRate, TenantGrantRate float64
	// InitialGrantShare of the users grant consent before any event is sent.
	InitialGrantShare float64
	// GPCRate is the share of events sent with Sec-GPC: 1.
	GPCRate float64
	// AnonymousRate is the share of events without a user id (anonymous_id only).
	AnonymousRate float64
}

// DefaultConfig is a 20-tenant product with moderate PII; half of the users grant
// consent up front, and DefaultChurnPlan changes consent during the run once
// Plan.Events is set to the run's length. Call SteadyChurn for per-action rates
// instead.
func DefaultConfig() Config {
	rates := map[string]float64{}
	for _, k := range AllKinds {
		rates[k] = 0.08
	}
	rates[KindEmail], rates[KindMention], rates[KindActorName] = 0.15, 0.2, 0.1
	return Config{
		Seed: 1, Tenants: 20, UsersPerTenant: 25, Purpose: "ai_training", PIIRates: rates,
		Plan: DefaultChurnPlan(), InitialGrantShare: 0.5, GPCRate: 0.05, AnonymousRate: 0.05,
	}
}

// SteadyChurn sets per-action consent rates — 1% withdrawals, 2% grants, 0.01%
// tenant opt-outs and 0.03% tenant re-grants — for runs whose length is not
// known up front (the benchmarks measure under this churn), and disables the plan.
func (c *Config) SteadyChurn() {
	c.WithdrawRate, c.GrantRate, c.TenantOptOutRate, c.TenantGrantRate = 0.01, 0.02, 0.0001, 0.0003
	c.Plan.Events = 0
}

// Validate checks sizes and rates.
func (c *Config) Validate() error {
	var errs []error
	if c.Tenants < 1 || c.UsersPerTenant < 2 {
		errs = append(errs, fmt.Errorf("need at least 1 tenant and 2 users per tenant, got %d and %d", c.Tenants, c.UsersPerTenant))
	}
	if c.Purpose == "" {
		errs = append(errs, errors.New("purpose is required"))
	}
	check := func(name string, v float64) {
		if v < 0 || v > 1 {
			errs = append(errs, fmt.Errorf("%s must be within [0, 1], got %g", name, v))
		}
	}
	for k, v := range c.PIIRates {
		check("PII rate "+k, v)
	}
	check("withdraw rate", c.WithdrawRate)
	check("grant rate", c.GrantRate)
	check("tenant opt-out rate", c.TenantOptOutRate)
	check("tenant grant rate", c.TenantGrantRate)
	check("initial grant share", c.InitialGrantShare)
	check("GPC rate", c.GPCRate)
	check("anonymous rate", c.AnonymousRate)
	if err := c.Plan.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.WithdrawRate+c.GrantRate+c.TenantOptOutRate+c.TenantGrantRate >= 1 {
		errs = append(errs, errors.New("consent rates must sum to less than 1"))
	}
	return errors.Join(errs...)
}
