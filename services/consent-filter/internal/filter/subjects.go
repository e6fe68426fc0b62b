package filter

import (
	"errors"
	"fmt"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
	"github.com/consentflow/consentflow/services/consent-filter/internal/consentstore"
)

// eventSubjects are the identities one event carries.
type eventSubjects struct {
	// primary is the event's subject: its user id, or its anonymous id.
	primary identity.Subject
	// carried are its other ids: the anonymous id of an event that also has
	// a user id, an alias's previous id (as an anonymous and a user id).
	carried []identity.Subject
	// links are the identity links the event establishes.
	links []identity.Link
	// ids[:nids] are the raw ids the event carries, for legacy records (an
	// array: no allocation per event).
	ids  [3]string
	nids int
}

// rawIDs returns the raw ids the event carries, each once.
func (es *eventSubjects) rawIDs() []string { return es.ids[:es.nids] }

// subjectsOf names the event's subjects under the policy's identity modes and
// checks every id against the identifier rule (an event that fails it, from a
// writer other than the producer, goes to the DLQ).
func subjectsOf(m identity.Modes, ev *schema.InteractionEvent) (eventSubjects, error) {
	var es eventSubjects
	for _, f := range []struct{ name, v string }{
		{"tenant_id", ev.TenantID}, {"user_id", ev.UserID}, {"anonymous_id", ev.AnonymousID}, {"previous_id", ev.PreviousID},
	} {
		if f.v == "" {
			continue
		}
		if err := identity.CheckField(f.name, f.v); err != nil {
			return es, err
		}
	}
	if ev.TenantID == "" {
		return es, errors.New("tenant_id: required")
	}
	ids := identity.EventIDs{Tenant: ev.TenantID, UserID: ev.UserID, AnonymousID: ev.AnonymousID, PreviousID: ev.PreviousID}
	p, ok := m.Primary(ids)
	if !ok {
		return es, errors.New("user_id or anonymous_id: required")
	}
	es.primary = p
	es.links = m.Links(ids)
	for _, l := range es.links {
		other := l.B
		if other == p {
			other = l.A
		}
		es.carried = append(es.carried, other)
	}
	for _, id := range [...]string{ev.UserID, ev.AnonymousID, ev.PreviousID} {
		if id != "" && !contains(es.rawIDs(), id) {
			es.ids[es.nids] = id
			es.nids++
		}
	}
	return es, nil
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// linkedOf returns the subjects linked to the event beyond its primary: its
// carried ids, the primary's stored links and the links other events of the
// batch establish for it (a link applies to the whole batch that carries
// it), without duplicates, primary excluded.
func linkedOf(es eventSubjects, stored []identity.Subject, inBatch map[identity.Subject][]identity.Subject) []identity.Subject {
	var out []identity.Subject
	add := func(s identity.Subject) {
		if s != es.primary && !contains(out, s) {
			out = append(out, s)
		}
	}
	for _, s := range es.carried {
		add(s)
	}
	for _, s := range stored {
		add(s)
	}
	for _, s := range inBatch[es.primary] {
		add(s)
	}
	return out
}

// decisionInput assembles what the decision needs from the records found:
// the primary's own record, the linked subjects' records, and legacy
// (tenant-less, pre-identity) records of the event's ids where they are newer
// than the subject's own record of that id (a legacy record is the id's state
// in every tenant until a newer choice is made in this one). maxLinks bounds
// the linked subjects consulted; beyond it the input says TooManyLinks.
//
// memo, when not nil, keeps the decision records made for subjects across the
// events of a batch (Decide only reads them).
func decisionInput(es eventSubjects, linked []identity.Subject, recs map[identity.Subject]consentstore.Record, legacy bool, maxLinks int, memo recordMemo) (user *decision.Record, others []*decision.Record, tooMany bool) {
	if r, ok := recs[es.primary]; ok {
		user = memo.of(es.primary, r)
	}
	if len(linked) > maxLinks {
		return user, nil, true
	}
	for _, s := range linked {
		if r, ok := recs[s]; ok && r.Has() {
			others = append(others, memo.of(s, r))
		}
	}
	if legacy {
		own := map[string][]identity.Subject{}
		for _, s := range append([]identity.Subject{es.primary}, es.carried...) {
			own[s.ID] = append(own[s.ID], s)
		}
		for _, id := range es.rawIDs() {
			lr, ok := recs[identity.LegacyOf(id)]
			if !ok || !lr.Has() {
				continue
			}
			newer := true
			for _, s := range own[id] {
				if r, ok := recs[s]; ok && r.Has() && !lr.EffectiveAt.After(r.EffectiveAt) {
					newer = false
				}
			}
			if newer {
				others = append(others, memo.of(identity.LegacyOf(id), lr))
			}
		}
	}
	return user, others, false
}

// recordMemo maps subjects to the decision records made of their consent
// records within one batch (nil: none kept).
type recordMemo map[identity.Subject]*decision.Record

// of returns r as a decision record, s's from the memo if it was made before.
func (m recordMemo) of(s identity.Subject, r consentstore.Record) *decision.Record {
	if m == nil {
		return r.Decision()
	}
	if d, ok := m[s]; ok {
		return d
	}
	d := r.Decision()
	m[s] = d
	return d
}

// storedLink reports whether the store already holds link l (in either
// side's record).
func storedLink(l identity.Link, recs map[identity.Subject]consentstore.Record) bool {
	return contains(recs[l.A].Links, l.B) || contains(recs[l.B].Links, l.A)
}

// errInvalidEvent wraps events the filter cannot decide (DLQ).
var errInvalidEvent = errors.New("invalid event")

func invalid(err error) error { return fmt.Errorf("%w: %v", errInvalidEvent, err) }
