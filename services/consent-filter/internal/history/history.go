// Package history keeps, per subject, the consent changes the materializer
// applied, for the privacy centre's "your choices" list: a sorted set per
// subject in Redis (<ns>:hist:{<subject code>}, newest Keep entries), scored
// by effective time, whose members are the entries' JSON. A replay writes the
// same members again (idempotent). It is as complete as consent.changes: a
// rebuild after Redis lost its data starts again from the compacted topic,
// which keeps only each subject's latest change per purpose.
package history

import (
	"context"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/identity"
)

// Entry is one consent change of a subject.
type Entry struct {
	Purpose       string    `json:"purpose"`
	Status        string    `json:"status"`
	EffectiveAt   time.Time `json:"effective_at"`
	Source        string    `json:"source,omitempty"`
	PolicyVersion string    `json:"policy_version,omitempty"`
	Version       string    `json:"version"`
	Imported      bool      `json:"imported,omitempty"`
}

// Item is an entry of a subject.
type Item struct {
	Subject identity.Subject
	Entry   Entry
}

// History reads and writes the entries.
type History struct {
	RDB       redis.UniversalClient
	Namespace string
	// Keep is how many entries a subject keeps (default 100).
	Keep int
}

func (h *History) key(s identity.Subject) string { return h.Namespace + ":hist:{" + s.Code() + "}" }

// Add records items in one pipeline.
func (h *History) Add(ctx context.Context, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	keep := h.Keep
	if keep <= 0 {
		keep = 100
	}
	_, err := h.RDB.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, it := range items {
			b, err := json.Marshal(it.Entry)
			if err != nil {
				return err
			}
			k := h.key(it.Subject)
			p.ZAdd(ctx, k, redis.Z{Score: float64(it.Entry.EffectiveAt.UnixMilli()), Member: string(b)})
			p.ZRemRangeByRank(ctx, k, 0, int64(-keep-1))
		}
		return nil
	})
	return err
}

// Read returns s's entries, newest first.
func (h *History) Read(ctx context.Context, s identity.Subject) ([]Entry, error) {
	ms, err := h.RDB.ZRevRange(ctx, h.key(s), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(ms))
	for _, m := range ms {
		var e Entry
		if json.Unmarshal([]byte(m), &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}
