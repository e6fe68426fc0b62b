package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// EventTruth is the ground-truth line of one event (kind "event").
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
	// SentAt is when the request was sent; AckedAt when its response arrived.
	SentAt  time.Time `json:"sent_at"`
	AckedAt time.Time `json:"acked_at"`
	// HTTPStatus of the last attempt; Accepted when it was 202 (the event is in
	// Kafka). An event not accepted is expected nowhere downstream.
	HTTPStatus int  `json:"http_status"`
	Accepted   bool `json:"accepted"`
	// Consent is the state when the event was sent; Allow and Reason the
	// oracle's answer for Consent.Purpose: Allow means the event must reach the
	// purpose's curated outputs, otherwise it must not.
	Consent ConsentState `json:"consent"`
	Allow   bool         `json:"allow"`
	Reason  string       `json:"reason"`
	// PII seeded into the text, each value exactly as it appears there. The
	// actor_name/actor_email/actor_handle fields of the event are PII as well.
	PII []PII `json:"pii"`
}

// ConsentTruth is the ground-truth line of one consent change (kind "consent").
type ConsentTruth struct {
	Kind        string    `json:"kind"`
	Seq         int       `json:"seq"`
	SubjectType string    `json:"subject_type"`
	SubjectID   string    `json:"subject_id"`
	TenantID    string    `json:"tenant_id"`
	Purpose     string    `json:"purpose"`
	Status      string    `json:"status"`
	SentAt      time.Time `json:"sent_at"`
	// CompletedAt is when the PUT returned; events sent later see this change.
	CompletedAt time.Time `json:"completed_at"`
	HTTPStatus  int       `json:"http_status"`
	// Applied: the API answered 2xx. A change that was not applied does not
	// enter the consent state given to the oracle.
	Applied bool `json:"applied"`
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
			t.err = fmt.Errorf("write ground truth: %w", err)
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
		return fmt.Errorf("flush ground truth: %w", err)
	}
	return nil
}
