package filter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/consentflow/consentflow/pkg/identity"
)

// SubjectRef returns the audit reference of a consent subject: an HMAC-SHA256
// under the consent-filter's audit key (not the dataset keys), so that the audit
// trail can be joined per subject by whoever holds the key and by nobody else.
// The message is the subject's kind, tenant (empty for a global id) and id,
// length-prefixed: user 7 of two tenants, and user 7 and anonymous id 7, have
// different references. "a2:" marks this form ("a1:" references hashed the id
// alone).
func SubjectRef(auditKey []byte, s identity.Subject) string {
	m := hmac.New(sha256.New, auditKey)
	msg := []byte("consentflow/audit/v2\x00")
	for _, part := range []string{string(s.Kind), s.Tenant, s.ID} {
		msg = binary.AppendUvarint(msg, uint64(len(part)))
		msg = append(msg, part...)
	}
	m.Write(msg)
	return "a2:" + hex.EncodeToString(m.Sum(nil)[:16])
}
