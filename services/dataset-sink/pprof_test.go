package datasetsink

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPprofAddrMustBeLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{"": true, "127.0.0.1:6060": true, "localhost:6060": true, "[::1]:6060": true,
		"0.0.0.0:6060": false, ":6060": false, "10.0.0.5:6060": false} {
		cfg := testConfig(t.TempDir())
		cfg.PprofAddr = addr
		err := cfg.Validate()
		if ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "SINK_PPROF_ADDR")) {
			t.Errorf("SINK_PPROF_ADDR=%q: got %v", addr, err)
		}
	}
}

func TestPprofHandlerServesTheHeapProfile(t *testing.T) {
	srv := httptest.NewServer(pprofHandler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "# HeapAlloc = ") {
		t.Fatalf("GET /debug/pprof/heap?debug=1: %d %.200s", res.StatusCode, body)
	}
}
