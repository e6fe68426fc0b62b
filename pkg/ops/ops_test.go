package ops

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func TestReadinessFollowsFlagsChecksAndStopping(t *testing.T) {
	reg := NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "consentflow_test_total", Help: "t"})
	reg.MustRegister(c)
	c.Inc()
	s := New(reg, zaptest.NewLogger(t))
	h := s.Handler()

	code, _ := get(t, h, "/healthz")
	require.Equal(t, 200, code)
	code, _ = get(t, h, "/readyz")
	require.Equal(t, 200, code)

	s.SetReady("redis", "unreachable")
	code, body := get(t, h, "/readyz")
	require.Equal(t, 503, code)
	require.Contains(t, body, "redis: unreachable")
	s.SetReady("redis", "")

	failing := true
	s.AddCheck("kafka", func(context.Context) error {
		if failing {
			return errors.New("no brokers")
		}
		return nil
	})
	code, _ = get(t, h, "/readyz")
	require.Equal(t, 503, code)
	failing = false
	code, _ = get(t, h, "/readyz")
	require.Equal(t, 200, code)

	s.Stopping()
	code, _ = get(t, h, "/readyz")
	require.Equal(t, 503, code)
	code, _ = get(t, h, "/healthz")
	require.Equal(t, 200, code, "healthz stays 200 while stopping")

	code, body = get(t, h, "/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, body, "consentflow_test_total 1")
}

// The runtime's CPU classes are what tells a service's GC work from its own
// (cfbench reads them over every drain): they must be on /metrics.
func TestMetricsShowTheRuntimesCPUClasses(t *testing.T) {
	_, body := get(t, New(NewRegistry(), zaptest.NewLogger(t)).Handler(), "/metrics")
	for _, name := range []string{
		"go_cpu_classes_gc_mark_idle_cpu_seconds_total ", "go_cpu_classes_gc_mark_dedicated_cpu_seconds_total ",
		"go_cpu_classes_gc_mark_assist_cpu_seconds_total ", "go_cpu_classes_gc_pause_cpu_seconds_total ",
		"go_cpu_classes_scavenge_total_cpu_seconds_total ", "go_cpu_classes_user_cpu_seconds_total ",
		"go_cpu_classes_idle_cpu_seconds_total ", "go_cpu_classes_total_cpu_seconds_total ",
		"go_gc_cycles_total_gc_cycles_total ", "go_gc_heap_goal_bytes ",
	} {
		require.Contains(t, body, "\n"+name, "missing %s", name)
	}
}
