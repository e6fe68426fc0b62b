package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeStack stands in for the producer and the consent API.
type fakeStack struct {
	mu       sync.Mutex
	events   map[string]map[string]any // by event_id
	gpc      map[string]bool
	consents []string
	fail503  atomic.Int32 // answer this many event requests with 503 first
	requests int          // event requests answered 202
	srv      *httptest.Server
}

// fakeClock is the server time the fakes answer with: distinct per request and
// unlike the load generator's own clock, so the log must have taken it from the
// answer.
func fakeClock(n int) time.Time {
	return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond)
}

func newFakeStack(t *testing.T) *fakeStack {
	f := &fakeStack{events: map[string]map[string]any{}, gpc: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if f.fail503.Add(-1) >= 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var body struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, ev := range body.Events {
			if _, ok := ev["received_at"]; ok {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			id := ev["event_id"].(string)
			f.events[id] = ev
			f.gpc[id] = r.Header.Get("Sec-GPC") == "1"
		}
		f.requests++
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"accepted":%d,"received_at":%q}`, len(body.Events), fakeClock(f.requests).Format(time.RFC3339Nano))
	})
	put := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.consents = append(f.consents, r.URL.EscapedPath()+" "+string(b))
		n := len(f.consents)
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, `{"version":"0:%d","effective_at":%q}`, n-1, fakeClock(1000+n).Format(time.RFC3339Nano))
	}
	mux.HandleFunc("PUT /v1/tenants/{tenant}/consents/{purpose}", put)
	mux.HandleFunc("PUT /v1/tenants/{tenant}/{coll}/{id}/consents/{purpose}", put)
	mux.HandleFunc("GET /v1/tenants/{tenant}/users/{user}/consents", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var linked []map[string]string
		for _, ev := range f.events {
			if ev["tenant_id"] == r.PathValue("tenant") && ev["user_id"] == r.PathValue("user") && ev["anonymous_id"] != nil {
				linked = append(linked, map[string]string{"subject_type": "anonymous", "subject_id": ev["anonymous_id"].(string)})
			}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"linked": linked})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func readTruth(t *testing.T, b []byte) ([]EventTruth, []ConsentTruth) {
	evs, cs, _ := readTruthLinks(t, b)
	return evs, cs
}

func readTruthLinks(t *testing.T, b []byte) ([]EventTruth, []ConsentTruth, []LinkTruth) {
	t.Helper()
	var evs []EventTruth
	var cs []ConsentTruth
	var ls []LinkTruth
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var kind struct{ Kind string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &kind))
		switch kind.Kind {
		case "event":
			var e EventTruth
			require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
			evs = append(evs, e)
		case "consent":
			var c ConsentTruth
			require.NoError(t, json.Unmarshal(sc.Bytes(), &c))
			cs = append(cs, c)
		case "link":
			var l LinkTruth
			require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
			ls = append(ls, l)
		default:
			t.Fatalf("unknown kind %q", kind.Kind)
		}
	}
	return evs, cs, ls
}

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Tenants, cfg.UsersPerTenant = 6, 8
	cfg.Plan.Events = 0
	cfg.WithdrawRate, cfg.GrantRate, cfg.TenantOptOutRate, cfg.TenantGrantRate = 0.05, 0.05, 0.02, 0.01
	cfg.GPCRate = 0.2
	return cfg
}

func TestRunSendsEverythingInTenantOrderAndWritesTruth(t *testing.T) {
	f := newFakeStack(t)
	f.fail503.Store(2) // the first two event requests are retried
	gen, err := NewGenerator(smallConfig())
	require.NoError(t, err)
	var truth bytes.Buffer
	var progressCalls atomic.Int64
	stats, err := Run(context.Background(), gen, RunOptions{
		ProducerURL: f.srv.URL, ConsentURL: f.srv.URL, Token: "tok", Events: 400, Workers: 3, Batch: 20,
		Truth: &truth, Progress: func(Stats) { progressCalls.Add(1) },
	})
	require.NoError(t, err)
	assert.EqualValues(t, 400, stats.EventsSent)
	assert.EqualValues(t, 400, stats.EventsAccepted)
	assert.Zero(t, stats.EventsFailed)
	assert.NotZero(t, stats.ConsentsApplied)
	assert.Positive(t, stats.EventsPerSecond())
	assert.NotZero(t, progressCalls.Load())

	evs, cs, links := readTruthLinks(t, truth.Bytes())
	require.Len(t, evs, 400)
	// New identity links: observed, and nothing later of the tenant was sent
	// before the link showed.
	require.NotEmpty(t, links)
	for _, l := range links {
		require.True(t, l.Observed, "link %d", l.Seq)
		require.False(t, l.LinkedAt.Before(l.SentAt))
		for _, e := range evs {
			if e.TenantID == l.TenantID && e.Seq > l.Seq {
				assert.False(t, e.SentAt.Before(l.LinkedAt), "event %d sent before link %d showed", e.Seq, l.Seq)
			}
		}
		for _, c := range cs {
			if c.TenantID == l.TenantID && c.Seq > l.Seq {
				assert.False(t, c.SentAt.Before(l.LinkedAt), "consent %d sent before link %d showed", c.Seq, l.Seq)
			}
		}
	}
	require.Len(t, f.events, 400, "every event reached the producer once per id")
	require.EqualValues(t, len(cs), stats.ConsentsApplied)
	require.Len(t, f.consents, len(cs))
	path, body, _ := strings.Cut(f.consents[0], " ")
	assert.Regexp(t, `^/v1/tenants/tenant-\d{3}/users/[^/]+/consents/ai_training$`, path)
	assert.JSONEq(t, `{"status":"granted","source":"loadgen"}`, body)

	// The log holds the services' answers: every change's version and
	// effective time, every event's received_at.
	versions := map[string]bool{}
	for _, c := range cs {
		require.True(t, c.Applied)
		require.NotNil(t, c.EffectiveAt, "consent %d", c.Seq)
		assert.Equal(t, 2030, c.EffectiveAt.Year(), "the API's effective_at, not the client's clock")
		assert.Regexp(t, `^0:\d+$`, c.Version)
		assert.False(t, versions[c.Version])
		versions[c.Version] = true
		assert.Equal(t, 1, c.Attempts)
	}
	retried := 0
	for _, e := range evs {
		require.NotNil(t, e.ReceivedAt, "event %d", e.Seq)
		assert.Equal(t, 2030, e.ReceivedAt.Year(), "the producer's received_at")
		if e.Attempts > 1 {
			retried++
		}
	}
	assert.NotZero(t, retried, "the 503s were retried and the log says so")

	// Per tenant, actions happened in generation order: a consent change
	// completed before any later event of its tenant was sent, and an event was
	// answered before any later change was sent.
	byTenant := map[string][]ConsentTruth{}
	for _, c := range cs {
		byTenant[c.TenantID] = append(byTenant[c.TenantID], c)
	}
	for _, e := range evs {
		assert.True(t, e.Accepted)
		assert.Equal(t, f.gpc[e.EventID], e.GPC, "Sec-GPC sent as generated")
		for _, c := range byTenant[e.TenantID] {
			if c.Seq < e.Seq {
				assert.False(t, c.CompletedAt.After(e.SentAt), "consent %d completed before event %d was sent", c.Seq, e.Seq)
			} else {
				assert.False(t, e.AckedAt.After(c.SentAt), "event %d answered before consent %d was sent", e.Seq, c.Seq)
			}
		}
	}
}

func TestRunIsRateLimitedAndBoundedByTime(t *testing.T) {
	f := newFakeStack(t)
	cfg := smallConfig()
	cfg.InitialGrantShare = 0
	gen, err := NewGenerator(cfg)
	require.NoError(t, err)
	stats, err := Run(context.Background(), gen, RunOptions{ProducerURL: f.srv.URL, ConsentURL: f.srv.URL, Token: "tok", Events: 30, Rate: 100})
	require.NoError(t, err)
	assert.GreaterOrEqual(t, stats.Elapsed, 280*time.Millisecond, "30 events at 100/s")

	gen, _ = NewGenerator(cfg)
	start := time.Now()
	stats, err = Run(context.Background(), gen, RunOptions{ProducerURL: f.srv.URL, ConsentURL: f.srv.URL, Token: "tok",
		Events: 1_000_000, Rate: 200, MaxDuration: 300 * time.Millisecond})
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Less(t, stats.EventsSent, int64(100))
}

func TestRunAbortsOnSustainedErrors(t *testing.T) {
	f := newFakeStack(t)
	gen, err := NewGenerator(smallConfig())
	require.NoError(t, err)
	_, err = Run(context.Background(), gen, RunOptions{ProducerURL: f.srv.URL, ConsentURL: f.srv.URL, Token: "wrong",
		Events: 100000, Retries: -1, MaxConsecutiveErrors: 5})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrSustainedErrors), err)
	assert.True(t, strings.Contains(err.Error(), "in a row"))
}
