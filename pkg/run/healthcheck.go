package run

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/config"
)

// HealthcheckCommand is the argument that turns a service binary into a probe of a
// running instance of itself: `<binary> healthcheck [PATH]` GETs PATH (default
// /readyz) from the service's ops server (OPS_ADDR, as the service reads it), prints
// the answer and exits 0 on a 2xx status, 1 otherwise. Container healthchecks use it
// (the consentflow image has no shell and no HTTP client), and so can operators:
//
//	docker compose exec consent-filter consent-filter healthcheck /metrics
const HealthcheckCommand = "healthcheck"

// healthcheckTimeout bounds the whole probe; container runtimes kill a healthcheck
// that outlives their own timeout (3 s in docker-compose.yml).
const healthcheckTimeout = 2500 * time.Millisecond

// exitIfHealthcheck runs the probe and exits when os.Args ask for it; otherwise it
// returns and the service starts. C is the service's configuration: it supplies the
// default of OPS_ADDR.
func exitIfHealthcheck[C any]() {
	var cfg C
	if code, ok := healthcheck(os.Args[1:], os.LookupEnv, opsAddrDefault(&cfg), os.Stdout, os.Stderr); ok {
		os.Exit(code)
	}
}

// opsAddrDefault is the envDefault of OPS_ADDR in cfg ("" when it has none).
func opsAddrDefault(cfg any) string {
	for _, v := range config.Vars(cfg) {
		if v.Name == "OPS_ADDR" {
			return v.Default
		}
	}
	return ""
}

// healthcheck probes when args are [healthcheck] or [healthcheck PATH]; ok reports
// whether args asked for it, code is the exit code.
func healthcheck(args []string, lookupEnv func(string) (string, bool), defaultAddr string, stdout, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 || args[0] != HealthcheckCommand {
		return 0, false
	}
	path := "/readyz"
	switch {
	case len(args) == 2 && strings.HasPrefix(args[1], "/"):
		path = args[1]
	case len(args) > 1:
		fmt.Fprintf(stderr, "usage: %s [PATH]   (PATH of the ops server, default /readyz; e.g. /healthz, /metrics)\n", HealthcheckCommand)
		return 2, true
	}
	addr, set := lookupEnv("OPS_ADDR")
	if !set {
		addr = defaultAddr
	}
	if addr == "" {
		fmt.Fprintln(stderr, "healthcheck: OPS_ADDR is empty: this service runs no ops server to probe")
		return 1, true
	}
	url, err := probeURL(addr, path)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: %v\n", err)
		return 1, true
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "healthcheck: GET %s: %v\n", url, err)
		return 1, true
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(stderr, "healthcheck: GET %s: %s\n", url, resp.Status)
		io.Copy(stderr, resp.Body)
		return 1, true
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintf(stderr, "healthcheck: GET %s: reading the answer: %v\n", url, err)
		return 1, true
	}
	return 0, true
}

// probeURL is the URL of path on the ops server listening on addr; a server
// listening on every interface is probed on loopback.
func probeURL(addr, path string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("OPS_ADDR %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}
