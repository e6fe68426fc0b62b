// Package decision is the pure consent decision of ARCHITECTURE.md,
// "Consent semantics": given an event's server-side received_at,
// jurisdiction and GPC flag, the tenant's and the user's consent records for
// the purpose, and the policy, it says allow or deny, why, and which consent
// record the answer rests on. No I/O, no clock, no randomness: the same
// Input and Policy always give the same Decision.
//
// The rules, in order (the first that matches decides):
//
//  1. Tenant DENIED → deny tenant_opt_out. Tenant GRANTED with
//     effective_at > received_at → deny tenant_consent_after_event. A tenant
//     grant in force at received_at decides nothing: evaluation goes on with
//     the user's record and the regime.
//  2. User DENIED → deny user_opt_out (whatever its effective_at). "User" is
//     the event's primary subject: its user id, or its anonymous id when it
//     has none.
//     2a. The primary subject has more links than the filter consults → deny
//     link_limit.
//     2b. Linked subjects (identity stitching), like the tenant, can only take
//     away: any linked record DENIED → deny linked_opt_out; any linked record
//     GRANTED with effective_at > received_at → deny
//     linked_consent_after_event (its state at received_at is unknown). The
//     linked subjects of an event are its anonymous id when it also carries a
//     user id, an alias's previous ids, every subject linked to its primary
//     subject (links come from identify/alias calls, events that carry both
//     ids, and the consent API), and the legacy records of its ids that are
//     newer than the subject's own record. A linked grant never allows.
//  3. User GRANTED at g: allow (allowed_consent) if g <= received_at, else
//     deny consent_after_event.
//  4. No user record: in an opt_out regime allow (allowed_opt_out_regime)
//     unless the event carries GPC and the policy says GPC denies for the
//     purpose → deny gpc; in an opt_in regime deny no_consent.
//
// The regime comes from the event's jurisdiction through
// policy.Policy.Regime (exact code, then country, then the default regime).
//
// Why a grant after received_at denies (rules 1 and 3): the compacted
// consent.changes topic keeps only the latest change per key, so a record
// GRANTED at g > received_at says nothing about the state at received_at;
// the user may have been DENIED then (DENIED → re-GRANTED after the event).
// Without the history we cannot prove consent, so we deny. This holds in an
// opt_out regime too, where "no record" would have allowed: the grant proves
// that some record existed, and the earlier one may have been a denial.
//
// Known limits of the rules as specified (see the consent-filter notes):
//   - GPC is only consulted in rule 4. An explicit, earlier user grant wins
//     over a GPC signal on the same event. California's regulations treat GPC
//     as an opt-out even when it conflicts with an earlier setting; a policy
//     wanting that needs a new per-purpose switch, not provided here.
//   - effective_at (consent API clock) and received_at (producer clock) come
//     from different machines. A grant recorded a few ms "before" an event by
//     a skewed clock allows it. Denials are unaffected (rule 2 ignores time).
//   - A DENIED record denies events received before the denial too
//     (conservative: the earlier state is unknown).
package decision
