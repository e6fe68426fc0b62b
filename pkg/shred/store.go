package shred

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/schema"
)

// Defaults of Options.
const (
	// DefaultKeyTTL outlives events.curated's default retention (30 days) by a
	// day: a key leaves Redis after the last record sealed under it left the
	// topic (every use refreshes it).
	DefaultKeyTTL = 31 * 24 * time.Hour
	// DefaultCacheTTL bounds how long a process uses a key it read without
	// asking Redis again: another process's erasure reaches it within this.
	DefaultCacheTTL = time.Second
)

// Options configure a Store.
type Options struct {
	// Namespace prefixes every Redis key (REDIS_NAMESPACE; "cf").
	Namespace string
	// Purpose is the chain's purpose, whose keys Erase shreds (keys are per
	// purpose; Seal and Open use each record's purpose). Readers may leave it
	// empty.
	Purpose string
	// KeyTTL is how long an unused key (or a tombstone) stays; at least the
	// retention of events.curated.
	KeyTTL time.Duration
	// CacheTTL is how long a key read from Redis is used without asking again
	// (0: DefaultCacheTTL; negative: no cache).
	CacheTTL time.Duration
}

// Store keeps the data keys of subjects and tenants in Redis:
//
//	<namespace>:shred:<purpose>:s:<subject pseudonym>   subject data key
//	<namespace>:shred:<purpose>:t:<tenant pseudonym>    tenant data key
//
// A value is "K" | generation (8) | key (32) | erased version, or the tombstone
// "E" | erased version: the "partition:offset" of the consent change whose
// erasure replaced the key (possibly empty: covers every record). Keys are
// random (crypto/rand), created on first use atomically (a Lua script: two
// anonymizer instances never make two keys for one subject), and never derived
// from anything that outlives them. Records, pseudonyms and ids only: no raw
// identifier reaches Redis.
type Store struct {
	rdb      redis.UniversalClient
	prefix   string
	purpose  string
	keyTTL   time.Duration
	cacheTTL time.Duration
	now      func() time.Time

	mu    sync.Mutex
	epoch uint64 // bumped by every Erase: a read begun before it is not cached
	cache map[string]cached
	// aeads are record ciphers derived from pairs of data keys (HKDF and the
	// AES key schedule cost more than sealing a record), keyed by the keys
	// themselves and the purpose, so an entry can never serve other keys. Only
	// reached through a live entry of cache or Redis; cleared by every Erase,
	// so no cipher of a shredded key outlives the erasure in this process.
	aeads map[aeadID]cipher.AEAD
}

// aeadID names the cipher derived from two data keys for a purpose.
type aeadID struct {
	keys    [2 * KeySize]byte
	purpose string
}

// maxAEADs bounds the derived ciphers a Store keeps (about 1 KiB each).
const maxAEADs = 4096

// aead returns the cipher of a subject's and a tenant's data keys, derived
// once while it stays in the bounded cache. epoch is the store's epoch when
// the keys were read: a cipher of keys read before an erasure is not kept.
func (s *Store) aead(subjectKey, tenantKey []byte, purpose string, epoch uint64) (cipher.AEAD, error) {
	if len(subjectKey) != KeySize || len(tenantKey) != KeySize {
		return nil, fmt.Errorf("data keys must be %d bytes", KeySize)
	}
	id := aeadID{purpose: purpose}
	copy(id.keys[:], subjectKey)
	copy(id.keys[KeySize:], tenantKey)
	s.mu.Lock()
	a := s.aeads[id]
	s.mu.Unlock()
	if a != nil {
		return a, nil
	}
	a, err := aeadFor(subjectKey, tenantKey, purpose)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.epoch == epoch {
		if len(s.aeads) >= maxAEADs {
			clear(s.aeads)
		}
		s.aeads[id] = a
	}
	s.mu.Unlock()
	return a, nil
}

type cached struct {
	e  entry
	at time.Time
}

// entry is one Redis value.
type entry struct {
	present bool   // a value exists
	live    bool   // it holds a key
	gen     Gen    // the key's generation
	key     []byte // the key
	erased  bool   // an erasure replaced a key of this name
	version string // the erasure's consent version
}

