package producer

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/google/uuid"
)

// Mixpanel's ingestion API: /track and /import (events), /engage (people
// profile updates), each as its SDKs send it: a form body data=<JSON or
// base64 JSON> (with verbose, ip, api_key), a GET with ?data=<base64 JSON>
// (the Node SDK's single calls), or a JSON body; one object or an array.
// Every event (and profile update) carries its project token
// (properties.token, $token), which MIXPANEL_TOKENS maps to a tenant like a
// write key; data repeated in a form or query, or sent in both, is a 400
// (oneValue). /import is for servers: a browser token is refused there; the
// API secret or service account it also sends is Mixpanel's, not checked
// here. /groups (group profiles describe a group, not a person) is refused
// with a clear 400.
//
// Answers, as Mixpanel answers, since its SDKs read only the body: "1" (or
// {"status": 1, "error": null} with verbose=1) once Kafka acknowledged every
// event; {"status": 0, "error": ...} with 400/401/403/413/503 otherwise (the
// Node SDK reports any body but "1" as an error, the Python SDK raises on
// status != 1). An /import with a JSON body gets the newer answer: {"code":
// 200, "num_records_imported": n, "status": "OK"} or {"code": 400,
// "failed_records": [{"index", "$insert_id", "field", "message"}], ...}.

// mixpanelNamespace derives event ids from non-UUID $insert_ids.
var mixpanelNamespace = uuid.MustParse("b5f0a7e2-3d4c-4a8b-8e1f-7c2d9e6a4b30")

// mixpanelEventNames are Mixpanel's special events and what they are here.
var mixpanelEventNames = map[string]string{
	"$identify":         "identify",    // mixpanel-browser identify(): links $anon_id to $identified_id
	"$create_alias":     "alias",       // alias(alias, distinct_id)
	"$merge":            "alias",       // merge(id1, id2): $distinct_ids
	"$mp_web_page_view": "page_viewed", // mixpanel-browser track_pageview()
}

// mixpanelRequest is what a Mixpanel request carries, whatever its shape.
type mixpanelRequest struct {
	data    []byte // JSON: one object or an array
	verbose bool
	json    bool // a JSON body (the newer /import answers)
}

func (a *API) mixpanel(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, bad := a.readMixpanel(w, r)
		if bad != nil {
			writeMixpanelError(w, kind, req, bad.status, bad.msg, nil)
			return
		}
		if kind == "groups" {
			writeMixpanelError(w, kind, req, http.StatusBadRequest, "group profiles (/groups) describe a group, not a person, and consentflow ingests people's events: "+
				"put the group key on the person's events or profile (people.set(distinct_id, {company: ...})) instead", nil)
			return
		}
		events, creds, err := DecodeMixpanel(kind, req.data, a.cfg.MaxEvents, a.mixTokens.Lookup)
		if err != nil {
			a.writeMixpanelDecodeError(w, kind, req, err)
			return
		}
		for i, c := range creds {
			if msg := originRefusal(r, c, "Mixpanel token"); msg != "" {
				writeMixpanelError(w, kind, req, http.StatusForbidden, msg, []failedRecord{{Index: i, Message: msg}})
				return
			}
			if kind == "import" && c.Browser {
				msg := fmt.Sprintf("Mixpanel token %s is a browser token: /import is for servers (send the events to /track)", c.Name)
				writeMixpanelError(w, kind, req, http.StatusForbidden, msg, []failedRecord{{Index: i, Message: msg}})
				return
			}
		}
		a.stamp(events, r, "mixpanel")
		switch err := a.send(r, events, "mixpanel", creds[0].Name); {
		case err == nil:
			writeMixpanelOK(w, kind, req, len(events))
		case errors.Is(err, errInternal):
			writeMixpanelError(w, kind, req, http.StatusInternalServerError, "the events could not be encoded; none is accepted", nil)
		default:
			a.setRetryAfter(w)
			writeMixpanelError(w, kind, req, http.StatusServiceUnavailable, "the events were not acknowledged by Kafka; none is accepted: retry", nil)
		}
	}
}

