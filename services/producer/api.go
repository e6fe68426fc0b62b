package producer

import (
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// API is the producer's HTTP ingest API. Build it with NewAPI and serve Handler.
type API struct {
	cfg       Config
	pub       Publisher
	tokens    *auth.Tokens
	writeKeys *auth.WriteKeys
	ampKeys   *auth.WriteKeys // Amplitude API keys
	mixTokens *auth.WriteKeys // Mixpanel project tokens
	origins   originSet       // every origin a browser key allows (CORS preflights)
	log       *zap.Logger
	m         *metrics
	now       func() time.Time
}

// NewAPI builds the API over pub, with credentials from cfg and metrics
// registered on reg.
func NewAPI(cfg Config, pub Publisher, logger *zap.Logger, reg prometheus.Registerer) (*API, error) {
	tokens, err := auth.ParseTokens(cfg.Tokens)
	if err != nil {
		return nil, fmt.Errorf("PRODUCER_TOKENS: %w", err)
	}
	keys, err := auth.ParseWriteKeys(cfg.WriteKeys)
	if err != nil {
		return nil, fmt.Errorf("SEGMENT_WRITE_KEYS: %w", err)
	}
	amp, err := auth.ParseWriteKeys(cfg.AmplitudeKeys)
	if err != nil {
		return nil, fmt.Errorf("AMPLITUDE_API_KEYS: %w", err)
	}
	mix, err := auth.ParseWriteKeys(cfg.MixpanelTokens)
	if err != nil {
		return nil, fmt.Errorf("MIXPANEL_TOKENS: %w", err)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register producer metrics: %w", err)
	}
	return &API{cfg: cfg, pub: pub, tokens: tokens, writeKeys: keys, ampKeys: amp, mixTokens: mix,
		origins: newOriginSet(keys, amp, mix), log: logger, m: m, now: time.Now}, nil
}

// Handler returns the API's routes, counting every response by route (the
// path of a known route, else "other") and code. The analytics SDKs' routes
// (sdkRoutes) answer CORS preflights and carry CORS headers (cors.go).
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	known := map[string]bool{"/v1/events": true}
	mux.HandleFunc("POST /v1/events", a.handleEvents)
	sdk := a.sdkRoutes()
	for _, rt := range sdk {
		for _, method := range rt.methods {
			mux.HandleFunc(method+" "+rt.path, rt.handler)
		}
		known[rt.path] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		route := r.URL.Path
		if !known[route] {
			route = "other"
		}
		if route != "other" && route != "/v1/events" {
			a.cors(sw, r, mux)
		} else {
			mux.ServeHTTP(sw, r)
		}
		a.m.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wroteHeader {
		s.code, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// handleEvents serves POST /v1/events.
func (a *API) handleEvents(w http.ResponseWriter, r *http.Request) {
	token, ok := auth.BearerToken(r)
	cred := a.tokens.Lookup(token)
	if !ok || token == "" || cred == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="consentflow", scope="`+ScopeEventsWrite+`"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "a bearer token with scope "+ScopeEventsWrite+" is required")
		return
	}
	if !cred.HasScope(ScopeEventsWrite) {
		writeError(w, http.StatusForbidden, "forbidden", "the token lacks scope "+ScopeEventsWrite)
		return
	}
	name := cred.Name
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	events, err := DecodeEventsFor(body, a.cfg.MaxEvents, cred)
	if err != nil {
		a.writeDecodeError(w, err)
		return
	}
	a.stamp(events, r, "api")
	if !a.publish(w, r, events, "api", name) {
		return
	}
	// received_at is the one instant stamped on every event of the request: the time
	// consent is evaluated at, so clients (and the acceptance suite) can know it.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write(appendAccepted(make([]byte, 0, 64+39*len(events)), events))
}

// appendAccepted appends the 202 answer to a batch, byte for byte what
// writeJSON writes for {"accepted": n, "event_ids": [...], "received_at": t}
// (members sorted, a trailing newline), without building the map and the id
// list and without encoding/json's reflection (a 500-event answer is ~19 KB).
// Event ids are canonical UUIDs (eventID, newEventIDs); any other string would
// be quoted by encoding/json all the same.
func appendAccepted(b []byte, events []schema.InteractionEvent) []byte {
	b = append(b, `{"accepted":`...)
	b = strconv.AppendInt(b, int64(len(events)), 10)
	b = append(b, `,"event_ids":[`...)
	for i := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, events[i].EventID)
	}
	b = append(b, `],"received_at":"`...)
	b = events[0].ReceivedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, "\"}\n"...)
}

