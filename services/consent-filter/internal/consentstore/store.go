package consentstore

import (
	"fmt"
	"regexp"

	"github.com/redis/go-redis/v9"
)

// Options configure a Store. Both sides (materializer and filter) must use
// the same values.
type Options struct {
	// Namespace prefixes every key and channel; default "cf". Letters,
	// digits, '_', '.', '-'.
	Namespace string
	// Buckets is the number of hash-tag buckets records are spread over
	// (1..1024, default 16). Changing it starts a new generation (a rebuild).
	Buckets int
	// LinkPurpose is the purpose under whose records identity links are
	// stored (the chain's purpose): a link is kept in the record hash of both
	// its subjects for that purpose, so one read gives a subject's consent
	// and links. Empty: links are not stored.
	LinkPurpose string
}

// Store reads and writes consent state in Redis. It is safe for concurrent
// use; it works with a single node, Sentinel or Cluster client.
type Store struct {
	rdb         redis.UniversalClient
	k           keys
	scripts     scripts
	linkPurpose string
}

// New returns a Store on rdb. It does not contact Redis.
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if opts.Namespace == "" {
		opts.Namespace = "cf"
	}
	if opts.Buckets == 0 {
		opts.Buckets = 16
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_.-]+$`).MatchString(opts.Namespace) {
		return nil, fmt.Errorf("consentstore: namespace %q: want letters, digits, '_', '.', '-'", opts.Namespace)
	}
	if opts.Buckets < 1 || opts.Buckets > 1024 {
		return nil, fmt.Errorf("consentstore: buckets %d: want 1..1024", opts.Buckets)
	}
	if rdb == nil {
		return nil, fmt.Errorf("consentstore: nil redis client")
	}
	if opts.LinkPurpose != "" {
		if err := validatePurpose(opts.LinkPurpose); err != nil {
			return nil, fmt.Errorf("consentstore: link purpose: %w", err)
		}
	}
	return &Store{rdb: rdb, k: newKeys(opts.Namespace, opts.Buckets), scripts: newScripts(), linkPurpose: opts.LinkPurpose}, nil
}
