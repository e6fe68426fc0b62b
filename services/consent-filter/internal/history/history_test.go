package history

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/identity"
)

// Entries come back newest first, per subject, a replay adds nothing, and only
// the newest Keep stay.
func TestHistoryPerSubjectNewestFirst(t *testing.T) {
	mr := miniredis.RunT(t)
	h := &History{RDB: redis.NewClient(&redis.Options{Addr: mr.Addr()}), Namespace: "cf", Keep: 3}
	ctx := context.Background()
	ada := identity.Subject{Kind: identity.User, Tenant: "acme", ID: "ada"}
	bob := identity.Subject{Kind: identity.User, Tenant: "acme", ID: "bob"}
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	var items []Item
	for i, st := range []string{"GRANTED", "DENIED", "GRANTED", "DENIED"} {
		items = append(items, Item{Subject: ada, Entry: Entry{Purpose: "ai_training", Status: st, EffectiveAt: t0.Add(time.Duration(i) * time.Minute), Version: "0:" + string(rune('0'+i))}})
	}
	items = append(items, Item{Subject: bob, Entry: Entry{Purpose: "ai_training", Status: "DENIED", EffectiveAt: t0, Version: "1:0"}})
	for range 2 { // a replay
		if err := h.Add(ctx, items); err != nil {
			t.Fatal(err)
		}
	}
	got, err := h.Read(ctx, ada)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Version != "0:3" || got[1].Version != "0:2" || got[2].Version != "0:1" {
		t.Fatalf("ada's history %+v", got)
	}
	if got, _ := h.Read(ctx, bob); len(got) != 1 || got[0].Status != "DENIED" {
		t.Fatalf("bob's history %+v", got)
	}
}