// readMixpanel finds the request's data: the data parameter of the query
// (GET) or of a form body, else the body itself (JSON). data holds JSON or
// its base64 (standard or URL alphabet, padded or not).
func (a *API) readMixpanel(w http.ResponseWriter, r *http.Request) (mixpanelRequest, *bodyError) {
	q := r.URL.Query()
	req := mixpanelRequest{verbose: q.Get("verbose") == "1"}
	var data string
	if r.Method == http.MethodGet {
		var bad *bodyError
		if data, bad = oneValue(q, "data", "query parameter"); bad != nil {
			return req, bad
		}
	} else {
		body, bad := a.readSDKBody(w, r)
		if bad != nil {
			return req, bad
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		trimmed := bytes.TrimSpace(body)
		if mt == "application/x-www-form-urlencoded" || bytes.HasPrefix(trimmed, []byte("data=")) {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return req, &bodyError{http.StatusBadRequest, "invalid_request", "the form body could not be parsed: " + err.Error()}
			}
			var bad *bodyError
			if data, bad = oneValue(form, "data", "form field"); bad != nil {
				return req, bad
			}
			if q.Has("data") {
				return req, &bodyError{http.StatusBadRequest, "invalid_request", "data: given in both the query and the form body (send it once)"}
			}
			req.verbose = req.verbose || form.Get("verbose") == "1"
		} else {
			req.data, req.json = trimmed, true
		}
	}
	if !req.json {
		if data == "" {
			return req, &bodyError{http.StatusBadRequest, "invalid_request", "data is required (the events as JSON, or base64 of it)"}
		}
		b, err := mixpanelData(data)
		if err != nil {
			return req, &bodyError{http.StatusBadRequest, "invalid_request", err.Error()}
		}
		req.data = b
	}
	return req, nil
}

// oneValue returns the value of a form field or query parameter that must
// appear at most once: a repeated one is refused (400) naming it, as a
// repeated JSON member is, since readers disagree on which value counts (Go's
// url.Values.Get and most frameworks the first, others the last).
func oneValue(v url.Values, name, what string) (string, *bodyError) {
	if n := len(v[name]); n > 1 {
		return "", &bodyError{http.StatusBadRequest, "invalid_request", fmt.Sprintf("%s: duplicate %s (%d values; send one)", name, what, n)}
	}
	return v.Get(name), nil
}

// mixpanelData decodes the data parameter: JSON as it is, else base64.
func mixpanelData(s string) ([]byte, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
		return []byte(t), nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(t); err == nil {
			if b = bytes.TrimSpace(b); len(b) > 0 && (b[0] == '[' || b[0] == '{') {
				return b, nil
			}
		}
	}
	return nil, errors.New("data must be JSON, or base64 of JSON")
}

// failedRecord is one refused record of the newer /import answer.
type failedRecord struct {
	Index    int    `json:"index"`
	InsertID string `json:"$insert_id,omitempty"`
	Field    string `json:"field,omitempty"`
	Message  string `json:"message"`
}

func writeMixpanelOK(w http.ResponseWriter, kind string, req mixpanelRequest, n int) {
	switch {
	case kind == "import" && req.json:
		writeJSON(w, http.StatusOK, map[string]any{"code": 200, "num_records_imported": n, "status": "OK"})
	case req.verbose:
		writeJSON(w, http.StatusOK, map[string]any{"status": 1, "error": nil})
	default:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("1"))
	}
}

// writeMixpanelError answers a refusal: {"status": 0, "error": msg} (verbose
// or not: the Node SDK reports any body but "1", so it may as well explain),
// or for a JSON /import the newer {"code", "error", "failed_records",
// "num_records_imported": 0, "status"}.
func writeMixpanelError(w http.ResponseWriter, kind string, req mixpanelRequest, status int, msg string, failed []failedRecord) {
	if kind == "import" && req.json {
		body := map[string]any{"code": status, "error": msg, "num_records_imported": 0, "status": http.StatusText(status)}
		if len(failed) > 0 {
			body["failed_records"] = failed
		}
		writeJSON(w, status, body)
		return
	}
	writeJSON(w, status, map[string]any{"status": 0, "error": msg})
}

