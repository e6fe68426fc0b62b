package producer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/google/uuid"
	"go.uber.org/zap"
)

// The analytics SDKs' routes: what Segment, RudderStack, Amplitude and
// Mixpanel clients post to when their server URL points at the producer.
//
// Each route reads its body with readSDKBody (JSON whatever the declared
// content type, gzip within MaxBodyBytes after decoding), authenticates with
// the SDK's own key (a write key, an API key, a project token; pkg/auth's
// format, so a key can be bound to a tenant and marked as a browser key with
// its web origins), refuses a request from a web page whose origin the key
// does not allow (originRefusal), maps the SDK's fields onto
// InteractionEvent and applies the producer's rules (the identifier rule,
// bindEvent, the required fields), then publishes with the same
// acknowledgement guarantee as /v1/events and answers in the SDK's own
// format.

// sdkRoute is one route of an analytics SDK.
type sdkRoute struct {
	path    string
	methods []string
	handler http.HandlerFunc
}

// segmentShortPaths are analytics.js's (analytics-next's) one-letter paths.
var segmentShortPaths = map[string]string{
	"t": "track", "p": "page", "s": "screen", "i": "identify", "g": "group", "a": "alias", "b": "batch",
}

func (a *API) sdkRoutes() []sdkRoute {
	post := []string{http.MethodPost}
	getPost := []string{http.MethodGet, http.MethodPost}
	rts := []sdkRoute{
		{"/v1/batch", post, a.segment("batch")},
		{"/beacon/v1/batch", post, a.segment("batch")}, // RudderStack's navigator.sendBeacon path
	}
	for kind := range segmentEventTypes {
		rts = append(rts, sdkRoute{"/v1/" + kind, post, a.segment(kind)})
	}
	for short, kind := range segmentShortPaths {
		rts = append(rts, sdkRoute{"/v1/" + short, post, a.segment(kind)})
	}
	rts = append(rts,
		sdkRoute{"/2/httpapi", post, a.amplitude},
		sdkRoute{"/batch", post, a.amplitude},
		sdkRoute{"/track", getPost, a.mixpanel("track")},
		sdkRoute{"/engage", getPost, a.mixpanel("engage")},
		sdkRoute{"/import", getPost, a.mixpanel("import")}, // the Node SDK's single import() is a GET
		sdkRoute{"/groups", getPost, a.mixpanel("groups")},
	)
	return rts
}

// originSet is every origin some browser key allows: a CORS preflight
// carries no credential, so it is answered for any configured origin, and
// the request itself is then checked against its own key (originRefusal).
type originSet struct {
	any bool
	set map[string]bool
}

func newOriginSet(lists ...*auth.WriteKeys) originSet {
	s := originSet{set: map[string]bool{}}
	for _, l := range lists {
		for _, o := range l.Origins() {
			if o == "*" {
				s.any = true
			}
			s.set[o] = true
		}
	}
	return s
}

func (s originSet) has(origin string) bool {
	return origin != "" && (s.any || s.set[strings.ToLower(origin)])
}

// cors serves an analytics SDK route for browsers. A preflight (OPTIONS with
// Access-Control-Request-Method) from a configured origin is answered 204
// with the methods, the requested headers (the SDKs send Authorization,
// AnonymousId, X-Retry-Count …) and a max age; from any other origin 403.
// Other requests from a configured origin get Access-Control-Allow-Origin
// and Retry-After exposed (analytics-next reads it on 429); their key's own
// origins are checked by the handler.
func (a *API) cors(w http.ResponseWriter, r *http.Request, next http.Handler) {
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	allowed := a.origins.has(origin)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		if !allowed {
			writeError(w, http.StatusForbidden, "forbidden",
				fmt.Sprintf("origin %.200q is not among the origins of any browser key (;browser;origins=...)", origin))
			return
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		if req := r.Header.Get("Access-Control-Request-Headers"); headerList(req) {
			h.Set("Access-Control-Allow-Headers", req)
		}
		if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
			h.Set("Access-Control-Allow-Private-Network", "true")
		}
		h.Set("Access-Control-Max-Age", "7200")
		h.Add("Vary", "Access-Control-Request-Headers")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", "Retry-After")
	}
	next.ServeHTTP(w, r)
}

