// Package policy loads, validates and queries the consent policy file: the
// versioned document that says, per jurisdiction, whether consent is opt_in
// or opt_out, which regime applies to unknown jurisdictions, which purposes
// exist, and whether the Sec-GPC: 1 header counts as a denial.
//
// The file is YAML (JSON, being YAML, is accepted too). Unknown keys are
// rejected so that a typo ("gpc_deny") fails at start instead of silently
// falling back to a default:
//
//	version: "2025-01-15.1"        # required; stamped on every decision
//	default_regime: opt_in         # opt_in | opt_out; default opt_in
//	gpc_denies: true               # default true
//	purposes:
//	  ai_training:
//	    description: Training ML models on product interactions.
//	    gpc_denies: true           # optional per-purpose override
//	jurisdictions:                 # ISO 3166-1 alpha-2 or ISO 3166-2 code → regime
//	  DE: opt_in
//	  US: opt_out
//	  US-CA: opt_out
//
// A Policy is immutable once parsed and safe for concurrent use.
package policy
