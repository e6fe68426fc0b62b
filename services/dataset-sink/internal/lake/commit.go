package lake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"go.uber.org/zap"
)

// Attempt is one try of a commit: the table as loaded for it, the sink state
// its current snapshot carries, and the id the commit's snapshot will carry.
type Attempt struct {
	Base  *table.Table
	State State
	// ID identifies the commit across its attempts (snapshot summary
	// consentflow.commit-id): after an error of unknown outcome the table is
	// searched for it.
	ID string
	// N counts attempts from 1.
	N  int
	op string
}

// Props are the summary properties of the attempt's snapshot: the new state
// (carried forward in full, so that any current snapshot holds the whole state)
// plus extra entries.
func (a *Attempt) Props(next State, extra map[string]string) iceberg.Properties {
	p := next.props()
	p[KeyCommitID] = a.ID
	p[KeyOperation] = a.op
	for k, v := range extra {
		p[k] = v
	}
	return p
}

// AttemptFunc builds the transaction of one attempt from a.Base. It returns a
// nil transaction when there is nothing to commit.
type AttemptFunc func(ctx context.Context, a *Attempt) (*table.Transaction, error)

// MaxAttempts bounds the attempts of one commit.
const MaxAttempts = 200

// conflict reports whether err is a lost race: the catalog's compare-and-swap
// on the metadata location failed (table.ErrCommitFailed) or, on the SQL
// catalog, a requirement on the base failed — iceberg-go returns the latter as
// a plain "requirement failed: branch main has changed" error (it checks the
// requirements against the freshly loaded table before it writes anything).
func conflict(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, table.ErrCommitFailed) || errors.Is(err, ErrConflict) ||
		strings.Contains(err.Error(), "requirement failed")
}

// Commit runs attempt against the current table until its transaction
// commits. A lost race reloads the table and runs attempt again (its base and
// state are fresh, so it redoes what depends on them), with jittered backoff.
// An error whose outcome is unknown (the catalog database failed mid-commit) is
// resolved by looking for the commit's id in the reloaded table's snapshots.
// It returns the committed table (the current one when attempt had nothing to
// commit).
func (l *Lake) Commit(ctx context.Context, op string, attempt AttemptFunc) (*table.Table, error) {
	id := newID()
	start := time.Now()
	backoff := 20 * time.Millisecond
	for n := 1; ; n++ {
		base, err := l.Load(ctx)
		if err != nil {
			return nil, err
		}
		st, err := StateOf(base)
		if err != nil {
			return nil, err
		}
		a := &Attempt{Base: base, State: st, ID: id, N: n, op: op}
		tx, err := attempt(ctx, a)
		if err != nil {
			if conflict(err) && n < MaxAttempts {
				l.m.Conflicts.WithLabelValues(op).Inc()
				if err := sleep(ctx, &backoff); err != nil {
					return nil, err
				}
				continue
			}
			return nil, err
		}
		if tx == nil {
			return base, nil
		}
		t, err := tx.Commit(ctx)
		if err == nil {
			l.m.Commits.WithLabelValues(op).Inc()
			l.m.CommitSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
			if n > 1 {
				l.log.Debug("commit succeeded after retries", zap.String("op", op), zap.Int("attempts", n))
			}
			return t, nil
		}
		if conflict(err) {
			if n >= MaxAttempts {
				return nil, fmt.Errorf("%s: %d attempts lost the commit race: %w", op, n, err)
			}
			l.m.Conflicts.WithLabelValues(op).Inc()
			if err := sleep(ctx, &backoff); err != nil {
				return nil, err
			}
			continue
		}
		// Unknown outcome: did the catalog take it?
		if t, ok := l.findCommit(ctx, id); ok {
			l.m.Commits.WithLabelValues(op).Inc()
			l.log.Warn("commit reported an error but landed", zap.String("op", op), zap.Error(err))
			return t, nil
		}
		return nil, fmt.Errorf("%s commit: %w", op, err)
	}
}

// UpdatesFunc returns the requirements and updates of one attempt of a
// metadata-only commit (refs, snapshot removal); nil updates: nothing to do.
type UpdatesFunc func(ctx context.Context, a *Attempt) ([]table.Requirement, []table.Update, error)

// CommitUpdates commits metadata updates (tags, branches) through the catalog,
// retried on a lost race like Commit. Every attempt asserts the table's uuid.
func (l *Lake) CommitUpdates(ctx context.Context, op string, fn UpdatesFunc) (*table.Table, error) {
	backoff := 20 * time.Millisecond
	for n := 1; ; n++ {
		base, err := l.Load(ctx)
		if err != nil {
			return nil, err
		}
		st, err := StateOf(base)
		if err != nil {
			return nil, err
		}
		a := &Attempt{Base: base, State: st, ID: newID(), N: n, op: op}
		reqs, updates, err := fn(ctx, a)
		if err == nil && len(updates) == 0 {
			return base, nil
		}
		if err == nil {
			reqs = append(reqs, table.AssertTableUUID(base.Metadata().TableUUID()))
			_, _, err = l.cat.CommitTable(ctx, l.ident, reqs, updates)
			if err == nil {
				l.m.Commits.WithLabelValues(op).Inc()
				return l.Load(ctx)
			}
		}
		if !conflict(err) || n >= MaxAttempts {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		l.m.Conflicts.WithLabelValues(op).Inc()
		if err := sleep(ctx, &backoff); err != nil {
			return nil, err
		}
	}
}

// findCommit reports whether a snapshot of the table carries commit id.
func (l *Lake) findCommit(ctx context.Context, id string) (*table.Table, bool) {
	t, err := l.Load(ctx)
	if err != nil {
		return nil, false
	}
	for _, s := range t.Metadata().Snapshots() {
		if s.Summary != nil && s.Summary.Properties[KeyCommitID] == id {
			return t, true
		}
	}
	return nil, false
}

func sleep(ctx context.Context, backoff *time.Duration) error {
	d := *backoff/2 + time.Duration(mrand.Int64N(int64(*backoff)))
	*backoff = min(*backoff*2, 2*time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
