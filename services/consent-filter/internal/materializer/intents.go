package materializer

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
)

// Intent asks the anonymizer to erase Subject's rows for the purpose,
// because of the change at Trigger ("p:o"): rows decided on consent state
// that did not include Trigger are covered.
type Intent struct {
	Subject identity.Subject
	Trigger string
	At      time.Time
}

// erasureIntents walks a batch of changes in order over the stored state of
// their subjects (records of purpose with their links) and returns the
// erasures identity stitching calls for, beyond the subject's own (which the
// anonymizer derives from the DENIED record itself):
//
//   - a DENIED of subject S for purpose: every subject linked to S;
//   - a link of A and B: B when A is DENIED for purpose at that point, A
//     when B is.
//
// It is pure: the same batch and state give the same intents. state must
// hold every subject the batch names (absent = no record, no links).
func erasureIntents(purpose string, batch []consentstore.Change, state map[identity.Subject]consentstore.Record) []Intent {
	type rec struct {
		status    decision.Status
		at        time.Time
		partition int
		offset    int64
		has       bool
	}
	recs := map[identity.Subject]rec{}
	links := map[identity.Subject]map[identity.Subject]bool{}
	load := func(s identity.Subject) {
		if _, ok := recs[s]; ok {
			return
		}
		r := state[s]
		recs[s] = rec{status: r.Status, at: r.EffectiveAt, partition: r.Partition, offset: r.Offset, has: r.Has()}
		set := map[identity.Subject]bool{}
		for _, l := range r.Links {
			set[l] = true
		}
		links[s] = set
	}
	var out []Intent
	seen := map[Intent]bool{}
	emit := func(s identity.Subject, trigger string, at time.Time) {
		in := Intent{Subject: s, Trigger: trigger, At: at.UTC()}
		if !seen[in] {
			seen[in] = true
			out = append(out, in)
		}
	}
	version := func(c consentstore.Change) string {
		return strconv.Itoa(c.Partition) + ":" + strconv.FormatInt(c.Offset, 10)
	}
	for _, c := range batch {
		if c.Link != nil {
			a, b := c.Link.A, c.Link.B
			load(a)
			load(b)
			if recs[a].has && recs[a].status != decision.Granted {
				emit(b, version(c), c.EffectiveAt)
			}
			if recs[b].has && recs[b].status != decision.Granted {
				emit(a, version(c), c.EffectiveAt)
			}
			links[a][b], links[b][a] = true, true
			continue
		}
		if c.Purpose != purpose || c.Subject.Kind == identity.Tenant || c.Subject.Kind == identity.Legacy {
			continue
		}
		load(c.Subject)
		cur := recs[c.Subject]
		if !wins(cur.has, cur.partition, cur.offset, cur.at, c) {
			continue
		}
		recs[c.Subject] = rec{status: c.Status, at: c.EffectiveAt, partition: c.Partition, offset: c.Offset, has: true}
		if c.Status == decision.Denied {
			linked := make([]identity.Subject, 0, len(links[c.Subject]))
			for l := range links[c.Subject] {
				linked = append(linked, l)
			}
			slices.SortFunc(linked, func(x, y identity.Subject) int { return strings.Compare(x.Code(), y.Code()) })
			for _, l := range linked {
				emit(l, version(c), c.EffectiveAt)
			}
		}
	}
	return out
}

// wins is the store's version rule (consentstore's apply script): whether c
// replaces the stored record.
func wins(has bool, partition int, offset int64, at time.Time, c consentstore.Change) bool {
	switch {
	case !has:
		return true
	case c.Imported:
		return c.EffectiveAt.UnixMilli() > at.UnixMilli()
	case c.Partition == partition:
		return c.Offset > offset
	case c.EffectiveAt.UnixMilli() != at.UnixMilli():
		return c.EffectiveAt.UnixMilli() > at.UnixMilli()
	}
	return c.Partition > partition
}
