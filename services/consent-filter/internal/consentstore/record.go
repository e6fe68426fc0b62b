package consentstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

// Record is what the store holds for one subject and purpose: the latest
// consent change (when Has) and the subjects linked to it.
type Record struct {
	// Status is decision.Granted or decision.Denied; empty when the subject
	// has links but no consent record.
	Status decision.Status
	// EffectiveAt is the consent API's server time of the change, to the ms.
	EffectiveAt time.Time
	// Partition and Offset are the change's position on consent.changes,
	// i.e. its version.
	Partition int
	Offset    int64
	// TenantID is the tenant given with the change; empty for tenant records
	// and when unknown.
	TenantID string
	// Links are the subjects linked to this one (identity stitching), stored
	// under the store's link purpose only.
	Links []SubjectRef
}

// Has reports whether the subject has a consent record (not only links).
func (r Record) Has() bool { return r.Status != "" }

// Version returns the record's version as "partition:offset".
func (r Record) Version() string {
	return strconv.Itoa(r.Partition) + ":" + strconv.FormatInt(r.Offset, 10)
}

// Decision returns the record in the shape decision.Input takes (a fresh
// pointer, so `in.User = rec.Decision()` is safe), nil without a consent
// record.
func (r Record) Decision() *decision.Record {
	if !r.Has() {
		return nil
	}
	return &decision.Record{Status: r.Status, EffectiveAt: r.EffectiveAt, Version: r.Version()}
}

// Change is one decoded record of consent.changes with its Kafka position:
// a consent change of Subject (Link nil), or an identity link (Link set).
type Change struct {
	// Subject is whose consent changed.
	Subject SubjectRef
	// Link, when set, makes this change an identity link; Subject, Purpose
	// and Status are then unused.
	Link *identity.Link
	// TenantID is the tenant given with the change.
	TenantID string
	Purpose  string
	Status   decision.Status
	// Imported changes win only over older effective times (an import never
	// rolls a subject back), not over lower offsets.
	Imported    bool
	EffectiveAt time.Time
	Partition   int
	Offset      int64
}

// Ref returns the change's subject.
func (c Change) Ref() SubjectRef { return c.Subject }

// Validate reports the first problem that would make the change unusable.
func (c Change) Validate() error {
	if c.Partition < 0 || c.Offset < 0 {
		return fmt.Errorf("position %d:%d: negative", c.Partition, c.Offset)
	}
	if c.Link != nil {
		if !c.Link.A.Valid() || !c.Link.B.Valid() || c.Link.A == c.Link.B {
			return fmt.Errorf("link %s|%s: invalid", c.Link.A, c.Link.B)
		}
		return nil
	}
	if err := validateRef(c.Subject); err != nil {
		return err
	}
	if err := validatePurpose(c.Purpose); err != nil {
		return err
	}
	if !c.Status.Valid() {
		return fmt.Errorf("status %q: want %s or %s", c.Status, decision.Granted, decision.Denied)
	}
	return nil
}

// recordFields are the hash fields Lookup reads, in parseRecord's order.
var recordFields = []string{"s", "at", "p", "o", "tn", "ln"}

func parseRecord(vals []any) (Record, bool, error) {
	if len(vals) != len(recordFields) {
		return Record{}, false, fmt.Errorf("corrupt record %q", vals)
	}
	str := func(i int) string { s, _ := vals[i].(string); return s }
	var rec Record
	if ln := str(5); ln != "" {
		for _, code := range strings.Split(ln, "\n") {
			s, err := identity.ParseCode(code)
			if err != nil {
				return Record{}, false, fmt.Errorf("corrupt links: %w", err)
			}
			rec.Links = append(rec.Links, s)
		}
	}
	if vals[0] == nil {
		return rec, len(rec.Links) > 0, nil
	}
	at, err1 := strconv.ParseInt(str(1), 10, 64)
	p, err2 := strconv.Atoi(str(2))
	o, err3 := strconv.ParseInt(str(3), 10, 64)
	st := decision.Status(str(0))
	if err1 != nil || err2 != nil || err3 != nil || !st.Valid() {
		return Record{}, false, fmt.Errorf("corrupt record %q", vals)
	}
	rec.Status, rec.EffectiveAt, rec.Partition, rec.Offset, rec.TenantID = st, time.UnixMilli(at).UTC(), p, o, str(4)
	return rec, true, nil
}
