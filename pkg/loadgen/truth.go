package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// EventTruth is the log line of one event (kind "event"): what was sent and
// what the producer answered. It says nothing about whether the event should
// pass: that is for an oracle to derive from these facts and the policy.
type EventTruth struct {
	Kind         string `json:"kind"`
	Seq          int    `json:"seq"`
	EventID      string `json:"event_id"`
	EventType    string `json:"event_type"`
	UserID       string `json:"user_id,omitempty"`
	AnonymousID  string `json:"anonymous_id,omitempty"`
	TenantID     string `json:"tenant_id"`
	Jurisdiction string `json:"jurisdiction,omitempty"`
	GPC          bool   `json:"gpc"`
	// SentAt is when the last attempt was sent; AckedAt when its response
	// arrived; Attempts how many were sent (retries reuse the event id).
	SentAt   time.Time `json:"sent_at"`
	AckedAt  time.Time `json:"acked_at"`
	Attempts int       `json:"attempts"`
	// HTTPStatus of the last attempt; Accepted when it was 202 (the event is in
	// Kafka). An event not accepted may still be in Kafka (an earlier attempt,
	// or a write that raced the producer's timeout).
	HTTPStatus int  `json:"http_status"`
	Accepted   bool `json:"accepted"`
	// ReceivedAt is the server time the producer stamped on the event, as its
	// 202 answered it; nil when it did not answer 202.
	ReceivedAt *time.Time `json:"received_at,omitempty"`
	// PII seeded into the text, each value exactly as it appears there. The
	// actor_name/actor_email/actor_handle fields of the event are PII as well.
	PII []PII `json:"pii"`
}

// ConsentTruth is the log line of one consent change (kind "consent"): what was
// sent and what the consent API answered.
type ConsentTruth struct {
	Kind        string    `json:"kind"`
	Seq         int       `json:"seq"`
	SubjectType string    `json:"subject_type"`
	SubjectID   string    `json:"subject_id"`
	TenantID    string    `json:"tenant_id"`
	Purpose     string    `json:"purpose"`
	Status      string    `json:"status"`
	SentAt      time.Time `json:"sent_at"`
	// CompletedAt is when the PUT returned; events of the tenant generated later
	// are sent after it.
	CompletedAt time.Time `json:"completed_at"`
	Attempts    int       `json:"attempts"`
	HTTPStatus  int       `json:"http_status"`
	// Applied: the API answered 2xx, so the change is on consent.changes at
	// Version ("partition:offset") with EffectiveAt, as the API answered them.
	// A change not applied may still be there (its write raced a failure).
	Applied     bool       `json:"applied"`
	Version     string     `json:"version,omitempty"`
	EffectiveAt *time.Time `json:"effective_at,omitempty"`
}

// LinkTruth is the ground-truth line of an identity link (kind "link"): the
// first identify of a user with their browser's anonymous id. The Runner sends
// nothing else of the tenant between SentAt and LinkedAt, so the link is
// ordered exactly against the tenant's consent changes and events.
type LinkTruth struct {
	Kind        string `json:"kind"`
	Seq         int    `json:"seq"`
	TenantID    string `json:"tenant_id"`
	UserID      string `json:"user_id"`
	AnonymousID string `json:"anonymous_id"`
	// SentAt is when the identify event was sent; LinkedAt when the consent
	// API (GET .../users/{user}/consents) first showed the link. Events and
	// changes of the tenant sent after LinkedAt see it.
	SentAt   time.Time `json:"sent_at"`
	LinkedAt time.Time `json:"linked_at"`
	// Observed is false when the link did not show up in time (or the
	// identify was not accepted): whether and when it exists is unknown.
	Observed bool `json:"observed"`
}

// truthWriter serialises ground-truth lines from many workers.
type truthWriter struct {
	mu  sync.Mutex
	buf *bufio.Writer
	enc *json.Encoder
	err error
}

func newTruthWriter(w io.Writer) *truthWriter {
	if w == nil {
		w = io.Discard
	}
	b := bufio.NewWriterSize(w, 64<<10)
	return &truthWriter{buf: b, enc: json.NewEncoder(b)}
}

func (t *truthWriter) write(v any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		if err := t.enc.Encode(v); err != nil {
			t.err = fmt.Errorf("write the log: %w", err)
		}
	}
}

func (t *truthWriter) flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return t.err
	}
	if err := t.buf.Flush(); err != nil {
		return fmt.Errorf("flush the log: %w", err)
	}
	return nil
}
