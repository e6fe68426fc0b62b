package consentstore

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// CacheOptions configure a CachedLookup; zero values take the defaults.
type CacheOptions struct {
	// Size bounds the number of cached (purpose, subject) entries, found or
	// not found; default 100000.
	Size int
	// TTL bounds how long an entry is served, a safety net behind pub/sub
	// invalidation (cluster pub/sub crosses the cluster bus); default 30s.
	TTL time.Duration
	// PingInterval is how long the subscription may be silent before it is
	// pinged; a ping unanswered for another interval counts as a lost
	// subscription. Default 1s.
	PingInterval time.Duration
	// RetryBackoff is the wait before resubscribing; default 250ms.
	RetryBackoff time.Duration
	// Now is the clock for TTLs; default time.Now.
	Now func() time.Time
}

// CacheStats are cumulative counters of a CachedLookup.
type CacheStats struct {
	Hits, Misses, Invalidations, Resets, SubscriptionLosses uint64
}

type cacheKey struct {
	purpose string
	ref     SubjectRef
}

type cacheEntry struct {
	key     cacheKey
	rec     Record
	found   bool
	expires time.Time
}

// CachedLookup is a bounded LRU+TTL cache in front of Store.Lookup,
// invalidated by the writer's pub/sub messages. It serves entries only while
// Subscribe holds a confirmed subscription; before that, and from the moment
// the subscription fails until it is re-established, it is empty and every
// Lookup goes to Redis. It caches "no record" too. Safe for concurrent use.
type CachedLookup struct {
	store *Store
	opts  CacheOptions
	log   *zap.Logger

	mu      sync.Mutex
	enabled bool
	// epoch changes on every invalidation, reset, enable and disable; a
	// fetch started in an older epoch is returned but not cached.
	epoch   uint64
	entries map[cacheKey]*list.Element
	lru     *list.List // front = most recent

	hits, misses, invalidations, resets, losses atomic.Uint64
}

// NewCachedLookup returns a disabled cache over store; run Subscribe to
// enable it. log may be nil.
func NewCachedLookup(store *Store, opts CacheOptions, log *zap.Logger) *CachedLookup {
	if opts.Size <= 0 {
		opts.Size = 100_000
	}
	if opts.TTL <= 0 {
		opts.TTL = 30 * time.Second
	}
	if opts.PingInterval <= 0 {
		opts.PingInterval = time.Second
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = 250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &CachedLookup{store: store, opts: opts, log: log, entries: map[cacheKey]*list.Element{}, lru: list.New()}
}

// Lookup has Store.Lookup's contract. Cached entries are served without a
// round trip; the misses are fetched in one Store.Lookup (and inherit its
// ErrNotReady check). Errors are never cached.
func (c *CachedLookup) Lookup(ctx context.Context, purpose string, refs []SubjectRef) (map[SubjectRef]Record, error) {
	out := make(map[SubjectRef]Record, len(refs))
	if err := c.LookupInto(ctx, purpose, refs, out); err != nil {
		return nil, err
	}
	return out, nil
}

// LookupInto is Lookup adding the records to out, which it does not empty
// first: a caller that looks up batch after batch keeps one map (the filter's
// result map per lookup was a tenth of its allocations). After an error out
// may hold some of the records; use none of them.
func (c *CachedLookup) LookupInto(ctx context.Context, purpose string, refs []SubjectRef, out map[SubjectRef]Record) error {
	var misses []SubjectRef
	now := c.opts.Now()

	c.mu.Lock()
	epoch, enabled := c.epoch, c.enabled
	if !enabled {
		misses = refs
	} else {
		for _, r := range refs {
			el, ok := c.entries[cacheKey{purpose, r}]
			if !ok {
				misses = append(misses, r)
				continue
			}
			e := el.Value.(*cacheEntry)
			if !now.Before(e.expires) {
				c.removeLocked(el)
				misses = append(misses, r)
				continue
			}
			c.lru.MoveToFront(el)
			if e.found {
				out[r] = e.rec
			}
			c.hits.Add(1)
		}
	}
	c.mu.Unlock()

	if len(misses) == 0 {
		return nil
	}
	c.misses.Add(uint64(len(misses)))
	fetched, err := c.store.Lookup(ctx, purpose, misses)
	if err != nil {
		return err
	}
	for r, rec := range fetched {
		out[r] = rec
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.enabled || c.epoch != epoch {
		return nil
	}
	expires := c.opts.Now().Add(c.opts.TTL)
	for _, r := range misses {
		rec, found := fetched[r]
		c.putLocked(cacheKey{purpose, r}, rec, found, expires)
	}
	return nil
}

// Enabled reports whether the cache currently serves entries (its
// subscription is confirmed).
func (c *CachedLookup) Enabled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.enabled
}

// Len returns the number of cached entries.
func (c *CachedLookup) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// Clear drops every entry (e.g. when the filter sees the store unhealthy);
// the cache stays enabled.
func (c *CachedLookup) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
}

// Stats returns the cache's counters.
func (c *CachedLookup) Stats() CacheStats {
	return CacheStats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Invalidations: c.invalidations.Load(),
		Resets: c.resets.Load(), SubscriptionLosses: c.losses.Load(),
	}
}

func (c *CachedLookup) setEnabled(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearLocked()
	c.enabled = on
}

func (c *CachedLookup) invalidate(purpose string, ref SubjectRef) {
	c.invalidations.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	if el, ok := c.entries[cacheKey{purpose, ref}]; ok {
		c.removeLocked(el)
	}
}

func (c *CachedLookup) clearLocked() {
	c.epoch++
	clear(c.entries)
	c.lru.Init()
}

func (c *CachedLookup) putLocked(k cacheKey, rec Record, found bool, expires time.Time) {
	if el, ok := c.entries[k]; ok {
		e := el.Value.(*cacheEntry)
		e.rec, e.found, e.expires = rec, found, expires
		c.lru.MoveToFront(el)
		return
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, rec: rec, found: found, expires: expires})
	for c.lru.Len() > c.opts.Size {
		c.removeLocked(c.lru.Back())
	}
}

func (c *CachedLookup) removeLocked(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).key)
	c.lru.Remove(el)
}
