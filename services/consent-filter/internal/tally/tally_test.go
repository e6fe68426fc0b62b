package tally

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Counts add up per tenant, purpose and reason, fall into the 7- and 30-day
// windows by the events' received_at, and name the users seen, per tenant.
func TestCountsByWindowAndTenant(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	tl := &Tally{RDB: rdb, Namespace: "cf"}
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	items := []Item{
		{Tenant: "acme", User: "u1", Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: now},
		{Tenant: "acme", User: "u1", Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: now.Add(-6 * 24 * time.Hour)},
		{Tenant: "acme", User: "u2", Purpose: "ai_training", Reason: "user_opt_out", ReceivedAt: now.Add(-10 * 24 * time.Hour)},
		{Tenant: "acme", User: "u3", Purpose: "ai_training", Reason: "no_consent", ReceivedAt: now.Add(-31 * 24 * time.Hour)}, // outside
		{Tenant: "globex", User: "g1", Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: now},
	}
	if err := tl.Add(ctx, items[:2]); err != nil {
		t.Fatal(err)
	}
	if err := tl.Add(ctx, items[2:]); err != nil {
		t.Fatal(err)
	}
	counts, users, err := tl.Read(ctx, "acme", now)
	if err != nil {
		t.Fatal(err)
	}
	want := []Counts{{"ai_training", "allowed_consent", 2, 2}, {"ai_training", "user_opt_out", 0, 1}}
	if len(counts) != len(want) {
		t.Fatalf("counts %+v", counts)
	}
	for i := range want {
		if counts[i] != want[i] {
			t.Fatalf("counts %+v, want %+v", counts, want)
		}
	}
	if len(users) != 2 || users[0] != "u1" || users[1] != "u2" {
		t.Fatalf("users %v", users)
	}
	// A failing Redis does not panic or block: Record swallows and counts it.
	mr.Close()
	tl.Record(ctx, items)
}

// TestOneBatchOverTwoDays: a batch whose events alternate between two days
// and repeat users counts each day's events and users under that day's keys.
func TestOneBatchOverTwoDays(t *testing.T) {
	mr := miniredis.RunT(t)
	tl := &Tally{RDB: redis.NewClient(&redis.Options{Addr: mr.Addr()}), Namespace: "cf"}
	d1 := time.Date(2026, 11, 29, 23, 59, 0, 0, time.UTC)
	d2 := time.Date(2026, 11, 30, 0, 1, 0, 0, time.UTC)
	it := func(user string, at time.Time) Item {
		return Item{Tenant: "acme", User: user, Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: at}
	}
	if err := tl.Add(context.Background(), []Item{it("u1", d1), it("u1", d2), it("u1", d1), it("u2", d1), it("u1", d2), it("", d2)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		day    string
		events string
		users  []string
	}{{"2026-11-29", "3", []string{"u1", "u2"}}, {"2026-11-30", "3", []string{"u1"}}} {
		got := mr.HGet("cf:tally:{acme}:"+c.day+":events", "ai_training|allowed_consent")
		if got != c.events {
			t.Errorf("%s: %s events, want %s", c.day, got, c.events)
		}
		members, err := mr.Members("cf:tally:{acme}:" + c.day + ":users")
		if err != nil || !slices.Equal(members, c.users) {
			t.Errorf("%s: users %v (%v), want %v", c.day, members, err, c.users)
		}
	}
}
