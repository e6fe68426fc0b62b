package consentstore

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// layout names the key layout; it is part of every key, so a store of
// another layout (an older consentflow) is invisible to this one and this
// one rebuilds its own from consent.changes. Bump it when keys or record
// fields change meaning.
const layout = "v2"

// keys computes every Redis key and channel name of one namespace; see the
// package doc for the layout.
type keys struct {
	ns      string // namespace + ":" + layout
	buckets int
}

func newKeys(namespace string, buckets int) keys {
	return keys{ns: namespace + ":" + layout, buckets: buckets}
}

func (k keys) meta() string { return k.ns + ":meta" }

func (k keys) bucketTag(b int) string { return "{" + k.ns + ":b" + strconv.Itoa(b) + "}" }

func (k keys) bucketMeta(b int) string { return k.bucketTag(b) + ":meta" }

func (k keys) bucketOf(purpose string, ref SubjectRef) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(ref.Code()))
	_, _ = h.Write([]byte{'/'})
	_, _ = h.Write([]byte(purpose))
	return int(h.Sum32() % uint32(k.buckets))
}

func (k keys) record(purpose string, ref SubjectRef) (key string, bucket int) {
	b := k.bucketOf(purpose, ref)
	return k.bucketTag(b) + ":c:" + purpose + ":" + ref.Code(), b
}

func (k keys) invalidatePrefix() string { return k.ns + ":invalidate:" }

func (k keys) reset() string { return k.ns + ":reset" }

const (
	fieldGen         = "gen"
	fieldComplete    = "complete"
	fieldBuckets     = "buckets"
	fieldStartedMS   = "started_ms"
	fieldCompletedMS = "completed_ms"
	fieldLegacy      = "legacy"
	endPrefix        = "end:"
	posPrefix        = "p:"
)

func validatePurpose(purpose string) error {
	if purpose == "" {
		return fmt.Errorf("purpose: empty")
	}
	if strings.ContainsAny(purpose, ":{}") {
		return fmt.Errorf("purpose %q: may not contain ':', '{' or '}'", purpose)
	}
	return nil
}
