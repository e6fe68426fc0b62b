package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/consentflow/consentflow/pkg/identity"
	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/segmentio/kafka-go"
)

// Erasure reasons.
const (
	ReasonUserOptOut   = "user_opt_out"
	ReasonTenantOptOut = "tenant_opt_out"
	// ReasonLinkedOptOut: a subject linked to this one (identity stitching)
	// denied, or this one was linked to a denying subject (an ERASE record
	// derived by the consent-filter's materializer).
	ReasonLinkedOptOut = "linked_opt_out"
)

// ErasureFor returns the erasure a consent.changes record calls for, if any:
//   - a DENIED of a user or anonymous id for purpose erases the subject's rows
//     (scope SUBJECT): its pseudonyms under every key of the keyring, with the
//     tenant in the MAC input when the id is tenant-scoped, plus the
//     pseudonyms rows had before subjects had kinds and tenants (the id alone,
//     user kind), which only rows written before that upgrade carry;
//   - a DENIED of a tenant erases the tenant's rows (scope TENANT);
//   - an ERASE record for purpose erases its subject's rows (scope SUBJECT,
//     reason linked_opt_out) with the trigger's version, so rows decided on
//     consent state that included the trigger are kept;
//   - a legacy DENIED (no scope) erases the id's pre-upgrade pseudonyms, and
//     with a tenant also that tenant's user and anonymous id.
//
// version is the change's "partition:offset". GRANTED and LINKED records and
// other purposes call for none.
func ErasureFor(c schema.ConsentChange, version, purpose string, kr *keyring.Keyring) (schema.Erasure, bool) {
	if c.Purpose != purpose || c.SubjectID == "" {
		return schema.Erasure{}, false
	}
	e := schema.Erasure{Purpose: purpose, EffectiveAt: c.EffectiveAt, ConsentVersion: version, Scope: schema.ScopeSubject}
	switch c.Status {
	case schema.StatusErase:
		s, trigger, err := identity.EraseOf(&c)
		if err != nil {
			return schema.Erasure{}, false
		}
		e.Reason, e.ConsentVersion = ReasonLinkedOptOut, trigger
		e.Pseudonyms = subjectPseudonyms(kr, purpose, s)
		return e, true
	case schema.StatusDenied:
	default:
		return schema.Erasure{}, false
	}
	subjects, err := identity.Applies(&c)
	if err != nil {
		return schema.Erasure{}, false
	}
	for _, s := range subjects {
		switch s.Kind {
		case identity.Tenant:
			e.Scope, e.Reason = schema.ScopeTenant, ReasonTenantOptOut
			e.Pseudonyms = kr.Pseudonyms(keyring.Tenant, purpose, s.ID)
		default:
			e.Reason = ReasonUserOptOut
			e.Pseudonyms = appendNew(e.Pseudonyms, subjectPseudonyms(kr, purpose, s)...)
		}
	}
	return e, len(e.Pseudonyms) > 0
}

// subjectPseudonyms are every name rows of s may carry: its pseudonym under
// every key, and the one of before subjects had kinds and tenants.
func subjectPseudonyms(kr *keyring.Keyring, purpose string, s identity.Subject) []string {
	var out []string
	switch s.Kind {
	case identity.User:
		out = kr.PseudonymsIn(keyring.User, purpose, s.Tenant, s.ID)
	case identity.Anonymous:
		out = kr.PseudonymsIn(keyring.Anonymous, purpose, s.Tenant, s.ID)
	}
	return appendNew(out, kr.Pseudonyms(keyring.User, purpose, s.ID)...)
}

func appendNew(dst []string, vs ...string) []string {
	for _, v := range vs {
		if !slices.Contains(dst, v) {
			dst = append(dst, v)
		}
	}
	return dst
}

// Erasures turns batches of consent.changes into dataset.erasures records.
type Erasures struct {
	Decoder stream.Decoder[schema.ConsentChange]
	Encoder Encoder[schema.Erasure]
	Keyring *keyring.Keyring
	Purpose string
	// ErasuresTopic is where outputs go.
	ErasuresTopic string
	// Keys, when set, has the data keys of every erased pseudonym replaced by
	// a tombstone before the erasure is written (and so before the change's
	// offset is committed): the subject's records already on events.curated
	// become unreadable. Unreachable, the batch is held and retried.
	Keys    *shred.Store
	Metrics *Metrics
}

// Handle is a stream.Handler: an erasure per DENIED change of the purpose, keyed
// by the subject's active pseudonym, after the pseudonyms' data keys are
// shredded; nothing for other changes and tombstones; a record that does not
// decode is reported in a stream.BatchError.
func (h *Erasures) Handle(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
	var out []kafka.Message
	var scopes []string
	var failed stream.BatchError
	changes := stream.DecodeEach(ctx, batch, h.Decoder, &failed, stream.Tombstone)
	for i, m := range batch {
		c := changes[i]
		if c == nil {
			continue // a tombstone, or reported
		}
		version := strconv.Itoa(m.Partition) + ":" + strconv.FormatInt(m.Offset, 10)
		e, ok := ErasureFor(*c, version, h.Purpose, h.Keyring)
		if !ok {
			continue
		}
		if h.Keys != nil {
			if err := h.Keys.Erase(ctx, e.Scope, e.Pseudonyms, e.ConsentVersion); err != nil {
				return nil, stream.Transient(fmt.Errorf("shred the data keys of an erasure: %w", err))
			}
		}
		b, err := h.Encoder.Encode(&e)
		if err != nil {
			failed.Add(i, "encode", fmt.Errorf("encode Erasure: %w", err))
			continue
		}
		out = append(out, kafka.Message{Topic: h.ErasuresTopic, Key: []byte(e.Pseudonyms[0]), Value: b})
		scopes = append(scopes, e.Scope)
	}
	if _, retry := failed.Transient(); !retry {
		for _, s := range scopes {
			h.Metrics.Erasures.WithLabelValues(s).Inc()
		}
	}
	return out, failed.Err()
}