// appendJSONString appends s as encoding/json quotes it: as it stands when it
// holds only letters, digits and hyphens, else through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || 'A' <= c && c <= 'Z') {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// segment serves one Segment (and RudderStack) tracking endpoint. The write
// key is the basic-auth user, else the body's writeKey, else the writeKey
// query parameter (navigator.sendBeacon cannot set headers). The body is JSON
// whatever its declared type (readSDKBody).
func (a *API) segment(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, _, hasBasic := r.BasicAuth()
		var cred *auth.Credential
		if hasBasic {
			if cred = a.writeKeys.Lookup(key); cred == nil {
				a.unauthorizedWriteKey(w)
				return
			}
		}
		body, bad := a.readSDKBody(w, r)
		if bad != nil {
			writeError(w, bad.status, bad.kind, bad.msg)
			return
		}
		if cred == nil {
			// Segment also accepts the write key in the body; RudderStack's
			// beacons send it in the query.
			wk, err := SegmentWriteKeyFromBody(body)
			if err != nil { // an ambiguous key authenticates no one
				a.writeDecodeError(w, err)
				return
			}
			if wk == "" {
				var bad *bodyError
				if wk, bad = oneValue(r.URL.Query(), "writeKey", "query parameter"); bad != nil {
					writeError(w, bad.status, bad.kind, bad.msg)
					return
				}
			}
			if cred = a.writeKeys.Lookup(wk); cred == nil {
				a.unauthorizedWriteKey(w)
				return
			}
		}
		if msg := originRefusal(r, cred, "write key"); msg != "" {
			writeError(w, http.StatusForbidden, "forbidden", msg)
			return
		}
		events, err := DecodeSegment(kind, body, a.cfg.MaxEvents, cred)
		if err != nil {
			a.writeDecodeError(w, notJSONHint(err, r))
			return
		}
		a.stamp(events, r, "segment")
		if !a.publish(w, r, events, "segment", cred.Name) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	}
}

