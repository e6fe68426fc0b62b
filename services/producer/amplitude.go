package producer

import (
	"errors"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/refusals"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/google/uuid"
)

// Amplitude's HTTP API v2 (POST /2/httpapi) and Batch API (POST /batch):
// {"api_key": KEY, "events": [...], "options": {...}}, answered as Amplitude
// answers, because its SDKs read the answer's body, not only its status:
//
//   - 200 {"code": 200, "events_ingested": n, "payload_size_bytes": b,
//     "server_upload_time": ms} once Kafka acknowledged every event.
//   - 400 {"code": 400, "error": ..., "events_with_invalid_fields": {field:
//     [indexes]}, "events_with_missing_fields": {field: [indexes]},
//     "problems": [...]}: every event of the request is refused (as
//     everywhere in the producer); the SDKs drop the listed events and send
//     the others again.
//   - 400 {"error": "Invalid API key: ..."} for an unknown key and
//     {"missing_field": "api_key"} without one: the SDKs drop the batch (the
//     Python SDK raises InvalidAPIKeyError).
//   - 403 (a key bound to another tenant than an event names: its index
//     under events_with_invalid_fields; a web page's origin the key does not
//     allow: "Invalid API key: ..."), 413 (the SDKs halve the batch), 503
//     with Retry-After (they retry with backoff).

// amplitudeNamespace derives event ids from non-UUID insert_ids.
var amplitudeNamespace = uuid.MustParse("6d1c6f0e-4c9b-4f5e-9b7a-2a61f0c3d8e4")

// amplitudeEventTypes are Amplitude's special event types and what they are
// here.
var amplitudeEventTypes = map[string]string{
	"$identify":               "identify",    // identify(): user_properties operations
	"$groupidentify":          "group",       // groupIdentify(): group_properties
	"[Amplitude] Page Viewed": "page_viewed", // the browser SDK's page view
}

// amplitude serves /2/httpapi and /batch.
func (a *API) amplitude(w http.ResponseWriter, r *http.Request) {
	body, bad := a.readSDKBody(w, r)
	if bad != nil {
		writeAmplitude(w, bad.status, map[string]any{"error": bad.msg})
		return
	}
	key, found, err := amplitudeAPIKey(body)
	if err != nil { // a repeated api_key authenticates no one
		writeAmplitudeDecodeError(w, err)
		return
	}
	if !found {
		if _, err := DecodeAmplitude(body, a.cfg.MaxEvents, nil); err != nil && isBodyProblem(err) {
			writeAmplitudeDecodeError(w, notJSONHint(err, r))
			return
		}
		writeAmplitude(w, http.StatusBadRequest, map[string]any{"error": "Request missing required field", "missing_field": "api_key"})
		return
	}
	cred := a.ampKeys.Lookup(key)
	if cred == nil {
		writeAmplitude(w, http.StatusBadRequest, map[string]any{"error": "Invalid API key: not one of AMPLITUDE_API_KEYS"})
		return
	}
	if msg := originRefusal(r, cred, "Amplitude API key"); msg != "" {
		writeAmplitude(w, http.StatusForbidden, map[string]any{"error": "Invalid API key: " + msg})
		return
	}
	events, err := DecodeAmplitude(body, a.cfg.MaxEvents, cred)
	if err != nil {
		writeAmplitudeDecodeError(w, notJSONHint(err, r))
		return
	}
	a.stamp(events, r, "amplitude")
	switch err := a.send(r, events, "amplitude", cred.Name); {
	case err == nil:
		writeAmplitude(w, http.StatusOK, map[string]any{"events_ingested": len(events), "payload_size_bytes": len(body),
			"server_upload_time": events[0].ReceivedAt.UnixMilli()})
	case errors.Is(err, errInternal):
		writeAmplitude(w, http.StatusInternalServerError, map[string]any{"error": "the events could not be encoded; none is accepted"})
	default:
		a.setRetryAfter(w)
		writeAmplitude(w, http.StatusServiceUnavailable, map[string]any{"error": "the events were not acknowledged by Kafka; none is accepted: retry"})
	}
}