// NewStore returns a store on rdb.
func NewStore(rdb redis.UniversalClient, o Options) (*Store, error) {
	if o.Namespace == "" {
		o.Namespace = "cf"
	}
	if o.KeyTTL <= 0 {
		o.KeyTTL = DefaultKeyTTL
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	return &Store{rdb: rdb, prefix: o.Namespace + ":shred:", purpose: o.Purpose, keyTTL: o.KeyTTL, cacheTTL: o.CacheTTL,
		now: time.Now, cache: map[string]cached{}, aeads: map[aeadID]cipher.AEAD{}}, nil
}

// SubjectKey and TenantKey are the Redis keys of a pseudonym's data key for purpose.
func (s *Store) SubjectKey(purpose, pseudonym string) string {
	return s.prefix + purpose + ":s:" + pseudonym
}

// TenantKey is the Redis key of a tenant pseudonym's data key for purpose.
func (s *Store) TenantKey(purpose, pseudonym string) string {
	return s.prefix + purpose + ":t:" + pseudonym
}

func parseEntry(v string) (entry, error) {
	switch {
	case len(v) >= 1+GenSize+KeySize && v[0] == 'K':
		e := entry{present: true, live: true, key: []byte(v[1+GenSize : 1+GenSize+KeySize])}
		copy(e.gen[:], v[1:])
		if rest := v[1+GenSize+KeySize:]; rest != "" {
			e.erased, e.version = true, rest[1:] // "|" + version
		}
		return e, nil
	case len(v) >= 1 && v[0] == 'E':
		return entry{present: true, erased: true, version: v[1:]}, nil
	}
	return entry{}, fmt.Errorf("shred: unreadable key entry (%d bytes)", len(v))
}

// covers reports whether a record decided on consent state version is covered
// by the erasure recorded in e, with the dataset-sink's rule (docs/ARCHITECTURE.md,
// Erasures): a record not newer than the erased change on its partition, or one
// whose version does not parse or is on another partition, is covered.
func (e entry) covers(version string) bool {
	if !e.erased {
		return false
	}
	ev, ok := schema.ParseVersion(e.version)
	if !ok {
		return true
	}
	rv, ok := schema.ParseVersion(version)
	return !ok || !rv.NewerThan(ev)
}

// acquire: return the key of KEYS[1], refreshing its TTL, or create one
// (ARGV[1] = "K" | gen | key), carrying over the version of a tombstone it
// replaces. Atomic: concurrent callers get the same key.
const acquire = `
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 1) == 'K' then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return v
end
local nv = ARGV[1]
if v and string.sub(v, 1, 1) == 'E' then nv = nv .. '|' .. string.sub(v, 2) end
redis.call('SET', KEYS[1], nv, 'PX', ARGV[2])
return nv
`

// load returns the entries of keys, from the cache or in one round trip;
// create makes missing keys (the anonymizer), otherwise absent ones stay absent
// (readers never create).
func (s *Store) load(ctx context.Context, keys []string, create bool) (map[string]entry, uint64, error) {
	out := make(map[string]entry, len(keys))
	now := s.now()
	s.mu.Lock()
	epoch := s.epoch
	var miss []string
	for _, k := range keys {
		if _, dup := out[k]; dup {
			continue
		}
		if c, ok := s.cache[k]; ok && now.Sub(c.at) < s.cacheTTL && (c.e.live || !create) { // a sealer replaces a tombstone
			out[k] = c.e
			continue
		}
		out[k] = entry{}
		miss = append(miss, k)
	}
	s.mu.Unlock()
	if len(miss) == 0 {
		return out, epoch, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]func() (string, error), len(miss))
	ttl := strconv.FormatInt(s.keyTTL.Milliseconds(), 10)
	for i, k := range miss {
		if create {
			nv := make([]byte, 1+GenSize+KeySize)
			nv[0] = 'K'
			if _, err := rand.Read(nv[1:]); err != nil {
				return nil, 0, err
			}
			cmds[i] = pipe.Eval(ctx, acquire, []string{k}, string(nv), ttl).Text
		} else {
			cmds[i] = pipe.Get(ctx, k).Result
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("shred: key store: %w", err)
	}
	fresh := make(map[string]entry, len(miss))
	for i, k := range miss {
		v, err := cmds[i]()
		if errors.Is(err, redis.Nil) {
			continue // absent
		}
		if err != nil {
			return nil, 0, fmt.Errorf("shred: key store: %w", err)
		}
		e, err := parseEntry(v)
		if err != nil {
			return nil, 0, err
		}
		out[k], fresh[k] = e, e
	}
	s.mu.Lock()
	if s.epoch == epoch && s.cacheTTL > 0 {
		for k, e := range fresh {
			s.cache[k] = cached{e: e, at: now}
		}
	}
	if len(s.cache) > 1<<16 {
		clear(s.cache)
	}
	s.mu.Unlock()
	return out, epoch, nil
}

// Erase replaces the data keys of pseudonyms (scope schema.ScopeSubject or
// schema.ScopeTenant) with tombstones naming version, the erasure's consent
// version, and forgets them from this process's cache before it returns: no
// record this process seals or opens afterwards uses them. Every record sealed
// under the replaced keys stays unreadable for good.
func (s *Store) Erase(ctx context.Context, scope string, pseudonyms []string, version string) error {
	if s.purpose == "" {
		return errors.New("shred: a store without a purpose erases nothing")
	}
	key := s.SubjectKey
	if scope == schema.ScopeTenant {
		key = s.TenantKey
	}
	names := make([]string, len(pseudonyms))
	for i, p := range pseudonyms {
		names[i] = key(s.purpose, p)
	}
	s.forget(names) // before, so that no read that began earlier is cached…
	// One command per key, each checked: an erasure names a handful of keys, and
	// a SET answered by anything but OK must not pass for a shredded key (a
	// pipeline on Redis Cluster reported a bare nil reply once under load).
	for _, n := range names {
		res, err := s.rdb.Set(ctx, n, "E"+version, s.keyTTL).Result()
		if err == nil && res != "OK" {
			err = fmt.Errorf("SET answered %q", res)
		}
		if err != nil {
			return fmt.Errorf("shred: key store: %w", err)
		}
	}
	s.forget(names) // …and after, for reads that ran meanwhile
	return nil
}

func (s *Store) forget(names []string) {
	s.mu.Lock()
	s.epoch++
	for _, n := range names {
		delete(s.cache, n)
	}
	clear(s.aeads)
	s.mu.Unlock()
}

// Seal seals the content of each event under its subject's and tenant's data
// keys, creating keys on first use (one round trip for every key not cached).
// An event whose subject or tenant was erased on a consent state not older
// than the event's decision (a record decided before the withdrawal, curated
// after it) is withheld instead: it keeps its place on the topic but carries no
// content. withheld[i] says which. An error (the key store unreachable) leaves
// every event as it was: nothing may be written unsealed.
func (s *Store) Seal(ctx context.Context, events []*schema.CuratedEvent) (withheld []bool, err error) {
	b, err := s.Prepare(ctx, events)
	if err != nil {
		return nil, err
	}
	withheld = make([]bool, len(events))
	for i := range events {
		if withheld[i], err = b.Seal(i); err != nil {
			return nil, err
		}
	}
	return withheld, nil
}

// Batch seals the records of one batch after Prepare has looked up their
// keys (one round trip) and read their nonces: Seal(i) may then run on many
// goroutines at once, each for its own records, so the encryption leaves the
// stage's loop goroutine. A batch whose Seal failed for any record must not
// be written.
type Batch struct {
	s       *Store
	events  []*schema.CuratedEvent
	entries map[string]entry
	epoch   uint64
	nonces  []byte
}

// Prepare looks up (creating where needed) the keys of every record of
// events and reads their nonces. An error (the key store unreachable) seals
// nothing.
func (s *Store) Prepare(ctx context.Context, events []*schema.CuratedEvent) (*Batch, error) {
	keys := make([]string, 0, 2*len(events))
	for _, e := range events {
		keys = append(keys, s.SubjectKey(e.Purpose, e.Subject), s.TenantKey(e.Purpose, e.Tenant))
	}
	entries, epoch, err := s.load(ctx, keys, true)
	if err != nil {
		return nil, err
	}
	// Every record's nonce from one read of the system's random source.
	nonces := make([]byte, len(events)*nonceSize)
	if _, err := rand.Read(nonces); err != nil {
		return nil, err
	}
	return &Batch{s: s, events: events, entries: entries, epoch: epoch, nonces: nonces}, nil
}

// Seal seals events[i] of the prepared batch in place, or withholds it (and
// says so) when its subject or tenant was erased at or after its consent
// version. Safe for concurrent use with distinct i.
func (b *Batch) Seal(i int) (withheld bool, err error) {
	s, e := b.s, b.events[i]
	se, te := b.entries[s.SubjectKey(e.Purpose, e.Subject)], b.entries[s.TenantKey(e.Purpose, e.Tenant)]
	if !se.live || !te.live {
		return false, fmt.Errorf("shred: key store returned no key for a record")
	}
	if se.covers(e.ConsentVersion) || te.covers(e.TenantConsentVersion) {
		withhold(e)
		return true, nil
	}
	aead, err := s.aead(se.key, te.key, e.Purpose, b.epoch)
	if err != nil {
		return false, err
	}
	seal(e, aead, se.gen, te.gen, b.nonces[i*nonceSize:(i+1)*nonceSize])
	return false, nil
}

// Outcome of opening one record.
type Outcome int

const (
	// Clear: the record was not sealed (written before encryption); as it is.
	Clear Outcome = iota
	// Opened: the content is restored.
	Opened
	// Erased: the record belongs to an erased subject or tenant — withheld at
	// curation, or a key it was sealed under was replaced by an erasure (or by a
	// newer key after a re-grant). Its content is gone for good.
	Erased
	// Missing: no key and no tombstone of its subject or tenant: the key store
	// lost its data (flushed, restored without it) or the record outlived the
	// key's TTL. The content cannot be read either.
	Missing
)

func (o Outcome) String() string {
	return [...]string{"clear", "opened", "erased", "missing"}[o]
}

// Open restores the content of each sealed event in place (one round trip
// for every key not cached; readers never create keys). outcomes[i] says what
// became of events[i]; errs[i] is set for a record whose sealed value is
// malformed or does not open with the keys it names (altered or moved). An
// error (the key store unreachable) opens nothing.
func (s *Store) Open(ctx context.Context, events []*schema.CuratedEvent) (outcomes []Outcome, errs []error, err error) {
	var keys []string
	for _, e := range events {
		if len(e.Sealed) > 0 && e.Sealed[0] == VersionSeal {
			keys = append(keys, s.SubjectKey(e.Purpose, e.Subject), s.TenantKey(e.Purpose, e.Tenant))
		}
	}
	entries, epoch, err := s.load(ctx, keys, false)
	if err != nil {
		return nil, nil, err
	}
	outcomes, errs = make([]Outcome, len(events)), make([]error, len(events))
	for i, e := range events {
		switch {
		case e.Sealed == nil:
			continue // Clear
		case len(e.Sealed) == 1 && e.Sealed[0] == VersionEmpty:
			outcomes[i] = Erased
			continue
		}
		sg, tg, gerr := gens(e.Sealed)
		if gerr != nil {
			errs[i] = gerr
			continue
		}
		se, te := entries[s.SubjectKey(e.Purpose, e.Subject)], entries[s.TenantKey(e.Purpose, e.Tenant)]
		switch {
		case !se.present || !te.present:
			if (se.present && !se.live) || (te.present && !te.live) {
				outcomes[i] = Erased
			} else {
				outcomes[i] = Missing
			}
			continue
		case !se.live || !te.live || se.gen != sg || te.gen != tg:
			outcomes[i] = Erased
			continue
		}
		aead, err := s.aead(se.key, te.key, e.Purpose, epoch)
		if err != nil {
			return nil, nil, err
		}
		if errs[i] = open(e, aead); errs[i] == nil {
			outcomes[i] = Opened
		}
	}
	return outcomes, errs, nil
}
