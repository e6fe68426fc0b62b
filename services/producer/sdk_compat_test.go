package producer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/segmentio/kafka-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// TestSDKCompatibility drives the real analytics SDKs, as their registries
// ship them, against the producer on the test stack (the real Kafka broker in
// `make test-live`) and checks every record they leave in events.raw: the
// right event type, user, anonymous id, previous id, tenant, jurisdiction,
// properties and ingest source.
//
//   - Node: @segment/analytics-node, @rudderstack/rudder-sdk-node,
//     @amplitude/analytics-node, mixpanel (testdata/sdk/send.cjs), from the
//     packages scripts/sdkenv.sh installs (SDK_NODE_MODULES).
//   - Python: segment-analytics-python, rudder-sdk-python,
//     amplitude-analytics, mixpanel (testdata/sdk/send.py), from
//     scripts/pyenv.sh's venv (SDK_PYTHON).
//   - Browser: @segment/analytics-next and @rudderstack/analytics-js (XHR and
//     navigator.sendBeacon) in a page served from another origin
//     (127.0.0.2) than the producer's (127.0.0.1), in headless Debian
//     chromium (SDK_CHROMIUM) driven by puppeteer-core (testdata/sdk/browser.cjs).
//
// Besides the calls, each server SDK is checked against its retry logic as
// read in its source: a 503 with Retry-After before the producer accepts
// (retried and delivered, except by the Mixpanel SDKs, which never retry
// over http and report the error), and a refused request (4xx: sent once,
// never retried, reported to the application).
//
// Each part runs when its tools are named (make test-live names all):
//
//	eval "$(bash scripts/sdkenv.sh)"; export SDK_PYTHON=$(bash scripts/pyenv.sh | tail -n1)
//	go test ./services/producer -run SDKCompatibility -v
func TestSDKCompatibility(t *testing.T) {
	nodeModules, python, chromium := os.Getenv("SDK_NODE_MODULES"), os.Getenv("SDK_PYTHON"), os.Getenv("SDK_CHROMIUM")
	if testenv.Live() && (nodeModules == "" || python == "" || chromium == "") {
		// The live suite is where the SDKs are proved: it never passes without them.
		t.Fatalf("CONSENTFLOW_LIVE=1 needs SDK_NODE_MODULES, SDK_CHROMIUM (eval \"$(bash scripts/sdkenv.sh)\") and SDK_PYTHON (scripts/pyenv.sh); got %q, %q, %q",
			nodeModules, chromium, python)
	}
	if nodeModules == "" && python == "" {
		t.Skip("SDK_NODE_MODULES and SDK_PYTHON not set (scripts/sdkenv.sh, scripts/pyenv.sh; make test-live sets them)")
	}
	start := time.Now()
	site := newSDKSite(t, nodeModules)
	h := newSDKHarness(t, site.origin)

	var wants []sdkWant
	server := []struct {
		lang, sdk, key, boundTenant string
	}{
		{"node", "segment", "wk-seg-node", ""},
		{"node", "rudderstack", "wk-rs-node", "t-rs-node"},
		{"node", "amplitude", "ak-amp-node", "t-amp-node"},
		{"node", "mixpanel", "mt-mp-node", "t-mp-node"},
		{"python", "segment", "wk-seg-py", ""},
		{"python", "rudderstack", "wk-rs-py", "t-rs-py"},
		{"python", "amplitude", "ak-amp-py", ""},
		{"python", "mixpanel", "mt-mp-py", "t-mp-py"},
	}
	for _, s := range server {
		name := s.lang + "/" + s.sdk
		t.Run(name, func(t *testing.T) {
			if s.lang == "node" && nodeModules == "" || s.lang == "python" && python == "" {
				t.Skipf("no %s SDKs (SDK_NODE_MODULES / SDK_PYTHON)", s.lang)
			}
			id := strings.ReplaceAll(name, "/", "-")
			// An unbound key's events name their tenant; a bound key supplies it (the
			// Python Mixpanel run names it too: allowed, being the key's).
			tenant, sent := s.boundTenant, ""
			switch {
			case tenant == "":
				tenant = "t-" + id
				sent = tenant
			case s.sdk == "mixpanel" && s.lang == "python":
				sent = tenant
			}
			run := sdkRun{lang: s.lang, sdk: s.sdk, key: s.key, user: id + "-u", anon: id + "-a", tenant: sent, group: tenant}

			// The calls.
			h.reset()
			out := h.run(t, run, "calls", nodeModules, python)
			assert.Empty(t, out.Errors, "the SDK reported no error")
			wants = append(wants, callWants(run, tenant)...)

			// 503 with Retry-After once, then accepted.
			h.reset()
			h.pub.fail.Store(1)
			retry := run
			retry.user = id + "-retry-u"
			out = h.run(t, retry, "retry", nodeModules, python)
			attempts := h.posts()
			if s.sdk == "mixpanel" {
				// mixpanel (npm) has no retry; mixpanel (PyPI) mounts its retrying adapter on https:// only.
				assert.Equal(t, []int{503}, attempts, "Mixpanel's SDKs do not retry over http")
				assert.NotEmpty(t, out.Errors, "and report the 503 to the application")
			} else {
				require.GreaterOrEqual(t, len(attempts), 2, "retried after the 503: %v", attempts)
				assert.Equal(t, 503, attempts[0])
				assert.Equal(t, 200, attempts[len(attempts)-1], "%v", attempts)
				assert.Empty(t, out.Errors)
				wants = append(wants, sdkWant{sdk: name, source: sourceOf(s.sdk), typ: "Retried", user: retry.user, tenant: tenant, props: map[string]string{"n": "1"}})
			}

			// A refused request: sent once, reported, never retried.
			h.reset()
			bad := run
			bad.user = id + "-bad-u"
			bad.tenant = ""
			if s.boundTenant != "" {
				bad.tenant = "t-another" // a key bound to its tenant sends another's event: 403
			}
			out = h.run(t, bad, "invalid", nodeModules, python)
			attempts = h.posts()
			require.Len(t, attempts, 1, "a 4xx is not retried: %v", attempts)
			assert.Contains(t, []int{400, 403}, attempts[0])
			assert.NotEmpty(t, out.Errors, "the SDK reports the refusal")
		})
	}

	t.Run("browser", func(t *testing.T) {
		if nodeModules == "" || chromium == "" {
			t.Skip("no SDK_NODE_MODULES or SDK_CHROMIUM")
		}
		h.reset()
		q := url.Values{"producer": {h.url}, "segment_key": {"wk-seg-web"}, "rudder_key": {"wk-rs-web"}, "user": {"web"}, "tenant": {"t-web"}}
		out := h.browser(t, nodeModules, chromium, site.origin+"/page.html?"+q.Encode(), 10)
		assert.Empty(t, out.Console, "no error in the page")
		assert.Empty(t, out.Failed, "no failed request")
		require.Len(t, out.Responses, 10, "5 Segment and 5 RudderStack requests: %v", out.Responses)
		for _, r := range out.Responses {
			assert.Equal(t, 200, r.Status, "%s %s", r.Method, r.Path)
		}
		assert.Positive(t, out.Preflights, "Authorization makes every SDK request preflighted")
		seg, rs := out.Result["segment"], out.Result["rudderstack"]
		require.NotEmpty(t, seg.Anon)
		require.NotEmpty(t, rs.Anon)
		wants = append(wants, browserWants("browser/segment", seg, "DE")...)
		wants = append(wants, browserWants("browser/rudderstack", rs, "")...)

		// RudderStack's beacon transport: navigator.sendBeacon, a text/plain Blob, the key in the query.
		q.Set("beacon", "1")
		out = h.browser(t, nodeModules, chromium, site.origin+"/page.html?"+q.Encode(), 0)
		assert.Empty(t, out.Console, "no error in the page")
		beacon := out.Result["rudderstack_beacon"]
		require.NotEmpty(t, beacon.Anon)
		wants = append(wants, browserWants("browser/rudderstack-beacon", beacon, "")...)
		assert.NotEmpty(t, h.postsTo("/beacon/v1/batch"), "the beacons went to /beacon/v1/batch")
	})

	recs := h.consume(t, len(wants), 90*time.Second)
	checkSDKRecords(t, wants, recs)
	t.Logf("SDK compatibility suite: %d SDK records checked in %s", len(wants), time.Since(start).Round(100*time.Millisecond))
}