func (a *API) unauthorizedWriteKey(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="consentflow"`)
	writeError(w, http.StatusUnauthorized, "unauthorized", "a known write key is required as the basic-auth user (or the body's writeKey)")
}

// readBody checks the content type (application/json) and encoding and reads
// the body within MaxBodyBytes (after gzip decoding). It writes the error
// response itself.
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !(mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return nil, false
	}
	body, bad := a.readLimited(w, r)
	if bad != nil {
		writeError(w, bad.status, bad.kind, bad.msg)
		return nil, false
	}
	return body, true
}

func isGzip(r *http.Request) bool {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	return enc == "gzip" || enc == "x-gzip"
}

// bodyError is a request refused before its body was decoded.
type bodyError struct {
	status    int
	kind, msg string
}

// readLimited reads the body, gzip-decoded when Content-Encoding says so,
// within MaxBodyBytes both before and after decoding: a small gzip body that
// inflates past the limit (a decompression bomb) is refused with 413 once the
// limit is read, never inflated further.
func (a *API) readLimited(w http.ResponseWriter, r *http.Request) ([]byte, *bodyError) {
	limit := a.cfg.MaxBodyBytes
	var src io.Reader = http.MaxBytesReader(w, r.Body, limit)
	plain := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); {
	case enc == "" || enc == "identity":
		plain = true
	case isGzip(r):
		zr, err := gzip.NewReader(src)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, &bodyError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", limit)}
			}
			return nil, &bodyError{http.StatusBadRequest, "invalid_request", "body is not valid gzip (Content-Encoding: gzip)"}
		}
		defer zr.Close()
		src = zr
	default:
		return nil, &bodyError{http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Encoding must be gzip or identity"}
	}
	var body []byte
	var err error
	if !plain || r.ContentLength <= 0 || r.ContentLength > limit {
		body, err = io.ReadAll(io.LimitReader(src, limit+1))
	} else {
		// A plain body of a declared length (net/http delivers exactly that
		// many bytes) is read into one buffer of that size, not grown from
		// 512 bytes by copying (a 500-event request: ~15 copies).
		body, err = readSized(io.LimitReader(src, limit+1), int(r.ContentLength))
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || int64(len(body)) > limit:
		return nil, &bodyError{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes (after gzip decoding)", limit)}
	case err != nil && isGzip(r):
		return nil, &bodyError{http.StatusBadRequest, "invalid_request", "body is not valid gzip (Content-Encoding: gzip): " + err.Error()}
	case err != nil:
		return nil, &bodyError{http.StatusBadRequest, "invalid_request", "could not read the body"}
	}
	return body, nil
}

func (a *API) writeDecodeError(w http.ResponseWriter, err error) {
	var tooMany *TooManyEventsError
	var invalid *ValidationError
	var forbidden *ForbiddenError
	switch {
	case errors.As(err, &forbidden):
		writeJSON(w, http.StatusForbidden, refusal("forbidden", forbidden.Problems))
	case errors.As(err, &tooMany):
		writeError(w, http.StatusRequestEntityTooLarge, "too_many_events", tooMany.Error())
	case errors.As(err, &invalid):
		writeJSON(w, http.StatusBadRequest, refusal("invalid_request", invalid.Problems))
	default:
		writeError(w, http.StatusBadRequest, "invalid_request", "the body could not be decoded")
	}
}

// stamp sets what the server owns: received_at (one instant for the request,
// milliseconds as in the schema), event ids where missing, GPC from the header,
// and the ingest path.
func (a *API) stamp(events []schema.InteractionEvent, r *http.Request, source string) {
	now := a.now().UTC().Truncate(time.Millisecond)
	gpc := strings.TrimSpace(r.Header.Get("Sec-GPC")) == "1"
	missing := 0
	for i := range events {
		ev := &events[i]
		ev.ReceivedAt = now
		ev.Source = source
		ev.GPC = ev.GPC || gpc
		if ev.EventID == "" {
			missing++
		}
	}
	if missing == 0 {
		return
	}
	ids := newEventIDs(missing)
	for i := range events {
		if events[i].EventID == "" {
			events[i].EventID, ids = ids[:36], ids[36:]
		}
	}
}

// newEventIDs returns n random (version 4) UUIDs in their canonical form,
// back to back in one string: one read of the random source and one
// allocation for a request's ids, where uuid.NewString made two allocations
// per event.
func newEventIDs(n int) string {
	raw := make([]byte, 16*n)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails (it crashes the program instead)
	out := make([]byte, 0, 36*n)
	for i := range n {
		var u [16]byte
		copy(u[:], raw[16*i:])
		u[6] = u[6]&0x0f | 0x40 // version 4
		u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
		out = hex.AppendEncode(out, u[0:4])
		out = append(out, '-')
		out = hex.AppendEncode(out, u[4:6])
		out = append(out, '-')
		out = hex.AppendEncode(out, u[6:8])
		out = append(out, '-')
		out = hex.AppendEncode(out, u[8:10])
		out = append(out, '-')
		out = hex.AppendEncode(out, u[10:16])
	}
	return string(out)
}

// publish hands the events to the publisher within WriteTimeout (send) and
// answers 503 (with Retry-After) when they were not all acknowledged. It
// reports whether the caller may answer success.
func (a *API) publish(w http.ResponseWriter, r *http.Request, events []schema.InteractionEvent, source, credName string) bool {
	switch err := a.send(r, events, source, credName); {
	case err == nil:
		return true
	case errors.Is(err, errInternal):
		// A record that validated but cannot be encoded is our bug; retrying won't help.
		writeError(w, http.StatusInternalServerError, "internal", "the events could not be encoded; none is accepted")
	default:
		a.setRetryAfter(w)
		writeError(w, http.StatusServiceUnavailable, "unavailable",
			"the events were not acknowledged by Kafka; none is claimed accepted: retry with the same event ids")
	}
	return false
}

// writeError writes {"error": kind, "code": kind, "message": msg}: "code" and
// "message" are what the Segment and RudderStack Python SDKs read from an
// error body (rudder-sdk-python retries a 4xx whose body lacks them, as if
// the network had failed).
func writeError(w http.ResponseWriter, code int, kind, msg string) {
	writeJSON(w, code, map[string]any{"error": kind, "code": kind, "message": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// readSized is io.ReadAll into a buffer of size+1 bytes to start with (the
// last byte lets the read that meets EOF need no growth).
func readSized(r io.Reader, size int) ([]byte, error) {
	b := make([]byte, 0, size+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // more than declared: grow as ReadAll does
		}
	}
}
