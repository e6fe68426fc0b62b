package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/consentflow/consentflow/pkg/schema"
	"github.com/consentflow/consentflow/pkg/shred"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/services/anonymizer/internal/transform"
	"github.com/segmentio/kafka-go"
)

// Header names the consent-filter sets on events.consented.
const (
	HeaderConsentVersion       = schema.HeaderConsentVersion
	HeaderTenantConsentVersion = schema.HeaderTenantConsentVersion
	HeaderPolicyVersion        = schema.HeaderPolicyVersion
)

// Stage names used in dead letters and metrics.
const (
	StageEvents   = "anonymizer"
	StageErasures = "anonymizer-erasures"
)

// Encoder encodes records of T in the wire format.
type Encoder[T any] interface {
	Encode(v *T) ([]byte, error)
}

// Events anonymizes batches of events.consented.
type Events struct {
	// Purpose is this chain's purpose: a record the consent-filter did not
	// allow for it (no purpose header, or another purpose's) is refused.
	Purpose     string
	Decoder     stream.Decoder[schema.InteractionEvent]
	Encoder     Encoder[schema.CuratedEvent]
	Transformer *transform.Transformer
	// CuratedTopic is where outputs go.
	CuratedTopic string
	// Keys seals every curated record's content under its subject's and
	// tenant's data keys (crypto-shredding); nil writes it in the clear (tests
	// of the transformation only: Run always sets it).
	Keys    *shred.Store
	Metrics *Metrics
	// Workers is how many records of a batch are anonymized at once (the
	// redactor makes the stage CPU-bound); 0 or 1 is one at a time. Outputs
	// keep the input order either way, so delivery and commits are as with one.
	Workers int
}

// Handle is a stream.Handler: one curated record per input, in input order; a
// record that cannot be decoded, anonymized or encoded is reported in a
// stream.BatchError (the loop dead-letters it, or retries the batch when the
// schema registry could not be reached).
func (h *Events) Handle(ctx context.Context, batch []kafka.Message) ([]kafka.Message, error) {
	var failed stream.BatchError
	var curated []*schema.CuratedEvent
	var from []int
	events := stream.DecodeEach(ctx, batch, h.Decoder, &failed, nil)
	results := make([]result, len(batch))
	each(len(batch), h.Workers, func(i int) {
		if e := events[i]; e != nil { // nil: reported
			r := &results[i]
			r.curated, r.reason, r.err = h.one(e, batch[i])
			r.done = true
		}
	})
	for i, r := range results {
		switch {
		case !r.done:
		case r.err != nil:
			failed.Add(i, r.reason, r.err)
		default:
			curated, from = append(curated, r.curated), append(from, i)
		}
	}
	if _, retry := failed.Transient(); retry {
		return nil, failed.Err()
	}
	// One key look-up per batch; then each record is sealed and encoded on the
	// workers (the encryption and the encoding leave the loop goroutine). A
	// record is never written unsealed: when the key store cannot be reached,
	// or any record cannot be sealed, the whole batch is held and retried.
	var sealer *shred.Batch
	if h.Keys != nil && len(curated) > 0 {
		var err error
		if sealer, err = h.Keys.Prepare(ctx, curated); err != nil {
			return nil, stream.Transient(fmt.Errorf("seal curated records: %w", err))
		}
	}
	sealed := make([]sealResult, len(curated))
	each(len(curated), h.Workers, func(j int) {
		r := &sealed[j]
		if sealer != nil {
			if r.withheld, r.sealErr = sealer.Seal(j); r.sealErr != nil {
				return
			}
		}
		r.value, r.encodeErr = h.Encoder.Encode(curated[j])
	})
	for _, r := range sealed {
		if r.sealErr != nil {
			return nil, stream.Transient(fmt.Errorf("seal curated records: %w", r.sealErr))
		}
	}
	out := make([]kafka.Message, 0, len(curated))
	nWithheld := 0
	for j, c := range curated {
		r := sealed[j]
		if r.encodeErr != nil {
			failed.Add(from[j], "encode", fmt.Errorf("encode CuratedEvent: %w", r.encodeErr))
			continue
		}
		if r.withheld {
			nWithheld++
		}
		out = append(out, kafka.Message{Topic: h.CuratedTopic, Key: []byte(c.Subject), Value: r.value})
	}
	if _, retry := failed.Transient(); !retry {
		h.Metrics.EventsIn.Add(float64(len(batch)))
		h.Metrics.EventsOut.Add(float64(len(out)))
		h.Metrics.Withheld.Add(float64(nWithheld))
	}
	return out, failed.Err()
}

type sealResult struct {
	value     []byte
	withheld  bool
	sealErr   error
	encodeErr error
}

type result struct {
	curated *schema.CuratedEvent
	reason  string
	err     error
	done    bool
}

// each calls fn(i) for every i < n, on up to workers goroutines that take
// indexes in turn (records differ in cost: texts differ in length).
func each(n, workers int, fn func(i int)) {
	if workers <= 1 || n < 2 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// one anonymizes e, the value of m, or says why it cannot (a reason label and
// the error).
func (h *Events) one(e *schema.InteractionEvent, m kafka.Message) (*schema.CuratedEvent, string, error) {
	// Only what the consent-filter allowed for this purpose is curated for it:
	// a record without the filter's purpose header (written around the
	// filter, or by a filter that predates the header) or allowed for another
	// purpose (a topic shared or misconfigured between two chains) is
	// dead-lettered, never curated as this chain's.
	switch p := stream.Header(m, schema.HeaderPurpose); {
	case p == nil:
		return nil, "purpose", fmt.Errorf("no %s header: not allowed by the consent-filter for purpose %s", schema.HeaderPurpose, h.Purpose)
	case string(p) != h.Purpose:
		return nil, "purpose", fmt.Errorf("%s header names purpose %q, this chain serves %s", schema.HeaderPurpose, p, h.Purpose)
	}
	meta := transform.Meta{
		ConsentVersion:       string(stream.Header(m, HeaderConsentVersion)),
		TenantConsentVersion: string(stream.Header(m, HeaderTenantConsentVersion)),
		PolicyVersion:        string(stream.Header(m, HeaderPolicyVersion)),
		SubjectKind:          string(stream.Header(m, schema.HeaderSubjectKind)),
		SubjectScope:         string(stream.Header(m, schema.HeaderSubjectScope)),
	}
	c, err := transformSafely(h.Transformer, e, meta)
	if err != nil {
		reason := "transform"
		switch {
		case errors.Is(err, stream.ErrPanicked):
			reason = "panic"
		case errors.Is(err, transform.ErrNoSubject):
			reason = "no_subject"
		case errors.Is(err, transform.ErrInvalidField):
			reason = "invalid_field"
		}
		return nil, reason, fmt.Errorf("anonymize: %w", err)
	}
	return &c, "", nil
}

// transformSafely is t.Transform(e, meta), except that a panic in it (a bug of
// the redactor or of a field rule that some input reaches) becomes a permanent
// failure of this record (stream.Recovered: the runtime's message and the
// panicking function, never the record's content), dead-lettered instead of a
// crash of the process: a crash would be repeated on the same record after
// every restart, stopping the stage. The panicking call's partial work is
// dropped: the record is not curated.
func transformSafely(t *transform.Transformer, e *schema.InteractionEvent, meta transform.Meta) (c schema.CuratedEvent, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = schema.CuratedEvent{}, stream.Recovered(p)
		}
	}()
	return t.Transform(e, meta)
}
