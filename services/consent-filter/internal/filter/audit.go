package filter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/consentflow/consentflow/pkg/identity"
)

// SubjectRef returns the audit reference of a consent subject for a purpose:
// an HMAC-SHA256 under the consent-filter's audit key (not the dataset keys),
// so that the audit trail can be joined per subject by whoever holds the key
// and by nobody else. The message is the subject's kind, tenant (empty for a
// global id), id and the purpose, length-prefixed: user 7 of two tenants, user
// 7 and anonymous id 7, and one subject's decisions for two purposes have
// different references, so the audit trails of two purposes cannot be joined
// on it either. "a3:" marks this form ("a2:" references left the purpose out,
// "a1:" hashed the id alone).
func SubjectRef(auditKey []byte, purpose string, s identity.Subject) string {
	m := hmac.New(sha256.New, auditKey)
	msg := []byte("consentflow/audit/v3\x00")
	for _, part := range []string{string(s.Kind), s.Tenant, s.ID, purpose} {
		msg = binary.AppendUvarint(msg, uint64(len(part)))
		msg = append(msg, part...)
	}
	m.Write(msg)
	return "a3:" + hex.EncodeToString(m.Sum(nil)[:16])
}

// Coarsen truncates t to a multiple of g since the Unix epoch, in UTC (a
// zero g means an hour). The audit trail keeps only such times: an exact
// receive time would let anyone who joins a decision to a dataset row undo the
// row's coarsening.
func Coarsen(t time.Time, g time.Duration) time.Time {
	if g <= 0 {
		g = time.Hour
	}
	ms, step := t.UnixMilli(), g.Milliseconds()
	r := ms % step
	if r < 0 {
		r += step
	}
	return time.UnixMilli(ms - r).UTC()
}