// amplitudeAPIKey returns the body's api_key, if it has one: the member of
// exactly that name. A body naming it more than once, exactly or in another
// letter case, is a *ValidationError ("api_key: duplicate member"), whichever
// of them is a known key: the duplicate policy (credentialMember), never the
// first one wins.
func amplitudeAPIKey(body []byte) (key string, found bool, err error) {
	read := false
	err = decodeDoc(body, (*jdoc).parse, func(top jval, p *problems) error {
		read = true
		key, found = credentialMember(objectOf(top), "api_key", "", p)
		return p.err()
	})
	if !read { // not a JSON object: the decoder words it
		return "", false, nil
	}
	return key, found && key != "", err
}

// isBodyProblem reports whether a decode error is about the body as a whole
// (not JSON, not an object).
func isBodyProblem(err error) bool {
	var invalid *ValidationError
	return errors.As(err, &invalid) && len(invalid.Problems) > 0 && invalid.Problems[0].Path == "body"
}

func writeAmplitude(w http.ResponseWriter, status int, body map[string]any) {
	body["code"] = status
	writeJSON(w, status, body)
}

// eventProblemPath is a problem path under events[i]: the index and the
// event's field.
var eventProblemPath = regexp.MustCompile(`^events\[(\d+)\](?:\.([^.\[]+)|\["((?:[^"\\]|\\.)*)"\])?`)

// writeAmplitudeDecodeError answers a refused request as Amplitude does:
// the index of every refused event under its field, missing or invalid.
func writeAmplitudeDecodeError(w http.ResponseWriter, err error) {
	var tooMany *TooManyEventsError
	var invalid *ValidationError
	var forbidden *ForbiddenError
	status, ps := http.StatusBadRequest, []Problem(nil)
	switch {
	case errors.As(err, &tooMany):
		writeAmplitude(w, http.StatusRequestEntityTooLarge, map[string]any{"error": "Payload too large: " + tooMany.Error()})
		return
	case errors.As(err, &forbidden):
		status, ps = http.StatusForbidden, forbidden.Problems
	case errors.As(err, &invalid):
		ps = invalid.Problems
	default:
		writeAmplitude(w, http.StatusBadRequest, map[string]any{"error": "the body could not be decoded"})
		return
	}
	missing, invalidFields := map[string][]int{}, map[string][]int{}
	var missingField string
	for _, p := range ps {
		m := eventProblemPath.FindStringSubmatch(p.Path)
		if m == nil {
			// Not one event's: the request's own (events, api_key).
			if strings.HasPrefix(p.Message, "required") && missingField == "" {
				missingField = p.Path
			}
			continue
		}
		i, _ := strconv.Atoi(m[1])
		field := refusals.Cut(m[2] + m[3])
		if field == "" {
			field = "event"
		}
		into := invalidFields
		if strings.HasPrefix(p.Message, "required") {
			into = missing
		}
		if _, known := into[field]; !known && len(into) >= refusals.MaxListed {
			// Every refused event is listed (the SDKs drop the listed ones
			// and send the others again), under a bounded number of names.
			field = otherFields
		}
		if l := into[field]; len(l) == 0 || l[len(l)-1] != i {
			into[field] = append(l, i)
		}
	}
	shown, more := listed(ps)
	body := map[string]any{"error": summary(ps), "problems": shown,
		"events_with_missing_fields": sortedIndexes(missing), "events_with_invalid_fields": sortedIndexes(invalidFields)}
	if more > 0 {
		body["more_problems"] = more
	}
	if missingField != "" {
		body["missing_field"] = missingField
	}
	writeAmplitude(w, status, body)
}

// otherFields gathers, in an Amplitude refusal, the events refused for fields
// past the first refusals.MaxListed names.
const otherFields = "(other fields)"

func sortedIndexes(m map[string][]int) map[string][]int {
	for _, l := range m {
		sort.Ints(l)
	}
	return m
}

// DecodeAmplitude decodes an Amplitude HTTP API v2 or Batch API body. cred is
// the api_key's credential (nil in tests: unbound); bindEvent applies it to
// every event. Problems name Amplitude's fields (events[2].device_id).
// Unknown fields are ignored, as Amplitude does.
func DecodeAmplitude(body []byte, maxEvents int, cred *auth.Credential) ([]schema.InteractionEvent, error) {
	var evs []schema.InteractionEvent
	err := decodeDoc(body, (*jdoc).parse, func(top jval, p *problems) (err error) {
		evs, err = decodeAmplitude(top, maxEvents, cred, p)
		return err
	})
	return evs, err
}

