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
//	identity:
//	  user_ids: tenant             # tenant (default) | global
//	  anonymous_ids: tenant        # tenant (default) | global
//
// identity says whether a user id (anonymous id) names one person only within
// its tenant, so that user 7 of tenant A and user 7 of tenant B are two
// subjects with their own consent (tenant, the default: many products number
// users per tenant), or in every tenant, so that the person's own choice
// applies wherever they appear (global: a platform account id). It decides
// the consent keys, the Redis keys, the pseudonyms and the audit references;
// see docs/ARCHITECTURE.md, "Identity". Changing it re-keys every subject:
// records written under the other setting keep the scope they were written
// with (ConsentChange.subject_scope), so switch only with a re-import.
//
// A Policy is immutable once parsed and safe for concurrent use.
package policy
