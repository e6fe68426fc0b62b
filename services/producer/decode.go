package producer

import (
	"bytes"
	"encoding/json"

	"github.com/consentflow/consentflow/pkg/schema"
)

// DecodeEvents decodes the body of POST /v1/events: one event object, or
// {"events": [...]} with 1..maxEvents events. It returns the events in request
// order, or a *ValidationError listing every problem with its path (events[3].user_id
// for a batch, user_id for a single event), or a *TooManyEventsError. It never
// returns some events and an error.
//
// The decoder does not stamp anything: received_at, source, gpc from the header
// and missing event ids are the handler's. It rejects fields it does not know, so
// that a misspelt field (userId) is an error rather than silently lost data.
func DecodeEvents(body []byte, maxEvents int) ([]schema.InteractionEvent, error) {
	var p problems
	top, ok := parseBody(body, &p)
	if !ok {
		return nil, p.err()
	}
	evRaw, isBatch := top["events"]
	if !isBatch {
		ev := decodeEvent(top, "", &p)
		if err := p.err(); err != nil {
			return nil, err
		}
		return []schema.InteractionEvent{ev}, nil
	}
	for _, k := range sortedKeys(top) {
		if k != "events" {
			p.add(join("", k), `unknown field (a batch holds only "events")`)
		}
	}
	var items []json.RawMessage
	if t := bytes.TrimSpace(evRaw); len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
		p.add("events", "must be an array of event objects")
		return nil, p.err()
	}
	if len(items) > maxEvents {
		return nil, &TooManyEventsError{Count: len(items), Max: maxEvents}
	}
	if len(items) == 0 {
		p.add("events", "must hold at least one event")
		return nil, p.err()
	}
	out := make([]schema.InteractionEvent, len(items))
	for i, raw := range items {
		path := index("events", i)
		if m, ok := parseObject(raw, path, &p); ok {
			out[i] = decodeEvent(m, path, &p)
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseBody decodes the whole body as one JSON object.
func parseBody(body []byte, p *problems) (map[string]json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		p.add("body", "invalid JSON: %v", err)
		return nil, false
	}
	if dec.More() {
		p.add("body", "trailing data after the JSON value")
		return nil, false
	}
	if _, err := dec.Token(); err == nil {
		p.add("body", "trailing data after the JSON value")
		return nil, false
	}
	return parseObject(raw, "body", p)
}

// decodeEvent maps one event object of the native API onto an InteractionEvent.
func decodeEvent(m map[string]json.RawMessage, path string, p *problems) schema.InteractionEvent {
	var ev schema.InteractionEvent
	for _, k := range sortedKeys(m) {
		raw, fp := m[k], join(path, k)
		switch k {
		case "event_id":
			s, _ := str(raw, fp, maxIDLen, p)
			ev.EventID = eventID(s, fp, p)
		case "event_type":
			ev.EventType, _ = str(raw, fp, maxShortLen, p)
		case "tenant_id":
			ev.TenantID, _ = str(raw, fp, maxIDLen, p)
		case "user_id":
			ev.UserID, _ = str(raw, fp, maxIDLen, p)
		case "anonymous_id":
			ev.AnonymousID, _ = str(raw, fp, maxIDLen, p)
		case "session_id":
			ev.SessionID, _ = str(raw, fp, maxIDLen, p)
		case "occurred_at":
			ev.OccurredAt = timestamp(raw, fp, p)
		case "jurisdiction":
			s, _ := str(raw, fp, maxShortLen, p)
			ev.Jurisdiction = jurisdiction(s, fp, p)
		case "gpc":
			ev.GPC = boolean(raw, fp, p)
		case "ip":
			s, _ := str(raw, fp, maxShortLen, p)
			ev.IP = ipAddr(s, fp, p)
		case "user_agent":
			ev.UserAgent, _ = str(raw, fp, maxUserAgentLen, p)
		case "locale":
			ev.Locale, _ = str(raw, fp, maxShortLen, p)
		case "location":
			ev.Location, _ = str(raw, fp, maxShortLen, p)
		case "text":
			ev.Text, _ = str(raw, fp, maxTextLen, p)
		case "properties":
			ev.Properties = properties(raw, fp, true, p)
		case "actor_name":
			ev.ActorName, _ = str(raw, fp, maxShortLen, p)
		case "actor_email":
			ev.ActorEmail, _ = str(raw, fp, maxShortLen, p)
		case "actor_handle":
			ev.ActorHandle, _ = str(raw, fp, maxShortLen, p)
		case "client_consent":
			ev.ClientConsent = compactJSON(raw, fp, maxConsentLen, p)
		case "received_at", "source":
			p.add(fp, "set by the server; send occurred_at for the client's clock")
		default:
			p.add(fp, "unknown field")
		}
	}
	requireCore(&ev, path, "event_type", "tenant_id", "user_id", "anonymous_id", p)
	return ev
}

// requireCore reports the fields every event needs: a type, a tenant and a
// consent subject. The names are those of the API being decoded.
func requireCore(ev *schema.InteractionEvent, path, typeName, tenantName, userName, anonName string, p *problems) {
	if blank(ev.EventType) {
		p.add(join(path, typeName), "required")
	}
	if blank(ev.TenantID) {
		p.add(join(path, tenantName), "required")
	}
	if blank(ev.UserID) && blank(ev.AnonymousID) {
		p.add(join(path, userName), "required (or %s for anonymous traffic)", anonName)
	}
}
