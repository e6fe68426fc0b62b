// Package producer is consentflow's ingest service: the front door where product
// backends post interaction events. Every accepted event is written to the raw
// topic (default events.raw) in the Confluent Avro wire format, keyed by its
// consent subject (user_id, or anonymous_id for anonymous traffic), and the HTTP
// response claims success only after Kafka acknowledged every record of the
// request with acks=all.
//
// # Endpoints (PRODUCER_HTTP_ADDR)
//
//   - POST /v1/events — one event object, or {"events": [...]}. Bearer token with
//     scope events:write. Answers 202 {"accepted": n, "event_ids": [...],
//     "received_at": "<RFC 3339, ms>"} after Kafka acknowledged all n records;
//     received_at is the server time stamped on every event of the request.
//   - POST /v1/track, /v1/page, /v1/screen, /v1/identify, /v1/group, /v1/alias,
//     /v1/batch — the Segment HTTP Tracking API (write key as the basic-auth user,
//     empty password). Answers 200 {"success": true} after the acknowledgement, as
//     Segment does, because the Segment SDKs retry anything else.
//
// Status codes: 400 with {"error": "invalid_request", "problems": [{"path":
// "events[3].user_id", "message": "required"}]} listing the problems (the first
// 20, and "more_problems": n past them; a request is
// accepted or rejected as a whole; a member name repeated in any object of the
// body, on any endpoint, is a 400 with only those problems, "events[0].user_id:
// duplicate member", because JSON readers disagree on which of the two counts:
// see duplicates.go; the body's writeKey is the member of exactly that name,
// and names equal to it but for letter case are duplicates too); 401 without a
// known credential (with
// WWW-Authenticate); 403 with a credential lacking the scope, or bound to another
// tenant than an event's ({"error": "forbidden", "problems": [...]}); 405 for another
// method; 413 over MAX_BODY_BYTES or MAX_EVENTS_PER_REQUEST; 415 for a
// Content-Type other than application/json (or a Content-Encoding other than
// gzip/identity); 503 with Retry-After when Kafka did not acknowledge every record
// within WRITE_TIMEOUT. A 503 body claims nothing: some of its records may be in
// Kafka (the write raced the timeout), so clients retry with the same event_ids
// and consumers de-duplicate on event_id (at-least-once, never silent loss).
//
// # Fields
//
// The server stamps received_at (its own clock, the time consent is evaluated
// at) and source ("api" or "segment"); a client sending received_at or source is
// told so with a 400. event_id is stamped (UUIDv4) when absent; a client id must
// be a UUID. gpc is true when the request carried Sec-GPC: 1 or the event itself
// says "gpc": true (a trusted backend forwarding its users' signals in one batch):
// GPC can only restrict, so either source suffices. jurisdiction passes through
// unchanged from the trusted backend (shape-checked only); an unknown or missing
// one gets the policy's conservative default regime downstream.
//
// # Segment mapping
//
// userId→user_id, anonymousId→anonymous_id, messageId→event_id (a non-UUID
// messageId, as analytics.js sends, becomes a UUIDv5 of it so retries keep their
// identity, and the original is kept in properties.segment_message_id),
// timestamp→occurred_at, context.ip/locale/userAgent→ip/locale/user_agent,
// context.sessionId→session_id (a string, or a number: RudderStack's browser SDK
// sends epoch milliseconds), context.jurisdiction→jurisdiction (a custom
// context field set by the backend; Segment has none), context.gpc or Sec-GPC→gpc,
// context.consent→client_consent (its JSON text: data only, never the decision),
// properties (identify: traits) → properties with non-string values as their JSON
// text; properties.text moves to text (so the anonymizer redacts it); traits or
// context.traits name/email/username → actor_name/actor_email/actor_handle.
// event_type is the track event name, or page_viewed, screen_viewed, identify,
// group, alias for the other calls.
//
// Tenant: context.groupId, else properties.tenant_id (identify: traits.tenant_id;
// group: groupId), else the tenant the write key is bound to. alias: previousId →
// previous_id, which the consent-filter links to userId (never kept in
// properties: it is a raw id).
//
// # Identifiers and credentials
//
// Every id field (tenant_id, user_id, anonymous_id, session_id, previous_id and
// their Segment names) follows pkg/identity's rule and is rejected with its path
// (400), never normalised: what ingest accepts, the consent API can address. A
// token or write key bound to a tenant (;tenant=) stamps that tenant on events
// that name none and refuses, with 403 and the reason, a request with an event of
// another tenant (bindEvent, the one function every ingest endpoint applies). A
// browser write key (;browser) gives its events the key's tenant and the key's
// jurisdiction, or none (the policy's default regime): a page cannot choose its
// visitors' regime. Unbound credentials are logged once at start.
//
// # Partitioning
//
// Records are keyed by the consent subject and partitioned with kafka-go's
// Murmur2Balancer, the same murmur2 hash as the Java client's default
// partitioner, so a Java, Kafka Streams or Flink producer keyed the same way puts
// a subject on the same partition and per-subject order holds across clients.
package producer
