// Package loadgen generates realistic, deterministic traffic for consentflow: the
// interaction events of a Jira/Confluence-like product (tenants, users with
// names, emails, handles and jurisdictions, sessions, issues, comments, pages,
// searches, AI prompts) whose free text carries personal data at configurable
// rates, interleaved with consent traffic (user withdrawals and grants, tenant
// opt-outs and re-grants) for the consent API.
//
// A Generator turns a seed into a sequence of Actions; the same Config yields the
// same sequence (event ids included). A Runner sends the actions over HTTP —
// events to the producer's POST /v1/events, consent changes as
// PUT /v1/tenants/{tenant}/users/{user}/consents/{purpose},
// PUT /v1/tenants/{tenant}/anonymous/{anon}/consents/{purpose} (cookie banners,
// part of the ChurnPlan) or PUT /v1/tenants/{tenant}/consents/{purpose} — and
// writes a log of them.
//
// # Consent churn
//
// Half of the users grant consent before the first event. During the run a
// ChurnPlan changes consent in proportion to the run's length: a fixed share of
// the users withdraw (some re-grant later), a share of the others grant, a share
// of the tenants opt out (some re-grant), at points spread over the run; half of
// these changes follow an event of their own subject at once, so that the filter
// often decides that event after the change. Per-action rates (SteadyChurn) are
// there for runs of unknown length such as the benchmarks.
//
// # Identity
//
// Tenants number their users (u-0001 … in every tenant, each with their own
// consent), and every eighth id holds '/', '%', spaces or non-ASCII letters.
// Three users in ten have a browser cookie: they browse anonymously, log in
// (an identify event carrying both ids links them), use the product logged in
// (their events carry both ids) and log out. After the first identify of a
// user a Runner that writes a log polls
// GET /v1/tenants/{tenant}/users/{user}/consents until
// the link shows (LinkTimeout) and writes a LinkTruth line; it sends nothing
// else of the tenant meanwhile, so links are ordered against the tenant's
// consent changes; the line's linked_at is the time the link was first seen.
//
// # Sequencing
//
// All actions of one tenant (its users' events and consent changes and the
// tenant's own) run on one worker, in generation order: a worker sends an event
// only after every earlier consent PUT of its tenant has returned, and a change
// only after every earlier event was answered. So the order of a tenant's
// actions is their Seq.
//
// # Log
//
// One JSON object per line, see EventTruth and ConsentTruth; "kind" tells them
// apart. It records what was sent and what the services answered — the
// producer's received_at of every accepted event, the consent API's version and
// effective_at of every applied change, the status and attempts of every request
// — and no expectation: whether an event must pass is for an independent oracle
// to derive (e2e/oracle.py). Every PII value seeded into an event's text is
// listed with its Presidio-style type, exactly as it appears in the text.
package loadgen
