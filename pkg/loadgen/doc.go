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
// PUT /v1/users/{user_id}/consents/{purpose} or
// PUT /v1/tenants/{tenant_id}/consents/{purpose} — and writes a ground-truth file.
//
// # Sequencing
//
// All actions of one tenant (its users' events and consent changes and the
// tenant's own) run on one worker, in generation order, and a worker sends an
// event only after every earlier consent PUT of its tenant has returned. So when
// an event is sent, the consent state that applies to it is known exactly: the
// Runner passes it to an Oracle (the consent filter's decision function) and
// records the answer. The state's Since is the time the PUT returned, an upper
// bound of the server's effective_at; the event's ReceivedAt given to the oracle is
// the send time, a lower bound of the producer's received_at. Both clocks are the
// load generator's, so run it on the same host as (or NTP-synced with) the stack.
//
// # Ground truth
//
// One JSON object per line, see EventTruth and ConsentTruth; "kind" tells them
// apart. Every PII value seeded into an event's text is listed with its
// Presidio-style type, exactly as it appears in the text.
package loadgen
