package pipeline

import (
	"context"
	"fmt"
	"strconv"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
	"github.com/segmentio/kafka-go"
)

// Erasure reasons.
const (
	ReasonUserOptOut   = "user_opt_out"
	ReasonTenantOptOut = "tenant_opt_out"
)

// ErasureFor returns the erasure a consent change calls for, if any: a DENIED
// change for purpose erases the user's rows (scope SUBJECT, the user's pseudonyms)
// or the tenant's rows (scope TENANT, the tenant's pseudonyms), under every key of
// the keyring. version is the change's "partition:offset". GRANTED changes and
// other purposes call for none.
func ErasureFor(c schema.ConsentChange, version, purpose string, kr *keyring.Keyring) (schema.Erasure, bool) {
	if c.Status != schema.StatusDenied || c.Purpose != purpose || c.SubjectID == "" {
		return schema.Erasure{}, false
	}
	e := schema.Erasure{Purpose: purpose, EffectiveAt: c.EffectiveAt, ConsentVersion: version}
	switch c.SubjectType {
	case schema.SubjectUser:
		e.Scope, e.Reason = schema.ScopeSubject, ReasonUserOptOut
		e.Pseudonyms = kr.Pseudonyms(keyring.User, purpose, c.SubjectID)
	case schema.SubjectTenant:
		e.Scope, e.Reason = schema.ScopeTenant, ReasonTenantOptOut
		e.Pseudonyms = kr.Pseudonyms(keyring.Tenant, purpose, c.SubjectID)
	default:
		return schema.Erasure{}, false
	}
	return e, true
}

// Erasures turns batches of consent.changes into dataset.erasures records.
type Erasures struct {
	Decoder stream.Decoder[schema.ConsentChange]
	Encoder Encoder[schema.Erasure]
	Keyring *keyring.Keyring
	Purpose string
	// ErasuresTopic is where outputs go.
	ErasuresTopic string
	Metrics       *Metrics
}

// Handle is a stream.Handler: an erasure per DENIED change of the purpose, keyed
// by the subject's active pseudonym; nothing for other changes and tombstones; a
// record that does not decode is reported in a stream.BatchError.
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