// headerList reports whether s is a short comma-separated list of header
// names, safe to echo in Access-Control-Allow-Headers.
func headerList(s string) bool {
	if s == "" || len(s) > 1024 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_!#$%&'*+.^`|~, ", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// originRefusal says why a request from a web page (it carries Origin) may
// not use cred, or "" when it may: only a browser key (its events get the
// key's tenant and jurisdiction, never the page's) whose origins list the
// page's. Server SDKs send no Origin.
func originRefusal(r *http.Request, cred *auth.Credential, what string) string {
	origin := r.Header.Get("Origin")
	switch {
	case origin == "" || cred.AllowsOrigin(origin):
		return ""
	case !cred.Browser:
		return fmt.Sprintf("%s %s is not a browser key: a web page (origin %.200q) may only use a key marked ;browser that lists its origin in ;origins=", what, cred.Name, origin)
	}
	return fmt.Sprintf("origin %.200q is not among the origins of %s %s (;origins=)", origin, what, cred.Name)
}

// readSDKBody reads an SDK route's body: JSON whatever the declared content
// type (analytics-next declares text/plain to spare a preflight, RudderStack's
// Node SDK application/x-www-form-urlencoded for gzip JSON, navigator.sendBeacon
// whatever its Blob says), gzip-decoded within MaxBodyBytes.
func (a *API) readSDKBody(w http.ResponseWriter, r *http.Request) ([]byte, *bodyError) {
	return a.readLimited(w, r)
}

// notJSONHint adds to a "body is not JSON" problem what the request declared,
// since the SDK routes take JSON whatever the Content-Type says.
func notJSONHint(err error, r *http.Request) error {
	var invalid *ValidationError
	if !errors.As(err, &invalid) || len(invalid.Problems) != 1 || invalid.Problems[0].Path != "body" {
		return err
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		return err
	}
	declared := "no Content-Type"
	if mt != "" {
		declared = "Content-Type " + mt
	}
	p := invalid.Problems[0]
	p.Message += fmt.Sprintf(" (the body must be JSON, whatever the Content-Type; this request declared %.100s)", declared)
	return &ValidationError{Problems: []Problem{p}}
}

// errInternal is a publish that failed for a reason other than Kafka's
// availability: our bug; retrying will not help.
var errInternal = errors.New("the events could not be encoded")

// send hands the events to the publisher within WriteTimeout, counting and
// logging as publish does. It returns nil once Kafka acknowledged every
// event, an error wrapping ErrUnavailable when it did not (answer 503 with
// Retry-After: none is claimed accepted), or errInternal.
func (a *API) send(r *http.Request, events []schema.InteractionEvent, source, credName string) error {
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.WriteTimeout)
	defer cancel()
	start := time.Now()
	err := a.pub.Publish(ctx, events)
	elapsed := time.Since(start).Seconds()
	if err == nil {
		a.m.publishLatency.WithLabelValues("ok").Observe(elapsed)
		a.m.eventsAccepted.WithLabelValues(source).Add(float64(len(events)))
		return nil
	}
	a.m.publishLatency.WithLabelValues("error").Observe(elapsed)
	if !errors.Is(err, ErrUnavailable) {
		a.log.Error("publish failed", zap.String("source", source), zap.Int("events", len(events)), zap.Error(err))
		return errInternal
	}
	// The error names brokers and the topic, never a payload.
	a.log.Warn("publish failed; answering 503", zap.String("source", source), zap.String("credential", credName),
		zap.Int("events", len(events)), zap.Error(err))
	return err
}

// setRetryAfter sets the Retry-After of a 503.
func (a *API) setRetryAfter(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(a.cfg.RetryAfter.Seconds()))))
}

// sdkEventID turns an SDK's deduplication id (Amplitude insert_id, Mixpanel
// $insert_id) into the event id: a UUID as it is; anything else a UUIDv5 of
// the tenant and the id, so that a retry keeps its id and two tenants' equal
// ids ("order-42") stay two events. derived reports the second case (the
// caller keeps the original in properties).
func sdkEventID(ns uuid.UUID, tenant, id string) (eventID string, derived bool) {
	if id == "" {
		return "", false
	}
	if u, err := uuid.Parse(id); err == nil && u != uuid.Nil {
		return u.String(), false
	}
	return uuid.NewSHA1(ns, []byte(tenant+"\x00"+id)).String(), true
}
