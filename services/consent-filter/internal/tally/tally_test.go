package tally

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
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
		{Tenant: "acme", User: "u1", Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: now, Offset: 1},
		{Tenant: "acme", User: "u1", Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: now.Add(-6 * 24 * time.Hour), Offset: 2},
		{Tenant: "acme", User: "u2", Purpose: "ai_training", Reason: "user_opt_out", ReceivedAt: now.Add(-10 * 24 * time.Hour), Offset: 3},
		{Tenant: "acme", User: "u3", Purpose: "ai_training", Reason: "no_consent", ReceivedAt: now.Add(-31 * 24 * time.Hour), Offset: 4}, // outside
		{Tenant: "globex", User: "g1", Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: now, Offset: 5},
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
	offset := int64(0)
	it := func(user string, at time.Time) Item {
		offset++
		return Item{Tenant: "acme", User: user, Purpose: "ai_training", Reason: "allowed_consent", ReceivedAt: at, Offset: offset}
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

// TestEachPositionCountsOnce: an event is counted once however often its
// record is handed over — a batch redelivered whole or in part (a restart,
// a rebalance, another filter member behind this one), an add repeated after
// an unclear failure — per tenant and partition; the same offset on another
// partition is another record. The expected counts are the distinct
// positions, written out here.
func TestEachPositionCountsOnce(t *testing.T) {
	mr := miniredis.RunT(t)
	tl := &Tally{RDB: redis.NewClient(&redis.Options{Addr: mr.Addr()}), Namespace: "cf"}
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	ev := func(tenant, user, reason string, part int, off int64) Item {
		return Item{Tenant: tenant, User: user, Purpose: "ai_training", Reason: reason, ReceivedAt: now, Partition: part, Offset: off}
	}
	batch := func(part int, from, to int64) []Item { // acme's allowed events, and globex's on odd offsets
		var items []Item
		for off := from; off <= to; off++ {
			items = append(items, ev("acme", fmt.Sprintf("u%d", off), "allowed_consent", part, off))
			if off%2 == 1 {
				items = append(items, ev("globex", "g1", "user_opt_out", part, off))
			}
		}
		return items
	}
	adds := [][]Item{
		batch(0, 10, 19), // p0 10..19
		batch(0, 10, 19), // redelivered whole
		batch(0, 15, 24), // redelivered in part: 20..24 are new
		batch(0, 12, 13), // a member behind, handing over old records
		batch(1, 10, 14), // the same offsets on partition 1 are other records
		batch(1, 10, 14), // repeated after an unclear failure
	}
	for _, items := range adds {
		require.NoError(t, tl.Add(ctx, items))
	}
	// acme: p0 10..24 (15 events), p1 10..14 (5); globex: odd offsets of
	// those, p0 11..23 (7) and p1 11, 13 (2).
	counts, users, err := tl.Read(ctx, "acme", now)
	require.NoError(t, err)
	require.Equal(t, []Counts{{"ai_training", "allowed_consent", 20, 20}}, counts)
	require.Len(t, users, 15, "u10..u24")
	counts, _, err = tl.Read(ctx, "globex", now)
	require.NoError(t, err)
	require.Equal(t, []Counts{{"ai_training", "user_opt_out", 9, 9}}, counts)

	// A Redis that lost its scripts (restarted, failed over) is given them
	// again (this add needs both: offset 14 was counted, 15 is new).
	require.NoError(t, tl.RDB.ScriptFlush(ctx).Err())
	require.NoError(t, tl.Add(ctx, batch(1, 14, 15)))
	counts, _, err = tl.Read(ctx, "acme", now)
	require.NoError(t, err)
	require.Equal(t, []Counts{{"ai_training", "allowed_consent", 21, 21}}, counts)
}

// TestPurposesAndReasonsOfOneDayCountApart: one tenant's events of one day
// and partition, mixing purposes and reasons in one add (and a redelivery of
// part of them with new ones), count under their own purpose and reason.
func TestPurposesAndReasonsOfOneDayCountApart(t *testing.T) {
	mr := miniredis.RunT(t)
	tl := &Tally{RDB: redis.NewClient(&redis.Options{Addr: mr.Addr()}), Namespace: "cf"}
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	kinds := [][2]string{{"ai_training", "allowed_consent"}, {"ai_training", "user_opt_out"}, {"analytics", "allowed_consent"},
		{"ai_training", "allowed_consent"}, {"analytics", "no_consent"}, {"ai_training", "allowed_consent"}}
	items := func(from, to int64) []Item {
		var out []Item
		for off := from; off <= to; off++ {
			k := kinds[off%int64(len(kinds))]
			out = append(out, Item{Tenant: "acme", User: "u1", Purpose: k[0], Reason: k[1], ReceivedAt: now, Offset: off})
		}
		return out
	}
	require.NoError(t, tl.Add(ctx, items(0, 11))) // offsets 0..11: each kind twice
	require.NoError(t, tl.Add(ctx, items(6, 17))) // 6..11 again, 12..17 new
	counts, _, err := tl.Read(ctx, "acme", now)
	require.NoError(t, err)
	// offsets 0..17, kind = offset mod 6: allowed_consent for ai_training at
	// 0, 3, 5 of every six (9), user_opt_out at 1 (3), analytics at 2 (3) and 4 (3).
	require.Equal(t, []Counts{
		{"ai_training", "allowed_consent", 9, 9}, {"ai_training", "user_opt_out", 3, 3},
		{"analytics", "allowed_consent", 3, 3}, {"analytics", "no_consent", 3, 3},
	}, counts)
}