// sdkWant is one record an SDK call must leave in events.raw. props must be
// among the record's properties; text, when set, is its text.
type sdkWant struct {
	sdk, source, typ                        string
	user, anon, previous, tenant, jurisdict string
	anyAnon                                 bool // an anonymous id the SDK adds on its own
	props                                   map[string]string
	text                                    string
}

func (w sdkWant) String() string {
	return fmt.Sprintf("%s: %s user=%q anon=%q previous=%q tenant=%q", w.sdk, w.typ, w.user, w.anon, w.previous, w.tenant)
}

func sourceOf(sdk string) string {
	if sdk == "rudderstack" {
		return "segment"
	}
	return sdk
}

// callWants are the records of send.cjs / send.py's "calls" for one SDK.
func callWants(r sdkRun, tenant string) []sdkWant {
	name := r.lang + "/" + r.sdk
	w := func(typ, user, anon string, props map[string]string) sdkWant {
		return sdkWant{sdk: name, source: sourceOf(r.sdk), typ: typ, user: user, anon: anon, tenant: tenant, props: props}
	}
	traits := map[string]string{"name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro"}
	track := w("Issue Created", r.user, "", map[string]string{"issue": "ABC-1", "points": "3"})
	track.text = "Mail me at ada@example.com"
	switch r.sdk {
	case "segment", "rudderstack":
		alias := w("alias", r.user, "", nil)
		alias.previous = r.anon
		return []sdkWant{
			w("identify", r.user, r.anon, traits), track,
			w("page_viewed", r.user, "", map[string]string{"name": "Home", "category": "Docs", "path": "/home"}),
			w("group", r.user, "", map[string]string{"plan": "pro"}), alias,
		}
	case "amplitude":
		track.anon = r.anon
		return []sdkWant{
			track, w("identify", r.user, r.anon, traits),
			w("page_viewed", r.user, r.anon, map[string]string{"page_path": "/home", "page_title": "Home"}),
			w("group", r.user, "", map[string]string{"plan": "pro", "groups": `{"company":"` + r.group + `"}`}),
		}
	default: // mixpanel
		alias := w("alias", r.user, "", nil)
		alias.previous = r.anon
		out := []sdkWant{
			track, w("identify", r.user, "", map[string]string{"$name": "Ada Lovelace", "$email": "ada@example.com", "plan": "pro"}),
			w("page_viewed", r.user, "", map[string]string{"current_url_path": "/home", "current_page_title": "Home"}),
			w("identify", r.user, "", map[string]string{"company": r.group}), alias,
			w("Imported Event", r.user, "", map[string]string{"batch": "old"}),
		}
		if r.lang == "node" {
			out = append(out, w("Anonymous Visit", "", r.anon, nil))
		}
		return out
	}
}

