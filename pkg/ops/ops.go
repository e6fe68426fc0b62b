// Package ops serves a service's operational endpoints: /healthz (the process is
// alive), /readyz (503 while not ready or stopping) and Prometheus /metrics from an
// injected registry.
package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// Check reports why a component is not ready, or nil when it is.
type Check func(ctx context.Context) error

// Server is the ops HTTP server. Readiness is the conjunction of the registered
// checks and the flags set with SetReady; it turns false for good on Stopping.
type Server struct {
	reg    *prometheus.Registry
	logger *zap.Logger

	mu       sync.Mutex
	flags    map[string]string // component -> reason not ready ("" = ready)
	checks   map[string]Check
	stopping bool
}

// NewRegistry returns a registry with the Go and process collectors. The Go
// collector adds the runtime's own CPU accounting (runtime/metrics
// /cpu/classes/...: GC mark assist, dedicated and idle-priority workers, pauses,
// scavenger, user, idle; go_cpu_classes_*_cpu_seconds_total), GC cycles
// (go_gc_cycles_total_gc_cycles_total) and the heap goal (go_gc_heap_goal_bytes):
// how much of a service's CPU is its garbage collector. No labels.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(runtimeMetrics)),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// runtimeMetrics are the runtime/metrics the Go collector exposes besides its
// defaults (cfbench reads them over each drain).
var runtimeMetrics = collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/cpu/classes/|^/gc/cycles/total:|^/gc/heap/goal:`)}

// New returns an ops server exposing reg.
func New(reg *prometheus.Registry, logger *zap.Logger) *Server {
	return &Server{reg: reg, logger: logger, flags: map[string]string{}, checks: map[string]Check{}}
}

// SetReady marks component ready (reason "") or not ready with a reason.
func (s *Server) SetReady(component, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flags[component] = reason
}

// AddCheck registers a readiness check evaluated on every /readyz request.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// Stopping makes /readyz answer 503 from now on, so load balancers drain.
func (s *Server) Stopping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping = true
}

// Ready returns nil when every flag is ready and every check passes.
func (s *Server) Ready(ctx context.Context) error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return errors.New("stopping")
	}
	var problems []string
	for name, reason := range s.flags {
		if reason != "" {
			problems = append(problems, name+": "+reason)
		}
	}
	checks := make(map[string]Check, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()
	for name, c := range checks {
		if err := c(ctx); err != nil {
			problems = append(problems, name+": "+err.Error())
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Handler returns the ops mux.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	return mux
}

// Serve listens on addr and serves until ctx is cancelled; an empty addr disables
// the server (Serve then waits for ctx). It returns nil on a clean shutdown.
func (s *Server) Serve(ctx context.Context, addr string) error {
	if addr == "" {
		<-ctx.Done()
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("ops listen %s: %w", addr, err)
	}
	return serveHTTP(ctx, ln, s.Handler(), s.logger.With(zap.String("component", "ops")))
}

// Timeouts bound what a client may hold of a listener.
type Timeouts struct {
	// ReadHeader bounds reading the request line and headers.
	ReadHeader time.Duration
	// Read bounds reading the whole request, body included. A handler that
	// takes long uploads extends its own read deadline as it goes
	// (http.ResponseController.SetReadDeadline).
	Read time.Duration
	// Write is how long a response may go without progress: the deadline
	// moves forward by Write each time the handler writes, so a large
	// download lives while it flows and a client that stops reading is
	// dropped.
	Write time.Duration
	// Idle bounds how long a keep-alive connection waits for its next request.
	Idle time.Duration
	// MaxHeaderBytes bounds the request headers (431 above).
	MaxHeaderBytes int
}

// DefaultTimeouts are every consentflow listener's (consent API, dataset API,
// ops endpoints; pkg/run's Lifecycle.Serve starts from them, the ingest API
// adjusts them).
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: time.Minute, Write: time.Minute, Idle: 2 * time.Minute, MaxHeaderBytes: 64 << 10}

// NewServer returns an http.Server for h with the timeouts t; writes extend
// the write deadline (see Timeouts.Write), and a handler's panic is answered
// 500 and logged instead of dropping the connection (recoverPanics).
func NewServer(h http.Handler, t Timeouts, logger *zap.Logger) *http.Server {
	srv := &http.Server{
		Handler:           recoverPanics(progressDeadlines(h, t.Write), logger),
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    t.MaxHeaderBytes,
	}
	if logger != nil {
		srv.ErrorLog = zap.NewStdLog(logger.With(zap.String("component", "http")))
	}
	return srv
}

// progressDeadlines wraps every response so that each write first moves the
// connection's write deadline to now+d.
func progressDeadlines(h http.Handler, d time.Duration) http.Handler {
	if d <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&progressWriter{ResponseWriter: w, ctl: http.NewResponseController(w), d: d, deadline: time.Now().Add(d)}, r)
	})
}

// progressWriter moves the write deadline forward on each write that comes
// before the current deadline; once a deadline has passed it stays passed
// (the connection has timed out).
type progressWriter struct {
	http.ResponseWriter
	ctl      *http.ResponseController
	d        time.Duration
	deadline time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	if now := time.Now(); now.Before(p.deadline) {
		p.deadline = now.Add(p.d)
		_ = p.ctl.SetWriteDeadline(p.deadline)
	}
	return p.ResponseWriter.Write(b)
}

// ReadFrom copies in chunks through Write, so that a long body (a file
// served with http.ServeContent) keeps extending the deadline.
func (p *progressWriter) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	return io.CopyBuffer(writerOnly{p}, r, buf)
}

type writerOnly struct{ io.Writer }

// Unwrap lets http.ResponseController reach the connection.
func (p *progressWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// Flush passes flushes through.
func (p *progressWriter) Flush() {
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// serveHTTP serves h on ln with DefaultTimeouts until ctx is cancelled, then
// shuts down gracefully (in-flight requests get up to 10 s).
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, logger *zap.Logger) error {
	return serveWith(ctx, ln, h, DefaultTimeouts, logger)
}

func serveWith(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts, logger *zap.Logger) error {
	srv := NewServer(h, t, logger)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", zap.String("addr", ln.Addr().String()))
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown %s: %w", ln.Addr(), err)
	}
	return nil
}
