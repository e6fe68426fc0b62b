package datasetsink

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// pprofHandler serves Go's profiles under /debug/pprof/ (heap, allocs, CPU,
// goroutines): how the sink's memory at a commit was measured.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// listenPprof listens on addr (SINK_PPROF_ADDR, loopback) early, so that a
// taken port fails at start.
func listenPprof(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof listen %s: %w", addr, err)
	}
	return ln, nil
}
