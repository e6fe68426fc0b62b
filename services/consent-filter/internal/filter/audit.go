package filter

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// SubjectRef returns the audit reference of a consent subject: an HMAC-SHA256
// under the consent-filter's audit key (not the dataset keys), so that the audit
// trail can be joined per subject by whoever holds the key and by nobody else.
func SubjectRef(auditKey []byte, subjectID string) string {
	m := hmac.New(sha256.New, auditKey)
	m.Write([]byte("consentflow/audit/v1\x00"))
	m.Write([]byte(subjectID))
	return "a1:" + hex.EncodeToString(m.Sum(nil)[:16])
}