// browserWants are the records of page.html's calls for one SDK: a page view
// while anonymous, alias (previous: the anonymous id), identify, track and
// group, every one with the SDK's anonymous id, the browser key's tenant and
// its jurisdiction (none: the policy's default regime).
func browserWants(name string, r browserRun, jurisdiction string) []sdkWant {
	w := func(typ, user string, props map[string]string) sdkWant {
		return sdkWant{sdk: name, source: "segment", typ: typ, user: user, anon: r.Anon, tenant: "t-web", jurisdict: jurisdiction, props: props}
	}
	alias := w("alias", r.User, nil)
	alias.previous = r.Anon
	track := w("Issue Created", r.User, map[string]string{"issue": "ABC-1", "points": "3"})
	track.text = "Mail me at ada@example.com"
	return []sdkWant{
		w("page_viewed", "", map[string]string{"name": "Home", "category": "Docs", "path": "/home"}),
		alias,
		w("identify", r.User, map[string]string{"name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro"}),
		track,
		w("group", r.User, map[string]string{"plan": "pro"}),
	}
}

// checkSDKRecords matches every wanted record with exactly one record of the
// topic, and reports records no call explains (a duplicate, a refused event
// that was ingested).
func checkSDKRecords(t *testing.T, wants []sdkWant, recs []sdkRecord) {
	used := make([]bool, len(recs))
	for _, w := range wants {
		found := -1
		for i, r := range recs {
			if !used[i] && w.matches(r.event) {
				found = i
				break
			}
		}
		if !assert.GreaterOrEqual(t, found, 0, "no record for %s", w) {
			for _, r := range recs {
				if r.event.Source == w.source && r.event.EventType == w.typ && (r.event.UserID == w.user || r.event.AnonymousID == w.anon) {
					t.Logf("  near: %+v", r.event)
				}
			}
			continue
		}
		used[found] = true
		ev := recs[found].event
		assert.Equal(t, ev.Subject(), recs[found].key, "%s: keyed by its subject", w)
		for k, v := range w.props {
			assert.Equal(t, v, ev.Properties[k], "%s: properties[%q]", w, k)
		}
		assert.NotContains(t, ev.Properties, "token", "%s: a credential is never a property", w)
		if w.text != "" {
			assert.Equal(t, w.text, ev.Text, "%s: text", w)
		}
		assert.NotEmpty(t, ev.EventID, "%s", w)
	}
	for i, r := range recs {
		assert.True(t, used[i], "a record no SDK call explains: %+v", r.event)
	}
}