func (a *API) writeMixpanelDecodeError(w http.ResponseWriter, kind string, req mixpanelRequest, err error) {
	var tooMany *TooManyEventsError
	var invalid *ValidationError
	var forbidden *ForbiddenError
	var unauthorized *mixpanelUnauthorized
	status, ps := http.StatusBadRequest, []Problem(nil)
	switch {
	case errors.As(err, &unauthorized):
		status, ps = http.StatusUnauthorized, unauthorized.Problems
	case errors.As(err, &tooMany):
		writeMixpanelError(w, kind, req, http.StatusRequestEntityTooLarge, tooMany.Error(), nil)
		return
	case errors.As(err, &forbidden):
		status, ps = http.StatusForbidden, forbidden.Problems
	case errors.As(err, &invalid):
		ps = invalid.Problems
	default:
		writeMixpanelError(w, kind, req, http.StatusBadRequest, "the data could not be decoded", nil)
		return
	}
	var failed []failedRecord
	shown, _ := listed(ps) // the message says how many more
	for _, p := range shown {
		if m := dataProblemPath.FindStringSubmatch(p.Path); m != nil {
			i, _ := strconv.Atoi(m[1])
			failed = append(failed, failedRecord{Index: i, Field: strings.TrimPrefix(strings.TrimPrefix(p.Path, "data["+m[1]+"]"), "."), Message: p.Message})
		}
	}
	writeMixpanelError(w, kind, req, status, summary(ps), failed)
}

// dataProblemPath is a problem path under data[i].
var dataProblemPath = regexp.MustCompile(`^data\[(\d+)\]`)

// mixpanelUnauthorized lists the events without a known token (401).
type mixpanelUnauthorized struct{ Problems []Problem }

func (e *mixpanelUnauthorized) Error() string { return "unauthorized: " + summary(e.Problems) }

// DecodeMixpanel decodes the data of a Mixpanel request: kind "track" or
// "import" (events {"event", "properties"}) or "engage" (profile updates);
// one object or an array of 1..maxEvents. Each record's token is looked up
// with lookup and applied to it (bindEvent); a record without a known token
// makes the error a *mixpanelUnauthorized. creds[i] is event i's credential.
// Problems are located as data[2].properties.distinct_id.
func DecodeMixpanel(kind string, data []byte, maxEvents int, lookup func(string) *auth.Credential) ([]schema.InteractionEvent, []*auth.Credential, error) {
	var (
		evs   []schema.InteractionEvent
		creds []*auth.Credential
	)
	err := decodeDoc(data, (*jdoc).parseValue, func(top jval, p *problems) (err error) {
		evs, creds, err = decodeMixpanel(kind, top, maxEvents, lookup, p)
		return err
	})
	return evs, creds, err
}

func decodeMixpanel(kind string, top jval, maxEvents int, lookup func(string) *auth.Credential, p *problems) ([]schema.InteractionEvent, []*auth.Credential, error) {
	var items []jval
	switch top.kind() {
	case '{':
		if duplicateMembers(top, index("data", 0), p) {
			return nil, nil, p.err()
		}
		items = []jval{top}
	case '[':
		if duplicateMembers(top, "data", p) {
			return nil, nil, p.err()
		}
		items = top.elems()
	default:
		p.add("data", "must be an object or an array of objects")
		return nil, nil, p.err()
	}
	if len(items) > maxEvents {
		return nil, nil, &TooManyEventsError{Count: len(items), Max: maxEvents}
	}
	if len(items) == 0 {
		p.add("data", "must hold at least one record")
		return nil, nil, p.err()
	}
	out := make([]schema.InteractionEvent, len(items))
	creds := make([]*auth.Credential, len(items))
	var unknown []Problem
	for i, item := range items {
		path := index("data", i)
		if item.kind() != '{' {
			p.add(path, "must be an object")
			continue
		}
		m := objectOf(item)
		var tokenAt loc
		var props object
		if kind == "engage" {
			tokenAt = loc{path, "$token"}
			props = m
		} else {
			tokenAt = loc{join(path, "properties"), "token"}
			if v, ok := m.get("properties"); ok && v.kind() == '{' {
				props = objectOf(v)
			} else if ok && v.kind() != 'n' {
				p.add(join(path, "properties"), "must be an object")
				continue
			}
		}
		n := len(p.list)
		token, _ := credentialMember(props, tokenAt.name, tokenAt.parent, p)
		if len(p.list) > n {
			continue // "token" twice but for letter case: no token counts
		}
		if creds[i] = lookup(token); creds[i] == nil {
			msg := "required: the project token (MIXPANEL_TOKENS)"
			if token != "" {
				msg = "unknown project token (not one of MIXPANEL_TOKENS)"
			}
			unknown = append(unknown, Problem{Path: tokenAt.String(), Message: msg})
			continue
		}
		if kind == "engage" {
			out[i] = decodeMixpanelProfile(item, m, path, creds[i], p)
		} else {
			out[i] = decodeMixpanelEvent(m, props, path, creds[i], p)
		}
	}
	if len(unknown) > 0 {
		return nil, nil, &mixpanelUnauthorized{Problems: unknown}
	}
	if err := p.err(); err != nil {
		return nil, nil, err
	}
	return out, creds, nil
}

