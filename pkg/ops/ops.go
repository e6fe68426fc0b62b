// Package ops serves a service's operational endpoints: /healthz (the process is
// alive), /readyz (503 while not ready or stopping) and Prometheus /metrics from an
// injected registry.
package ops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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

// NewRegistry returns a registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

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

// serveHTTP serves h on ln until ctx is cancelled, then shuts down gracefully
// (in-flight requests get up to 10 s).
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, logger *zap.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
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