func (w sdkWant) matches(ev schema.InteractionEvent) bool {
	return ev.Source == w.source && ev.EventType == w.typ && ev.UserID == w.user &&
		(w.anyAnon || ev.AnonymousID == w.anon) && ev.PreviousID == w.previous &&
		ev.TenantID == w.tenant && ev.Jurisdiction == w.jurisdict
}

// sdkRun is one run of a server SDK driver.
type sdkRun struct {
	lang, sdk, key, user, anon, tenant, group string
}

type sdkOutput struct {
	Errors []string `json:"errors"`
}

type browserRun struct {
	Anon string `json:"anon"`
	User string `json:"user"`
}

type browserOutput struct {
	Result    map[string]browserRun `json:"result"`
	Responses []struct {
		Method, Path string
		Status       int
	} `json:"responses"`
	Preflights int      `json:"preflights"`
	Console    []string `json:"console"`
	Failed     []string `json:"failed"`
}

// sdkHarness is the producer under test: a real KafkaPublisher behind a
// switch that fails the next publishes (503), and a log of the requests.
type sdkHarness struct {
	stack *stack
	url   string
	pub   *flakyPublisher
	mu    sync.Mutex
	log   []sdkRequest
}

type sdkRequest struct {
	method, path string
	status       int
}

type flakyPublisher struct {
	inner Publisher
	fail  atomic.Int32
}

func (f *flakyPublisher) Publish(ctx context.Context, evs []schema.InteractionEvent) error {
	if f.fail.Add(-1) >= 0 {
		return fmt.Errorf("%w: injected by the SDK suite", ErrUnavailable)
	}
	f.fail.Store(0)
	return f.inner.Publish(ctx, evs)
}

func newSDKHarness(t *testing.T, siteOrigin string) *sdkHarness {
	s := newEnvStack(t)
	cfg := s.config()
	cfg.RetryAfter = time.Second
	cfg.WriteKeys = strings.Join([]string{
		"seg-node:plain:wk-seg-node", "seg-py:plain:wk-seg-py",
		"rs-node:plain:wk-rs-node;tenant=t-rs-node", "rs-py:plain:wk-rs-py;tenant=t-rs-py",
		"seg-web:plain:wk-seg-web;tenant=t-web;browser;jurisdiction=DE;origins=" + siteOrigin,
		"rs-web:plain:wk-rs-web;tenant=t-web;browser;origins=" + siteOrigin,
	}, ",")
	cfg.AmplitudeKeys = "amp-node:plain:ak-amp-node;tenant=t-amp-node,amp-py:plain:ak-amp-py"
	cfg.MixpanelTokens = "mp-node:plain:mt-mp-node;tenant=t-mp-node,mp-py:plain:mt-mp-py;tenant=t-mp-py"
	kp, err := NewKafkaPublisher(context.Background(), cfg.Config, cfg.RegistryConfig, cfg.Topic, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	require.NoError(t, err)
	h := &sdkHarness{stack: s, pub: &flakyPublisher{inner: kp}}
	api, _ := newTestAPI(t, cfg, h.pub)
	inner := api.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		inner.ServeHTTP(sw, r)
		h.mu.Lock()
		h.log = append(h.log, sdkRequest{r.Method, r.URL.Path, sw.code})
		h.mu.Unlock()
	}))
	t.Cleanup(func() {
		srv.Close()
		kp.Close()
	})
	h.url = srv.URL
	return h
}

func (h *sdkHarness) reset() {
	h.mu.Lock()
	h.log = nil
	h.mu.Unlock()
	h.pub.fail.Store(0)
}

// posts are the status codes of the POST and GET requests since reset.
func (h *sdkHarness) posts() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, r := range h.log {
		if r.method != http.MethodOptions {
			out = append(out, r.status)
		}
	}
	return out
}

func (h *sdkHarness) postsTo(path string) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []int
	for _, r := range h.log {
		if r.method == http.MethodPost && r.path == path {
			out = append(out, r.status)
		}
	}
	return out
}