// Properties of a Mixpanel event that are read into the event's own fields
// and never kept as properties: the token (a credential), raw ids, and what
// has a field.
var mixpanelConsumed = []string{"token", "distinct_id", "$device_id", "$user_id", "$insert_id", "time", "ip",
	"$anon_id", "$identified_id", "alias", "$distinct_ids", "text", "jurisdiction"}

// decodeMixpanelEvent maps one /track or /import event. Identity (Mixpanel's
// simplified ID merge): $user_id → user_id and $device_id → anonymous_id
// (an event with both links them); without $user_id, distinct_id is the
// user id unless it is "$device:<id>" or the $device_id (anonymous traffic).
// $identify links $anon_id to $identified_id, $create_alias links
// distinct_id (previous) to alias (user), $merge the two $distinct_ids.
// $insert_id → event_id (sdkEventID), time (seconds or milliseconds) →
// occurred_at, ip → ip, properties → properties (text → text, jurisdiction →
// jurisdiction), $email/$name or email/name → the actor. Tenant:
// properties.tenant_id, else the token's.
func decodeMixpanelEvent(m, props object, path string, cred *auth.Credential, p *problems) schema.InteractionEvent {
	ev := schema.InteractionEvent{Source: "mixpanel"}
	pp := join(path, "properties")
	getID := func(k string) string { return props.ident(pp, k, p) }
	var name string
	if v, ok := m.get("event"); ok {
		name, _ = str(v, loc{path, "event"}, maxShortLen, p)
	}
	ev.EventType = name
	if t, ok := mixpanelEventNames[name]; ok {
		ev.EventType = t
	}
	distinct, device, user := getID("distinct_id"), getID("$device_id"), getID("$user_id")
	ev.UserID, ev.AnonymousID = mixpanelIdentity(distinct, device, user)
	switch name {
	case "$identify":
		if id := getID("$identified_id"); id != "" {
			ev.UserID = id
		}
		if id := getID("$anon_id"); id != "" {
			ev.AnonymousID = id
		}
	case "$create_alias":
		if alias := getID("alias"); alias != "" {
			ev.UserID, ev.AnonymousID, ev.PreviousID = alias, "", distinct
		} else {
			p.add(join(pp, "alias"), "required for $create_alias")
		}
	case "$merge":
		ids, _ := props.get("$distinct_ids")
		at := join(pp, "$distinct_ids")
		if ids.kind() != '[' || len(ids.elems()) != 2 {
			p.add(at, "must be an array of two distinct ids")
			break
		}
		e := ids.elems()
		ev.UserID, ev.AnonymousID = ident(e[0], loc{at, "0"}, p), ""
		ev.PreviousID = ident(e[1], loc{at, "1"}, p)
	}
	if v, ok := props.get("time"); ok {
		ev.OccurredAt = epochTime(v, loc{pp, "time"}, p)
	}
	if v, ok := props.get("ip"); ok && v.kind() == '"' {
		ev.IP = ipAddr(v.text(), loc{pp, "ip"}, p)
	}
	if v, ok := m.get("properties"); ok {
		ev.Properties = properties(v, loc{path, "properties"}, false, p)
	}
	if t, ok := ev.Properties["text"]; ok {
		ev.Text = t
	}
	if j, ok := ev.Properties["jurisdiction"]; ok {
		ev.Jurisdiction = jurisdiction(j, loc{pp, "jurisdiction"}, p)
	}
	insertID := ev.Properties["$insert_id"]
	for _, k := range mixpanelConsumed {
		delete(ev.Properties, k)
	}
	ev.ActorName = firstOf(ev.Properties, "$name", "name")
	ev.ActorEmail = firstOf(ev.Properties, "$email", "email")
	ev.ActorHandle = firstOf(ev.Properties, "username", "$username")
	mixpanelFinish(&ev, insertID, loc{pp, "tenant_id"}, path, pp, cred, p)
	return ev
}

