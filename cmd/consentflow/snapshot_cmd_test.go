package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSnapshotCommandUsageAndErrors(t *testing.T) {
	var out, errb bytes.Buffer
	if err := snapshotCommand(nil, nil, &out, &errb); err == nil || !strings.Contains(errb.String(), "usage") {
		t.Fatalf("no subcommand: %v", err)
	}
	if err := snapshotCommand([]string{"pull", "ai_training"}, nil, &out, &errb); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("pull without --out: %v", err)
	}
	if err := snapshotCommand([]string{"frob"}, nil, &out, &errb); err == nil {
		t.Fatal("unknown subcommand accepted")
	}
}

func TestSnapshotListAndAuthError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"missing or invalid bearer token"}`))
			return
		}
		switch r.URL.Path {
		case "/v1/datasets":
			w.Write([]byte(`[{"name":"ai_training","snapshots":1}]`))
		case "/v1/datasets/ai_training/snapshots":
			w.Write([]byte(`[{"id":"20251128T120000.000Z-abcdef","created_at":"2025-11-28T12:00:00Z","expires_at":"2025-12-28T12:00:00Z","totals":{"files":2,"rows":42,"bytes":1000},"policy_version":"p1","erasure_ledger_position":3}]`))
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	var out, errb bytes.Buffer
	if err := snapshotCommand([]string{"list", "--url", srv.URL, "--token", "tok"}, nil, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "20251128T120000.000Z-abcdef") || !strings.Contains(out.String(), "42") {
		t.Fatalf("list output:\n%s", out.String())
	}
	err := snapshotCommand([]string{"pull", "ai_training", "latest", "--out", t.TempDir(), "--url", srv.URL}, nil, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("pull without token: %v", err)
	}
}
