package producer

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/google/uuid"
)

// Segment call types accepted by the tracking API.
var segmentEventTypes = map[string]string{
	"track":    "", // the event name
	"page":     "page_viewed",
	"screen":   "screen_viewed",
	"identify": "identify",
	"group":    "group",
	"alias":    "alias",
}

// segmentNamespace derives event ids from non-UUID Segment messageIds
// (UUIDv5), so a retried message keeps its id.
var segmentNamespace = uuid.MustParse("3f6c1f59-7d0e-4b7c-9a55-0c1f7e2a6b10")

// DecodeSegment decodes a Segment HTTP Tracking API body. kind is the call type
// the path names (track, page, screen, identify, group, alias) or "batch" for
// /v1/batch, whose items carry their own type. boundTenant is the tenant of the
// write key ("" when unbound). Paths in problems use Segment's field names
// (batch[2].userId). Unknown fields are ignored, as Segment does, because the
// SDKs send many (integrations, library, sentAt …).
func DecodeSegment(kind string, body []byte, maxEvents int, boundTenant string) ([]schema.InteractionEvent, error) {
	var p problems
	top, ok := parseBody(body, &p)
	if !ok {
		return nil, p.err()
	}
	if kind != "batch" {
		ev := decodeSegmentMessage(kind, top, nil, "", boundTenant, &p)
		if err := p.err(); err != nil {
			return nil, err
		}
		return []schema.InteractionEvent{ev}, nil
	}
	var items []json.RawMessage
	raw, has := top["batch"]
	if t := bytes.TrimSpace(raw); !has || len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
		p.add("batch", "must be an array of messages")
		return nil, p.err()
	}
	if len(items) > maxEvents {
		return nil, &TooManyEventsError{Count: len(items), Max: maxEvents}
	}
	if len(items) == 0 {
		p.add("batch", "must hold at least one message")
		return nil, p.err()
	}
	var shared map[string]json.RawMessage
	if c, ok := top["context"]; ok && !isNull(c) {
		shared, _ = parseObject(c, "context", &p)
	}
	out := make([]schema.InteractionEvent, len(items))
	for i, item := range items {
		path := index("batch", i)
		m, ok := parseObject(item, path, &p)
		if !ok {
			continue
		}
		var typ string
		if t, ok := m["type"]; ok {
			typ, _ = str(t, join(path, "type"), maxShortLen, &p)
		}
		if _, known := segmentEventTypes[typ]; !known {
			p.add(join(path, "type"), "must be one of track, page, screen, identify, group, alias")
			continue
		}
		out[i] = decodeSegmentMessage(typ, m, shared, path, boundTenant, &p)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// SegmentWriteKeyFromBody returns the writeKey member of a Segment body, which
// Segment accepts in place of basic auth; "" when absent or not JSON.
func SegmentWriteKeyFromBody(body []byte) string {
	var v struct {
		WriteKey string `json:"writeKey"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.WriteKey
}

// decodeSegmentMessage maps one Segment message onto an InteractionEvent.
// shared is the batch-level context, overridden member by member by the
// message's own.
func decodeSegmentMessage(typ string, m, shared map[string]json.RawMessage, path, boundTenant string, p *problems) schema.InteractionEvent {
	ev := schema.InteractionEvent{Source: "segment"}
	get := func(k string, limit int) string {
		raw, ok := m[k]
		if !ok {
			return ""
		}
		s, _ := str(raw, join(path, k), limit, p)
		return s
	}
	ev.UserID = get("userId", maxIDLen)
	ev.AnonymousID = get("anonymousId", maxIDLen)
	if raw, ok := m["timestamp"]; ok {
		ev.OccurredAt = segmentTime(raw, join(path, "timestamp"), p)
	}

	// Properties: traits for identify and group, properties otherwise.
	propsKey := "properties"
	if typ == "identify" || typ == "group" {
		propsKey = "traits"
	}
	if raw, ok := m[propsKey]; ok {
		ev.Properties = properties(raw, join(path, propsKey), false, p)
	}
	setProp := func(k, v string) {
		if v == "" {
			return
		}
		if ev.Properties == nil {
			ev.Properties = map[string]string{}
		}
		ev.Properties[k] = v
	}

	switch typ {
	case "track":
		ev.EventType = get("event", maxShortLen)
	case "page", "screen":
		ev.EventType = segmentEventTypes[typ]
		setProp("name", get("name", maxShortLen))
		setProp("category", get("category", maxShortLen))
	case "alias":
		ev.EventType = "alias"
		setProp("previous_id", get("previousId", maxIDLen))
	default:
		ev.EventType = segmentEventTypes[typ]
	}

	if id := get("messageId", maxIDLen); id != "" {
		if u, err := uuid.Parse(id); err == nil && u != uuid.Nil {
			ev.EventID = u.String()
		} else {
			ev.EventID = uuid.NewSHA1(segmentNamespace, []byte(id)).String()
			setProp("segment_message_id", id)
		}
	}
	if t, ok := ev.Properties["text"]; ok {
		ev.Text = t
		delete(ev.Properties, "text")
	}

	ctx := mergeContext(shared, m["context"], join(path, "context"), p)
	cp := join(path, "context")
	cget := func(k string, limit int) string {
		raw, ok := ctx[k]
		if !ok {
			return ""
		}
		s, _ := str(raw, join(cp, k), limit, p)
		return s
	}
	ev.IP = ipAddr(cget("ip", maxShortLen), join(cp, "ip"), p)
	ev.Locale = cget("locale", maxShortLen)
	ev.UserAgent = cget("userAgent", maxUserAgentLen)
	ev.SessionID = cget("sessionId", maxIDLen)
	ev.Jurisdiction = jurisdiction(cget("jurisdiction", maxShortLen), join(cp, "jurisdiction"), p)
	if raw, ok := ctx["gpc"]; ok {
		ev.GPC = boolean(raw, join(cp, "gpc"), p)
	}
	if raw, ok := ctx["consent"]; ok {
		ev.ClientConsent = compactJSON(raw, join(cp, "consent"), maxConsentLen, p)
	}

	// The actor's identity, for redacting it from free text downstream.
	traits := ev.Properties
	if typ != "identify" && typ != "group" {
		traits = nil
		if raw, ok := ctx["traits"]; ok {
			traits = properties(raw, join(cp, "traits"), false, p)
		}
	}
	ev.ActorName, ev.ActorEmail, ev.ActorHandle = traits["name"], traits["email"], traits["username"]

	// Tenant: context.groupId, then properties/traits tenant_id, then the group
	// call's groupId, then the write key's.
	tenantPath := join(cp, "groupId")
	ev.TenantID = cget("groupId", maxIDLen)
	if ev.TenantID == "" {
		ev.TenantID, tenantPath = ev.Properties["tenant_id"], join(join(path, propsKey), "tenant_id")
	}
	if ev.TenantID == "" && typ == "group" {
		ev.TenantID, tenantPath = get("groupId", maxIDLen), join(path, "groupId")
	}
	switch {
	case boundTenant != "" && ev.TenantID != "" && ev.TenantID != boundTenant:
		p.add(tenantPath, "names another tenant than the write key is bound to")
	case boundTenant != "":
		ev.TenantID = boundTenant
	}

	if blank(ev.EventType) {
		p.add(join(path, "event"), "required")
	}
	if blank(ev.TenantID) {
		p.add(join(cp, "groupId"), "required (or %s.tenant_id, or a write key bound to a tenant)", propsKey)
	}
	if blank(ev.UserID) && blank(ev.AnonymousID) {
		p.add(join(path, "userId"), "required (or anonymousId)")
	}
	return ev
}

// mergeContext overlays the message's context on the batch's.
func mergeContext(shared map[string]json.RawMessage, own json.RawMessage, path string, p *problems) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage, len(shared))
	for k, v := range shared {
		out[k] = v
	}
	if own == nil || isNull(own) {
		return out
	}
	m, ok := parseObject(own, path, p)
	if !ok {
		return out
	}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// segmentTime accepts what the Segment libraries send: RFC 3339, or ISO 8601
// without a zone (taken as UTC).
func segmentTime(raw json.RawMessage, path string, p *problems) time.Time {
	var s string
	if isNull(raw) {
		return time.Time{}
	}
	if err := json.Unmarshal(raw, &s); err == nil {
		if t, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
			return validTime(t, path, p)
		}
	}
	return timestamp(raw, path, p)
}