// decodeMixpanelProfile maps one /engage profile update onto an identify
// event: $distinct_id (with $device_id and $user_id as for events) → the
// subject, $time (ms) → occurred_at, $ip → ip, the operations → properties
// ($set and $set_once members; $add, $union, $unset, $delete … as their JSON
// text; $delete erases nothing here: withdrawal and erasure are the consent
// API's), $name/$email (or $first_name $last_name) → the actor. Tenant:
// $set.tenant_id, else the token's.
func decodeMixpanelProfile(item jval, m object, path string, cred *auth.Credential, p *problems) schema.InteractionEvent {
	ev := schema.InteractionEvent{Source: "mixpanel", EventType: "identify"}
	getID := func(k string) string { return m.ident(path, k, p) }
	ev.UserID, ev.AnonymousID = mixpanelIdentity(getID("$distinct_id"), getID("$device_id"), getID("$user_id"))
	if v, ok := m.get("$time"); ok {
		ev.OccurredAt = epochTime(v, loc{path, "$time"}, p)
	}
	if v, ok := m.get("$ip"); ok && v.kind() == '"' {
		ev.IP = ipAddr(v.text(), loc{path, "$ip"}, p)
	}
	ops := profileOps(item, loc{parent: path}, p)
	for _, k := range []string{"$token", "$distinct_id", "$device_id", "$user_id", "$time", "$ip", "$ignore_time", "$ignore_alias"} {
		delete(ops, k)
	}
	if len(ops) > 0 {
		ev.Properties = ops
	}
	if t, ok := ev.Properties["text"]; ok {
		ev.Text = t
		delete(ev.Properties, "text")
	}
	ev.ActorName = firstOf(ev.Properties, "$name", "name")
	if ev.ActorName == "" && ev.Properties["$first_name"] != "" {
		ev.ActorName = strings.TrimSpace(ev.Properties["$first_name"] + " " + ev.Properties["$last_name"])
	}
	ev.ActorEmail = firstOf(ev.Properties, "$email", "email")
	ev.ActorHandle = firstOf(ev.Properties, "username", "$username")
	mixpanelFinish(&ev, "", loc{join(path, "$set"), "tenant_id"}, path, path, cred, p)
	return ev
}

// mixpanelFinish applies what every Mixpanel record needs once mapped: the
// tenant (properties.tenant_id or the token's, bindEvent), the event id from
// $insert_id, the required fields.
func mixpanelFinish(ev *schema.InteractionEvent, insertID string, tenantAt loc, path, propsPath string, cred *auth.Credential, p *problems) {
	ev.TenantID = ev.Properties["tenant_id"]
	if ev.TenantID != "" {
		if err := identity.Check(ev.TenantID); err != nil {
			p.addAt(tenantAt, "%s", identity.Message(err))
		}
	}
	bindEvent(cred, ev, tenantAt, p)
	if insertID != "" {
		if len(insertID) > maxIDLen {
			p.add(join(propsPath, "$insert_id"), "longer than %d bytes", maxIDLen)
		} else {
			var derived bool
			ev.EventID, derived = sdkEventID(mixpanelNamespace, ev.TenantID, insertID)
			if derived {
				if ev.Properties == nil {
					ev.Properties = map[string]string{}
				}
				ev.Properties["mixpanel_insert_id"] = insertID
			}
		}
	}
	if blank(ev.EventType) {
		p.add(join(path, "event"), "required")
	}
	if ev.TenantID == "" {
		p.addAt(tenantAt, "required (or a token bound to a tenant: MIXPANEL_TOKENS ;tenant=)")
	}
	if ev.UserID == "" && ev.AnonymousID == "" {
		p.add(join(propsPath, "distinct_id"), "required (or $device_id)")
	}
}

// mixpanelIdentity applies Mixpanel's simplified ID merge to an event's ids.
func mixpanelIdentity(distinct, device, user string) (userID, anonID string) {
	anonID = device
	switch {
	case user != "":
		userID = user
	case strings.HasPrefix(distinct, "$device:"):
		if anonID == "" {
			anonID = strings.TrimPrefix(distinct, "$device:")
		}
	case distinct != "" && distinct != device:
		userID = distinct
	}
	return userID, anonID
}

// epochTime reads Mixpanel's time: seconds since the epoch (an integer or a
// fraction, as the Python SDK sends), or milliseconds (13 digits, as the
// browser SDK sends), or an RFC 3339 string.
func epochTime(v jval, at loc, p *problems) time.Time {
	if v.kind() != '0' {
		return timestamp(v, at, p)
	}
	_, text := v.scalar()
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > 1e15 {
		p.addAt(at, "must be seconds or milliseconds since the epoch")
		return time.Time{}
	}
	ms := f * 1000
	if f >= 1e11 { // already milliseconds: 1e11 s is the year 5138
		ms = f
	}
	return validTime(time.UnixMilli(int64(ms)), at, p)
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}