func decodeAmplitude(topVal jval, maxEvents int, cred *auth.Credential, p *problems) ([]schema.InteractionEvent, error) {
	if duplicateMembers(topVal, "", p) {
		return nil, p.err()
	}
	top := objectOf(topVal)
	if credentialMember(top, "api_key", "", p); len(p.list) > 0 {
		return nil, p.err() // a case variant of api_key, as when authenticating
	}
	evs, has := top.get("events")
	switch {
	case !has || evs.kind() == 'n':
		p.add("events", "required")
		return nil, p.err()
	case evs.kind() != '[':
		p.add("events", "must be an array of events")
		return nil, p.err()
	}
	items := evs.elems()
	if len(items) > maxEvents {
		return nil, &TooManyEventsError{Count: len(items), Max: maxEvents}
	}
	if len(items) == 0 {
		p.add("events", "required (at least one event)")
		return nil, p.err()
	}
	out := make([]schema.InteractionEvent, len(items))
	for i, item := range items {
		path := index("events", i)
		if item.kind() != '{' {
			p.add(path, "must be an object")
			continue
		}
		out[i] = decodeAmplitudeEvent(objectOf(item), path, cred, p)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// decodeAmplitudeEvent maps one Amplitude event onto an InteractionEvent:
// user_id → user_id, device_id → anonymous_id (an event with both links
// them), insert_id → event_id (sdkEventID), time (ms) → occurred_at,
// session_id (ms; -1 is none) → session_id, language → locale, ip (not
// "$remote") → ip, user_agent → user_agent, event_properties → properties
// (text → text, jurisdiction → jurisdiction), $identify's user_properties
// operations and $groupidentify's group_properties → properties, groups →
// properties.groups, revenue fields → properties; name/email/username of
// user_properties → the actor. Tenant: event_properties.tenant_id, else
// user_properties' tenant_id, else the key's.
func decodeAmplitudeEvent(m object, path string, cred *auth.Credential, p *problems) schema.InteractionEvent {
	ev := schema.InteractionEvent{Source: "amplitude"}
	get := func(k string, limit int) string { return m.str(path, k, limit, p) }
	getID := func(k string) string { return m.ident(path, k, p) }
	ev.UserID = getID("user_id")
	ev.AnonymousID = getID("device_id")
	typ := get("event_type", maxShortLen)
	ev.EventType = typ
	if t, ok := amplitudeEventTypes[typ]; ok {
		ev.EventType = t
	}
	if v, ok := m.get("time"); ok {
		ev.OccurredAt = timestamp(v, loc{path, "time"}, p)
	}
	if v, ok := m.get("session_id"); ok {
		ev.SessionID = numericID(v, loc{path, "session_id"}, p)
	}
	ev.Locale = get("language", maxShortLen)
	if ip := get("ip", maxShortLen); ip != "$remote" {
		ev.IP = ipAddr(ip, loc{path, "ip"}, p)
	}
	ev.UserAgent = get("user_agent", maxUserAgentLen)

	propsPath := join(path, "event_properties")
	if v, ok := m.get("event_properties"); ok {
		ev.Properties = properties(v, loc{path, "event_properties"}, false, p)
	}
	set := func(k, v string) {
		if ev.Properties == nil {
			ev.Properties = map[string]string{}
		}
		ev.Properties[k] = v
	}
	// user_properties: $identify's operations are the call's data; on any
	// event they name the actor.
	var userProps map[string]string
	if v, ok := m.get("user_properties"); ok {
		userProps = profileOps(v, loc{path, "user_properties"}, p)
	}
	switch typ {
	case "$identify":
		for k, v := range userProps {
			set(k, v)
		}
	case "$groupidentify":
		if v, ok := m.get("group_properties"); ok {
			for k, v := range profileOps(v, loc{path, "group_properties"}, p) {
				set(k, v)
			}
		}
	}
	if v, ok := m.get("groups"); ok && v.kind() != 'n' {
		if v.kind() != '{' {
			p.addAt(loc{path, "groups"}, "must be an object")
		} else if g := compactJSON(v, loc{path, "groups"}, maxPropValueLen, p); g != "" && g != "{}" {
			set("groups", g)
		}
	}
	for _, k := range []string{"price", "quantity", "revenue", "productId", "revenueType"} {
		if v, ok := m.get(k); ok && v.kind() != 'n' && v.kind() != '{' && v.kind() != '[' {
			_, text := v.scalar()
			if v.kind() == '"' {
				set(k, v.text())
			} else {
				set(k, string(text))
			}
		}
	}
	if len(ev.Properties) > maxProperties {
		p.addAt(loc{path, "event_properties"}, "more than %d properties with user, group and revenue fields", maxProperties)
	}
	if t, ok := ev.Properties["text"]; ok {
		ev.Text = t
		delete(ev.Properties, "text")
	}
	if j, ok := ev.Properties["jurisdiction"]; ok {
		ev.Jurisdiction = jurisdiction(j, loc{propsPath, "jurisdiction"}, p)
		delete(ev.Properties, "jurisdiction")
	}
	ev.ActorName, ev.ActorEmail, ev.ActorHandle = userProps["name"], userProps["email"], userProps["username"]

	tenantAt := loc{propsPath, "tenant_id"}
	ev.TenantID = ev.Properties["tenant_id"]
	if ev.TenantID == "" && userProps["tenant_id"] != "" {
		ev.TenantID, tenantAt = userProps["tenant_id"], loc{join(path, "user_properties"), "tenant_id"}
	}
	if ev.TenantID != "" {
		if err := identity.Check(ev.TenantID); err != nil {
			p.addAt(tenantAt, "%s", identity.Message(err))
		}
	}
	bindEvent(cred, &ev, tenantAt, p)

	if id := get("insert_id", maxIDLen); id != "" {
		var derived bool
		ev.EventID, derived = sdkEventID(amplitudeNamespace, ev.TenantID, id)
		if derived {
			set("amplitude_insert_id", id)
		}
	}
	if blank(ev.EventType) {
		p.add(join(path, "event_type"), "required")
	}
	if ev.TenantID == "" {
		p.add(join(propsPath, "tenant_id"), "required (or a key bound to a tenant: AMPLITUDE_API_KEYS ;tenant=)")
	}
	if ev.UserID == "" && ev.AnonymousID == "" {
		p.add(join(path, "user_id"), "required (or device_id)")
	}
	return ev
}

// numericID reads an id that SDKs send as a number (Amplitude's session_id,
// epoch milliseconds): its decimal text; zero or negative (-1) is none. A
// string is taken as an identifier.
func numericID(v jval, at loc, p *problems) string {
	switch v.kind() {
	case 'n':
		return ""
	case '"':
		return ident(v, at, p)
	case '0':
		_, text := v.scalar()
		n, err := strconv.ParseInt(string(text), 10, 64)
		if err != nil {
			p.addAt(at, "must be an integer")
			return ""
		}
		if n <= 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	p.addAt(at, "must be an integer or a string")
	return ""
}

// profileOps reads a profile update: plain members, or operations ($set,
// $setOnce, $set_once, and Mixpanel's $-less equivalents ...) whose members
// become properties; other operations ($add, $unset, $append …) are kept
// whole, as their JSON text under the operation's name.
func profileOps(v jval, at loc, p *problems) map[string]string {
	switch v.kind() {
	case 'n', 0:
		return nil
	case '{':
	default:
		p.addAt(at, "must be an object")
		return nil
	}
	out := properties(v, at, false, p)
	for _, op := range []string{"$set", "$setOnce", "$set_once"} {
		if _, has := out[op]; !has {
			continue
		}
		delete(out, op)
		sub, _ := objectOf(v).get(op)
		for k, val := range properties(sub, loc{at.String(), op}, false, p) {
			if out == nil {
				out = map[string]string{}
			}
			if _, exists := out[k]; !exists || op == "$set" {
				out[k] = val
			}
		}
	}
	return out
}
