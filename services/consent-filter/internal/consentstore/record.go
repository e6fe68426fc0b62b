package consentstore

import (
	"fmt"
	"strconv"
	"time"

	"github.com/consentflow/consentflow/services/consent-filter/decision"
)

// Record is the latest consent change stored for one subject and purpose.
type Record struct {
	// Status is decision.Granted or decision.Denied.
	Status decision.Status
	// EffectiveAt is the consent API's server time of the change, to the ms.
	EffectiveAt time.Time
	// Partition and Offset are the change's position on consent.changes,
	// i.e. its version.
	Partition int
	Offset    int64
	// TenantID is the user's tenant as given with the change; empty for
	// tenant records and when unknown.
	TenantID string
}

// Version returns the record's version as "partition:offset".
func (r Record) Version() string {
	return strconv.Itoa(r.Partition) + ":" + strconv.FormatInt(r.Offset, 10)
}

// Decision returns the record in the shape decision.Input takes (a fresh
// pointer, so `in.User = rec.Decision()` is safe).
func (r Record) Decision() *decision.Record {
	return &decision.Record{Status: r.Status, EffectiveAt: r.EffectiveAt, Version: r.Version()}
}

// Change is one decoded record of consent.changes with its Kafka position.
type Change struct {
	SubjectType SubjectType
	SubjectID   string
	// TenantID is the user's tenant when the change carries it.
	TenantID    string
	Purpose     string
	Status      decision.Status
	EffectiveAt time.Time
	Partition   int
	Offset      int64
}

// Ref returns the change's subject.
func (c Change) Ref() SubjectRef { return SubjectRef{Type: c.SubjectType, ID: c.SubjectID} }

// Validate reports the first problem that would make the change unusable.
func (c Change) Validate() error {
	if err := c.Ref().validate(); err != nil {
		return err
	}
	if err := validatePurpose(c.Purpose); err != nil {
		return err
	}
	if !c.Status.Valid() {
		return fmt.Errorf("status %q: want %s or %s", c.Status, decision.Granted, decision.Denied)
	}
	if c.Partition < 0 || c.Offset < 0 {
		return fmt.Errorf("position %d:%d: negative", c.Partition, c.Offset)
	}
	return nil
}

func parseRecord(vals []any) (Record, bool, error) {
	// vals: s, at, p, o, tn
	if len(vals) != 5 || vals[0] == nil {
		return Record{}, false, nil
	}
	str := func(i int) string { s, _ := vals[i].(string); return s }
	at, err1 := strconv.ParseInt(str(1), 10, 64)
	p, err2 := strconv.Atoi(str(2))
	o, err3 := strconv.ParseInt(str(3), 10, 64)
	st := decision.Status(str(0))
	if err1 != nil || err2 != nil || err3 != nil || !st.Valid() {
		return Record{}, false, fmt.Errorf("corrupt record %q", vals)
	}
	return Record{Status: st, EffectiveAt: time.UnixMilli(at).UTC(), Partition: p, Offset: o, TenantID: str(4)}, true, nil
}
