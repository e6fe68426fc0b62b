package main

import "testing"

// The known answer shared by e2e/eventids_test.go, e2e/oracle_test.py and the
// anonymizer's keyring test: the benchmark matches curated records to raw
// events only if it derives the same id.
func TestCuratedEventIDKnownAnswer(t *testing.T) {
	got := curatedEventID("k1", []byte("0123456789abcdef0123456789abcdef"), "ai_training", "acme", "3f1c0d9e-0000-4000-8000-000000000001")
	if want := "k1:vi2ta3xbwq2yh5so363f6lfwqq"; got != want {
		t.Fatalf("curated event id %s, want %s", got, want)
	}
}
