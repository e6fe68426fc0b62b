package run

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// opsServer serves /readyz with the given status and /metrics, on loopback; it
// returns the port.
func opsServer(t *testing.T, readyStatus int) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(readyStatus)
		w.Write([]byte("readyz says " + http.StatusText(readyStatus) + "\n"))
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("consentflow_filter_paused 0\n"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

type probeConfig struct {
	Ops struct {
		Addr string `env:"OPS_ADDR" envDefault:"127.0.0.1:9199"`
	}
}

func TestHealthcheck(t *testing.T) {
	okPort := opsServer(t, http.StatusOK)
	downPort := opsServer(t, http.StatusServiceUnavailable)
	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		def      string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
	}{
		{"ready", []string{"healthcheck"}, map[string]string{"OPS_ADDR": "127.0.0.1:" + okPort}, "", 0, "readyz says OK", ""},
		{"not ready", []string{"healthcheck"}, map[string]string{"OPS_ADDR": "127.0.0.1:" + downPort}, "", 1, "", "503"},
		// Without OPS_ADDR in the environment the service's default applies.
		{"default addr", []string{"healthcheck"}, nil, "127.0.0.1:" + okPort, 0, "readyz says OK", ""},
		{"other path", []string{"healthcheck", "/metrics"}, map[string]string{"OPS_ADDR": "127.0.0.1:" + okPort}, "", 0, "consentflow_filter_paused 0", ""},
		{"ops disabled", []string{"healthcheck"}, map[string]string{"OPS_ADDR": ""}, "127.0.0.1:" + okPort, 1, "", "OPS_ADDR is empty"},
		{"nothing listening", []string{"healthcheck"}, map[string]string{"OPS_ADDR": "127.0.0.1:1"}, "", 1, "", "GET http://127.0.0.1:1/readyz"},
		{"bad usage", []string{"healthcheck", "metrics"}, nil, "127.0.0.1:" + okPort, 2, "", "usage"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code, ok := healthcheck(c.args, env(c.env), c.def, &out, &errOut)
			if !ok {
				t.Fatal("healthcheck did not handle its own command")
			}
			if code != c.wantCode {
				t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", code, c.wantCode, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), c.wantOut) {
				t.Errorf("stdout %q, want it to contain %q", out.String(), c.wantOut)
			}
			if !strings.Contains(errOut.String(), c.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", errOut.String(), c.wantErr)
			}
		})
	}
}

func TestHealthcheckLeavesOtherArgumentsToTheService(t *testing.T) {
	for _, args := range [][]string{nil, {"-h"}, {"--help"}, {"health"}} {
		if _, ok := healthcheck(args, env(nil), "127.0.0.1:1", &bytes.Buffer{}, &bytes.Buffer{}); ok {
			t.Errorf("healthcheck handled %q, which belongs to the service", args)
		}
	}
}

func TestOpsAddrDefaultComesFromTheServiceConfig(t *testing.T) {
	if got := opsAddrDefault(&probeConfig{}); got != "127.0.0.1:9199" {
		t.Errorf("opsAddrDefault = %q, want the envDefault of OPS_ADDR", got)
	}
	if got := opsAddrDefault(&struct{}{}); got != "" {
		t.Errorf("opsAddrDefault of a config without OPS_ADDR = %q, want empty", got)
	}
}

func TestProbeURL(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:9101":      "http://127.0.0.1:9101/readyz", // containers listen on every interface
		":9101":             "http://127.0.0.1:9101/readyz",
		"[::]:9101":         "http://127.0.0.1:9101/readyz",
		"127.0.0.1:9101":    "http://127.0.0.1:9101/readyz",
		"10.1.2.3:9101":     "http://10.1.2.3:9101/readyz", // a specific interface is probed there
		"[::1]:9101":        "http://[::1]:9101/readyz",
		"ops.internal:9101": "http://ops.internal:9101/readyz",
	} {
		if got, err := probeURL(addr, "/readyz"); err != nil || got != want {
			t.Errorf("probeURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := probeURL("9101", "/readyz"); err == nil {
		t.Error("probeURL accepted an address without a port")
	}
}