func (h *sdkHarness) run(t *testing.T, r sdkRun, mode, nodeModules, python string) sdkOutput {
	t.Helper()
	args := []string{"--sdk", r.sdk, "--host", h.url, "--key", r.key, "--user", r.user, "--anon", r.anon,
		"--tenant", r.tenant, "--group", r.group, "--mode", mode}
	var cmd *exec.Cmd
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if r.lang == "node" {
		cmd = exec.CommandContext(ctx, "node", append([]string{"testdata/sdk/send.cjs"}, args...)...)
		cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules)
	} else {
		cmd = exec.CommandContext(ctx, python, append([]string{"testdata/sdk/send.py"}, args...)...)
	}
	return runJSON[sdkOutput](t, cmd)
}

func (h *sdkHarness) browser(t *testing.T, nodeModules, chromium, pageURL string, expect int) browserOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "testdata/sdk/browser.cjs", "--chromium", chromium, "--url", pageURL,
		"--producer", h.url, "--expect", fmt.Sprint(expect), "--timeout", "60")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules)
	return runJSON[browserOutput](t, cmd)
}

func runJSON[T any](t *testing.T, cmd *exec.Cmd) T {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "%s: %s", strings.Join(cmd.Args, " "), stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var out T
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &out), "output %q (stderr %s)", stdout.String(), stderr.String())
	if stderr.Len() > 0 {
		t.Logf("%s stderr: %.2000s", filepath.Base(cmd.Args[1]), stderr.String())
	}
	return out
}

type sdkRecord struct {
	key   string
	event schema.InteractionEvent
}

// consume reads the topic from the start until want records arrived or
// timeout, then once more a second later (a duplicate would come late). It
// reads through pkg/stream, so a secured broker works as the services reach it.
func (h *sdkHarness) consume(t *testing.T, want int, timeout time.Duration) []sdkRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	defer cancel()
	serde, err := avro.NewSerdeFor(h.stack.registry)
	require.NoError(t, err)
	codec, err := avro.InteractionEvents(ctx, serde, h.stack.topic)
	require.NoError(t, err)
	read := func() []sdkRecord {
		ends, err := stream.EndOffsets(ctx, h.stack.kafka, h.stack.topic)
		require.NoError(t, err)
		var out []sdkRecord
		var decodeErr error
		require.NoError(t, stream.ReadRange(ctx, h.stack.kafka, h.stack.topic, nil, ends, func(m kafka.Message) {
			ev, err := codec.Decode(ctx, m.Value)
			if err != nil {
				decodeErr = err
				return
			}
			out = append(out, sdkRecord{key: string(m.Key), event: ev})
		}))
		require.NoError(t, decodeErr)
		return out
	}
	deadline := time.Now().Add(timeout)
	out := read()
	for len(out) < want && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		out = read()
	}
	if len(out) >= want {
		time.Sleep(time.Second)
		out = read()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].event.ReceivedAt.Before(out[j].event.ReceivedAt) })
	return out
}

// sdkSite serves page.html and the browser SDK bundles from the npm packages
// on 127.0.0.2: another origin (host and port) than the producer's.
type sdkSite struct {
	origin string
}

func newSDKSite(t *testing.T, nodeModules string) sdkSite {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Logf("127.0.0.2 unavailable (%v); the page is served from another port of 127.0.0.1", err)
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page.html", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "testdata/sdk/page.html")
	})
	if nodeModules != "" {
		mux.Handle("GET /sdk/segment/", http.StripPrefix("/sdk/segment/",
			http.FileServer(http.Dir(filepath.Join(nodeModules, "@segment/analytics-next/dist/umd")))))
		mux.Handle("GET /segment-cdn/analytics-next/bundles/", http.StripPrefix("/segment-cdn/analytics-next/bundles/",
			http.FileServer(http.Dir(filepath.Join(nodeModules, "@segment/analytics-next/dist/umd")))))
		mux.Handle("GET /sdk/rudderstack/", http.StripPrefix("/sdk/rudderstack/",
			http.FileServer(http.Dir(filepath.Join(nodeModules, "@rudderstack/analytics-js/dist/npm/modern/bundled/umd")))))
	}
	// A browser asks for /favicon.ico; nothing else should be missing (the page logs a 404 as an error).
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		mux.ServeHTTP(sw, r)
		if sw.code >= 400 {
			t.Logf("site: %s %s: %d", r.Method, r.URL.Path, sw.code)
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sdkSite{origin: "http://" + ln.Addr().String()}
}
