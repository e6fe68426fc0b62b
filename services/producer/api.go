package producer

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// API is the producer's HTTP ingest API. Build it with NewAPI and serve Handler.
type API struct {
	cfg       Config
	pub       Publisher
	tokens    *auth.Tokens
	writeKeys *auth.WriteKeys
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
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("register producer metrics: %w", err)
	}
	return &API{cfg: cfg, pub: pub, tokens: tokens, writeKeys: keys, log: logger, m: m, now: time.Now}, nil
}

// routes are the metric labels of the known paths; anything else is "other".
var routes = map[string]bool{
	"/v1/events": true, "/v1/batch": true, "/v1/track": true, "/v1/page": true,
	"/v1/screen": true, "/v1/identify": true, "/v1/group": true, "/v1/alias": true,
}

// Handler returns the API's routes, counting every response by route and code.
func (a *API) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", a.handleEvents)
	mux.HandleFunc("POST /v1/batch", a.segment("batch"))
	for kind := range segmentEventTypes {
		mux.HandleFunc("POST /v1/"+kind, a.segment(kind))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		mux.ServeHTTP(sw, r)
		route := r.URL.Path
		if !routes[route] {
			route = "other"
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
	ids := make([]string, len(events))
	for i := range events {
		ids[i] = events[i].EventID
	}
	// received_at is the one instant stamped on every event of the request: the time
	// consent is evaluated at, so clients (and the acceptance suite) can know it.
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": len(events), "event_ids": ids,
		"received_at": events[0].ReceivedAt.Format(time.RFC3339Nano)})
}

// segment serves one Segment tracking endpoint.
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
		body, ok := a.readBody(w, r)
		if !ok {
			return
		}
		if cred == nil {
			// Segment also accepts the write key in the body.
			if cred = a.writeKeys.Lookup(SegmentWriteKeyFromBody(body)); cred == nil {
				a.unauthorizedWriteKey(w)
				return
			}
		}
		events, err := DecodeSegment(kind, body, a.cfg.MaxEvents, cred)
		if err != nil {
			a.writeDecodeError(w, err)
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
	writeError(w, http.StatusUnauthorized, "unauthorized", "a known write key is required as the basic-auth user")
}

// readBody checks the content type and encoding and reads the body within
// MaxBodyBytes (after gzip decoding). It writes the error response itself.
func (a *API) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !(mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
		return nil, false
	}
	limit := a.cfg.MaxBodyBytes
	var src io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "body is not valid gzip")
			return nil, false
		}
		defer zr.Close()
		src = zr
	default:
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Encoding must be gzip or identity")
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge) || int64(len(body)) > limit:
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", limit))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid_request", "could not read the body")
		return nil, false
	}
	return body, true
}

func (a *API) writeDecodeError(w http.ResponseWriter, err error) {
	var tooMany *TooManyEventsError
	var invalid *ValidationError
	var forbidden *ForbiddenError
	switch {
	case errors.As(err, &forbidden):
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "forbidden", "problems": forbidden.Problems})
	case errors.As(err, &tooMany):
		writeError(w, http.StatusRequestEntityTooLarge, "too_many_events", tooMany.Error())
	case errors.As(err, &invalid):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "problems": invalid.Problems})
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
	for i := range events {
		ev := &events[i]
		ev.ReceivedAt = now
		ev.Source = source
		ev.GPC = ev.GPC || gpc
		if ev.EventID == "" {
			ev.EventID = uuid.NewString()
		}
	}
}

// publish hands the events to the publisher within WriteTimeout and answers 503
// (with Retry-After) when they were not all acknowledged. It reports whether the
// caller may answer success.
func (a *API) publish(w http.ResponseWriter, r *http.Request, events []schema.InteractionEvent, source, credName string) bool {
	ctx, cancel := context.WithTimeout(r.Context(), a.cfg.WriteTimeout)
	defer cancel()
	start := time.Now()
	err := a.pub.Publish(ctx, events)
	elapsed := time.Since(start).Seconds()
	if err == nil {
		a.m.publishLatency.WithLabelValues("ok").Observe(elapsed)
		a.m.eventsAccepted.WithLabelValues(source).Add(float64(len(events)))
		return true
	}
	a.m.publishLatency.WithLabelValues("error").Observe(elapsed)
	if !errors.Is(err, ErrUnavailable) {
		// A record that validated but cannot be encoded is our bug; retrying won't help.
		a.log.Error("publish failed", zap.String("source", source), zap.Int("events", len(events)), zap.Error(err))
		writeError(w, http.StatusInternalServerError, "internal", "the events could not be encoded; none is accepted")
		return false
	}
	// The error names brokers and the topic, never a payload.
	a.log.Warn("publish failed; answering 503", zap.String("source", source), zap.String("credential", credName),
		zap.Int("events", len(events)), zap.Error(err))
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(a.cfg.RetryAfter.Seconds()))))
	writeError(w, http.StatusServiceUnavailable, "unavailable",
		"the events were not acknowledged by Kafka; none is claimed accepted: retry with the same event ids")
	return false
}

func writeError(w http.ResponseWriter, code int, kind, msg string) {
	writeJSON(w, code, map[string]any{"error": kind, "message": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
