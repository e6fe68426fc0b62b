package producer

import (
	"time"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/identity"
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
// /v1/batch, whose items carry their own type. cred is the write key (nil in
// tests: unbound); its tenant binding and browser settings apply to every
// message (bindEvent). Paths in problems use Segment's field names
// (batch[2].userId). Unknown fields are ignored, as Segment does, because the
// SDKs send many (integrations, library, sentAt …).
func DecodeSegment(kind string, body []byte, maxEvents int, cred *auth.Credential) ([]schema.InteractionEvent, error) {
	var evs []schema.InteractionEvent
	err := decodeDoc(body, (*jdoc).parse, func(top jval, p *problems) (err error) {
		evs, err = decodeSegment(kind, top, maxEvents, cred, p)
		return err
	})
	return evs, err
}

func decodeSegment(kind string, topVal jval, maxEvents int, cred *auth.Credential, p *problems) ([]schema.InteractionEvent, error) {
	if duplicateMembers(topVal, "", p) {
		return nil, p.err()
	}
	top := objectOf(topVal)
	if credentialMember(top, segmentWriteKey, "", p); len(p.list) > 0 {
		return nil, p.err() // a case variant of writeKey, as when authenticating
	}
	if kind != "batch" {
		ev := decodeSegmentMessage(kind, top, object{}, "", cred, p)
		if err := p.err(); err != nil {
			return nil, err
		}
		return []schema.InteractionEvent{ev}, nil
	}
	batch, has := top.get("batch")
	if !has || batch.kind() != '[' {
		p.add("batch", "must be an array of messages")
		return nil, p.err()
	}
	items := batch.elems()
	if len(items) > maxEvents {
		return nil, &TooManyEventsError{Count: len(items), Max: maxEvents}
	}
	if len(items) == 0 {
		p.add("batch", "must hold at least one message")
		return nil, p.err()
	}
	var shared object
	if c, ok := top.get("context"); ok && c.kind() != 'n' {
		if c.kind() == '{' {
			shared = objectOf(c)
		} else {
			p.add("context", "must be an object")
		}
	}
	out := make([]schema.InteractionEvent, len(items))
	for i, item := range items {
		path := index("batch", i)
		if item.kind() != '{' {
			p.add(path, "must be an object")
			continue
		}
		m := objectOf(item)
		var typ string
		if t, ok := m.get("type"); ok {
			typ, _ = str(t, loc{path, "type"}, maxShortLen, p)
		}
		if _, known := segmentEventTypes[typ]; !known {
			p.add(join(path, "type"), "must be one of track, page, screen, identify, group, alias")
			continue
		}
		out[i] = decodeSegmentMessage(typ, m, shared, path, cred, p)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// SegmentWriteKeyFromBody returns the writeKey member of a Segment body, which
// Segment accepts in place of basic auth: the member named exactly writeKey,
// as Segment documents it and analytics.js sends it; "" when absent, not a
// string, or the body is not a JSON object. A body that names it more than
// once, exactly or in another letter case ({"writeKey":"a","WriteKey":"b"}),
// is a *ValidationError (credentialMember), as the decoder would say.
func SegmentWriteKeyFromBody(body []byte) (string, error) {
	var key string
	read := false
	err := decodeDoc(body, (*jdoc).parse, func(top jval, p *problems) error {
		read = true
		key, _ = credentialMember(objectOf(top), segmentWriteKey, "", p)
		return p.err()
	})
	if !read { // not a JSON object: the decoder says so once authenticated
		return "", nil
	}
	return key, err
}

// segmentWriteKey is the body member Segment reads the write key from.
const segmentWriteKey = "writeKey"

// decodeSegmentMessage maps one Segment message (an object node) onto an
// InteractionEvent. shared is the batch-level context (an object node, or none),
// overridden member by member by the message's own.
func decodeSegmentMessage(typ string, m, shared object, path string, cred *auth.Credential, p *problems) schema.InteractionEvent {
	ev := schema.InteractionEvent{Source: "segment"}
	get := func(k string, limit int) string { return m.str(path, k, limit, p) }
	getID := func(k string) string { return m.ident(path, k, p) }
	ev.UserID = getID("userId")
	ev.AnonymousID = getID("anonymousId")
	if v, ok := m.get("timestamp"); ok {
		ev.OccurredAt = segmentTime(v, loc{path, "timestamp"}, p)
	} else if v, ok := m.get("originalTimestamp"); ok { // RudderStack's client clock
		ev.OccurredAt = segmentTime(v, loc{path, "originalTimestamp"}, p)
	}

	// Properties: traits for identify and group, properties otherwise.
	propsKey := "properties"
	if typ == "identify" || typ == "group" {
		propsKey = "traits"
	}
	if v, ok := m.get(propsKey); ok {
		ev.Properties = properties(v, loc{path, propsKey}, false, p)
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
		// previousId links the user's earlier id to userId (identity
		// stitching); it is a raw id, so it never goes into properties.
		ev.EventType = "alias"
		ev.PreviousID = getID("previousId")
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

	cp := join(path, "context")
	own, _ := m.get("context")
	ctx := mergeContext(shared, own, cp, p)
	cget := func(k string, limit int) string {
		v, ok := ctx.get(k)
		if !ok {
			return ""
		}
		s, _ := str(v, loc{cp, k}, limit, p)
		return s
	}
	ev.IP = ipAddr(cget("ip", maxShortLen), loc{cp, "ip"}, p)
	ev.Locale = cget("locale", maxShortLen)
	ev.UserAgent = cget("userAgent", maxUserAgentLen)
	if v, ok := ctx.get("sessionId"); ok {
		// A string, or a number: RudderStack's JavaScript SDK sends its session id as epoch milliseconds.
		ev.SessionID = numericID(v, loc{cp, "sessionId"}, p)
	}
	ev.Jurisdiction = jurisdiction(cget("jurisdiction", maxShortLen), loc{cp, "jurisdiction"}, p)
	if v, ok := ctx.get("gpc"); ok {
		ev.GPC = boolean(v, loc{cp, "gpc"}, p)
	}
	if v, ok := ctx.get("consent"); ok {
		ev.ClientConsent = compactJSON(v, loc{cp, "consent"}, maxConsentLen, p)
	}

	// The actor's identity, for redacting it from free text downstream.
	traits := ev.Properties
	if typ != "identify" && typ != "group" || len(traits) == 0 {
		traits = nil
		if v, ok := ctx.get("traits"); ok {
			traits = properties(v, loc{cp, "traits"}, false, p)
		}
		if typ == "identify" && len(ev.Properties) == 0 {
			// RudderStack's identify carries its traits in context.traits only.
			ev.Properties = traits
		}
	}
	ev.ActorName, ev.ActorEmail, ev.ActorHandle = traits["name"], traits["email"], traits["username"]

	// Tenant: context.groupId, then properties/traits tenant_id, then the group
	// call's groupId, then the write key's.
	tenantPath := loc{cp, "groupId"}
	if v, ok := ctx.get("groupId"); ok {
		ev.TenantID = ident(v, tenantPath, p)
	}
	if t := ev.Properties["tenant_id"]; ev.TenantID == "" && t != "" {
		tenantPath = loc{join(path, propsKey), "tenant_id"}
		if err := identity.Check(t); err != nil {
			p.addAt(tenantPath, "%s", identity.Message(err))
		}
		ev.TenantID = t
	}
	if v, ok := m.get("groupId"); ev.TenantID == "" && ok && typ == "group" {
		tenantPath = loc{path, "groupId"}
		ev.TenantID = ident(v, tenantPath, p)
	}
	bindEvent(cred, &ev, tenantPath, p)

	if blank(ev.EventType) {
		p.add(join(path, "event"), "required")
	}
	checkKept(&ev, join(path, "event"), join(cp, "locale"), "", p)
	if ev.TenantID == "" {
		p.add(join(cp, "groupId"), "required (or %s.tenant_id, or a write key bound to a tenant)", propsKey)
	}
	if ev.UserID == "" && ev.AnonymousID == "" {
		p.add(join(path, "userId"), "required (or anonymousId)")
	}
	return ev
}

// segmentContext is a message's context overlaid on the batch's.
type segmentContext struct {
	own, shared object // or none
}

func (c segmentContext) get(k string) (jval, bool) {
	if v, ok := c.own.get(k); ok {
		return v, true
	}
	return c.shared.get(k)
}

// mergeContext overlays the message's context on the batch's.
func mergeContext(shared object, own jval, path string, p *problems) segmentContext {
	switch own.kind() {
	case 0, 'n':
	case '{':
		return segmentContext{own: objectOf(own), shared: shared}
	default:
		p.add(path, "must be an object")
	}
	return segmentContext{shared: shared}
}

// segmentTime accepts what the Segment libraries send: RFC 3339, or ISO 8601
// without a zone (taken as UTC).
func segmentTime(v jval, at loc, p *problems) time.Time {
	if v.kind() == '"' {
		if t, err := time.Parse("2006-01-02T15:04:05.999999999", v.text()); err == nil {
			return validTime(t, at, p)
		}
	}
	return timestamp(v, at, p)
}
