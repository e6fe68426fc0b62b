package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadgenCommandSendsAndWritesTruth(t *testing.T) {
	var events, consents atomic.Int64
	var mu sync.Mutex
	links := map[string]string{} // escaped /tenant/user path → anonymous id
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			var body struct {
				Events []struct {
					EventType   string `json:"event_type"`
					TenantID    string `json:"tenant_id"`
					UserID      string `json:"user_id"`
					AnonymousID string `json:"anonymous_id"`
				}
			}
			require.NoError(t, json.NewDecoder(r.Body).Decode(&body))
			events.Add(int64(len(body.Events)))
			mu.Lock()
			for _, e := range body.Events {
				if e.EventType == "identify" {
					links["/v1/tenants/"+url.PathEscape(e.TenantID)+"/users/"+url.PathEscape(e.UserID)+"/consents"] = e.AnonymousID
				}
			}
			mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		case http.MethodPut:
			consents.Add(1)
			w.WriteHeader(http.StatusOK)
		case http.MethodGet: // the runner waits for new identity links to show
			mu.Lock()
			anon := links[r.URL.EscapedPath()]
			mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]any{"linked": []map[string]string{{"subject_type": "anonymous", "subject_id": anon}}})
		}
	}))
	defer srv.Close()
	truth := filepath.Join(t.TempDir(), "truth.jsonl")
	var stdout, stderr bytes.Buffer
	err := loadgenCommand([]string{"--producer", srv.URL, "--consent", srv.URL, "--token", "t", "--events", "200",
		"--seed", "7", "--log", truth, "--workers", "2", "--tenants", "3", "--users-per-tenant", "4",
		"--pii-rates", "all=0.3,ssn=1", "--json"}, nil, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	assert.EqualValues(t, 200, events.Load())

	var out struct {
		EventsAccepted  int64   `json:"events_accepted"`
		EventsPerSecond float64 `json:"events_per_second"`
	}
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &out))
	assert.EqualValues(t, 200, out.EventsAccepted)
	assert.Positive(t, out.EventsPerSecond)

	f, err := os.Open(truth)
	require.NoError(t, err)
	defer f.Close()
	kinds := map[string]int64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct{ Kind string }
		require.NoError(t, json.Unmarshal(sc.Bytes(), &line))
		kinds[line.Kind]++
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int64{"event": 200, "consent": consents.Load(), "link": int64(len(links))}, kinds)
}

func TestLoadgenCommandFailsOnSustainedErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	err := loadgenCommand([]string{"--producer", srv.URL, "--consent", srv.URL, "--token", "bad", "--events", "100000",
		"--max-errors", "3", "--no-progress"}, nil, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sustained request errors")
	assert.Contains(t, stdout.String(), "events/s")
}

func TestLoadgenCommandFlagErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Error(t, loadgenCommand([]string{"--events", "1"}, nil, &out, &errOut), "token required")
	assert.Error(t, loadgenCommand([]string{"--token", "t", "--pii-rates", "bogus=1"}, nil, &out, &errOut))
	assert.Error(t, loadgenCommand([]string{"--token", "t", "--withdraw-rate", "2"}, nil, &out, &errOut))
}
