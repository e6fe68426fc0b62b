package producer

import (
	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/formats"
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
//
// A body that is valid as it stands is decoded in one streaming pass
// (decodeEventsFast); any other body is parsed once (jdoc.parse) and the events
// and problems are then taken from the parsed values.
//
// As DecodeEventsFor, it may return strings that share body's memory.
func DecodeEvents(body []byte, maxEvents int) ([]schema.InteractionEvent, error) {
	return DecodeEventsFor(body, maxEvents, nil)
}

// DecodeEventsFor is DecodeEvents for a request made with cred: a bound
// credential stamps its tenant on events that name none and refuses the
// request with a *ForbiddenError when an event names another (bindEvent).
//
// The events' strings may share body's memory: body must not be modified
// while they are in use (the API reads a fresh buffer per request).
func DecodeEventsFor(body []byte, maxEvents int, cred *auth.Credential) ([]schema.InteractionEvent, error) {
	if evs, ok := decodeEventsFast(body, maxEvents, cred); ok {
		return evs, nil
	}
	return decodeEventsFull(body, maxEvents, cred)
}

// decodeEventsFull is DecodeEventsFor without the fast path: the decoder that
// judges and words every problem.
func decodeEventsFull(body []byte, maxEvents int, cred *auth.Credential) ([]schema.InteractionEvent, error) {
	var evs []schema.InteractionEvent
	err := decodeDoc(body, (*jdoc).parse, func(top jval, p *problems) (err error) {
		evs, err = decodeEvents(top, maxEvents, cred, p)
		return err
	})
	return evs, err
}

func decodeEvents(top jval, maxEvents int, cred *auth.Credential, p *problems) ([]schema.InteractionEvent, error) {
	if duplicateMembers(top, "", p) {
		return nil, p.err()
	}
	members, _ := top.members()
	var evs jval
	isBatch := false
	for _, m := range members {
		if m.key == "events" {
			evs, isBatch = m.val, true
		}
	}
	if !isBatch {
		ev := decodeEvent(members, "", cred, p)
		if err := p.err(); err != nil {
			return nil, err
		}
		return []schema.InteractionEvent{ev}, nil
	}
	for _, m := range members {
		if m.key != "events" {
			p.add(join("", m.key), `unknown field (a batch holds only "events")`)
		}
	}
	if evs.kind() != '[' {
		p.add("events", "must be an array of event objects")
		return nil, p.err()
	}
	items := evs.elems()
	if len(items) > maxEvents {
		return nil, &TooManyEventsError{Count: len(items), Max: maxEvents}
	}
	if len(items) == 0 {
		p.add("events", "must hold at least one event")
		return nil, p.err()
	}
	out := make([]schema.InteractionEvent, len(items))
	for i, item := range items {
		path := index("events", i)
		if item.kind() == '{' {
			ms, mark := item.members()
			out[i] = decodeEvent(ms, path, cred, p)
			item.d.releaseMembers(mark)
		} else {
			p.add(path, "must be an object")
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeEvent maps one event object of the native API onto an InteractionEvent.
// Its members come sorted by name, so problems come out stable.
func decodeEvent(members []jmember, path string, cred *auth.Credential, p *problems) schema.InteractionEvent {
	var ev schema.InteractionEvent
	for _, m := range members {
		v, fp := m.val, loc{path, m.key}
		switch m.key {
		case "event_id":
			s, _ := str(v, fp, maxIDLen, p)
			ev.EventID = eventID(s, fp, p)
		case "event_type":
			ev.EventType, _ = str(v, fp, maxShortLen, p)
		case "tenant_id":
			ev.TenantID = ident(v, fp, p)
		case "user_id":
			ev.UserID = ident(v, fp, p)
		case "anonymous_id":
			ev.AnonymousID = ident(v, fp, p)
		case "session_id":
			ev.SessionID = ident(v, fp, p)
		case "occurred_at":
			ev.OccurredAt = timestamp(v, fp, p)
		case "jurisdiction":
			s, _ := str(v, fp, maxShortLen, p)
			ev.Jurisdiction = jurisdiction(s, fp, p)
		case "gpc":
			ev.GPC = boolean(v, fp, p)
		case "ip":
			s, _ := str(v, fp, maxShortLen, p)
			ev.IP = ipAddr(s, fp, p)
		case "user_agent":
			ev.UserAgent, _ = str(v, fp, maxUserAgentLen, p)
		case "locale":
			ev.Locale, _ = str(v, fp, maxShortLen, p)
		case "location":
			ev.Location, _ = str(v, fp, maxShortLen, p)
		case "text":
			ev.Text, _ = str(v, fp, maxTextLen, p)
		case "properties":
			ev.Properties = properties(v, fp, true, p)
		case "actor_name":
			ev.ActorName, _ = str(v, fp, maxShortLen, p)
		case "actor_email":
			ev.ActorEmail, _ = str(v, fp, maxShortLen, p)
		case "actor_handle":
			ev.ActorHandle, _ = str(v, fp, maxShortLen, p)
		case "client_consent":
			ev.ClientConsent = compactJSON(v, fp, maxConsentLen, p)
		case "received_at", "source":
			p.addAt(fp, "set by the server; send occurred_at for the client's clock")
		default:
			p.addAt(fp, "unknown field")
		}
	}
	bindEvent(cred, &ev, loc{path, "tenant_id"}, p)
	requireCore(&ev, path, "event_type", "tenant_id", "user_id", "anonymous_id", p)
	checkKept(&ev, join(path, "event_type"), join(path, "locale"), join(path, "location"), p)
	return ev
}

// checkKept reports the fields that curated events keep (in a closed form)
// whose value is outside that form (pkg/formats): an event type that is not a
// token, a locale that is no BCP 47 tag, a location that is not Country[/Region
// [/City]]. Free text there would carry other people's data into every
// dataset; the anonymizer never passes it either, but a 400 tells the client.
func checkKept(ev *schema.InteractionEvent, typePath, localePath, locationPath string, p *problems) {
	if !blank(ev.EventType) {
		if err := formats.EventType(ev.EventType); err != nil {
			p.add(typePath, "%s", err)
		}
	}
	if ev.Locale != "" {
		if _, err := formats.Locale(ev.Locale); err != nil {
			p.add(localePath, "%s", err)
		}
	}
	if ev.Location != "" {
		if _, err := formats.Location(ev.Location); err != nil {
			p.add(locationPath, "%s", err)
		}
	}
}

// requireCore reports the fields every event needs: a type, a tenant and a
// consent subject. The names are those of the API being decoded.
func requireCore(ev *schema.InteractionEvent, path, typeName, tenantName, userName, anonName string, p *problems) {
	if blank(ev.EventType) {
		p.add(join(path, typeName), "required")
	}
	// Ids that are only white space were reported by ident.
	if ev.TenantID == "" {
		p.add(join(path, tenantName), "required")
	}
	if ev.UserID == "" && ev.AnonymousID == "" {
		p.add(join(path, userName), "required (or %s for anonymous traffic)", anonName)
	}
}
