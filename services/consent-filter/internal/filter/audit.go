package filter

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
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
	return newRefs(auditKey, purpose).compute(s)
}

// refs computes the audit references of one purpose under one key with one
// HMAC state and buffer, each subject once: a batch's decisions need a
// reference per event, and its events share subjects.
type refs struct {
	purpose string
	key     []byte // the audit key m was made with
	m       hash.Hash
	buf     []byte
	sum     []byte
	done    map[identity.Subject]ref
}

// ref is an audit reference and its bytes (the decision's record key, shared
// by the subject's decisions in a batch: the writer only reads keys).
type ref struct {
	s string
	b []byte
}

func newRefs(auditKey []byte, purpose string) *refs {
	return &refs{purpose: purpose, key: bytes.Clone(auditKey), m: hmac.New(sha256.New, auditKey)}
}

func (r *refs) of(s identity.Subject) ref {
	if got, ok := r.done[s]; ok {
		return got
	}
	got := ref{s: r.compute(s)}
	got.b = []byte(got.s)
	if r.done == nil {
		r.done = make(map[identity.Subject]ref)
	}
	r.done[s] = got
	return got
}

func (r *refs) compute(s identity.Subject) string {
	msg := append(r.buf[:0], "consentflow/audit/v3\x00"...)
	for _, part := range [...]string{string(s.Kind), s.Tenant, s.ID, r.purpose} {
		msg = binary.AppendUvarint(msg, uint64(len(part)))
		msg = append(msg, part...)
	}
	r.buf = msg
	r.m.Reset()
	r.m.Write(msg)
	r.sum = r.m.Sum(r.sum[:0])
	var out [3 + 32]byte
	copy(out[:], "a3:")
	hex.Encode(out[3:], r.sum[:16])
	return string(out[:])
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
