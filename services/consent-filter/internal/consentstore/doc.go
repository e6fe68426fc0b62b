// Package consentstore is the Redis view of consent.changes: the
// materializer writes it (Writer), the filter and the consent API read it
// (Store.Lookup, CachedLookup), and both ask it whether it can be trusted
// (Store.Health, Store.Positions). Redis is a cache; Kafka is the truth; every
// path here fails closed.
//
// # Key layout
//
// All keys start with a namespace (Options.Namespace, default "cf") and the
// layout version ("v2"), so two chains (two purposes with their own
// materializers) can share one Redis, and a store written by an older layout
// is invisible to this one (which rebuilds its own from consent.changes). With
// namespace "cf" and B buckets (Options.Buckets, default 16):
//
//	cf:v2:meta                       hash  the generation: gen (random id),
//	                                       complete ("0"/"1"), buckets (B),
//	                                       started_ms, completed_ms, legacy
//	                                       ("1" once a legacy record is stored),
//	                                       end:<partition> (consent.changes end
//	                                       offsets recorded when the rebuild began)
//	{cf:v2:b<N>}:meta                hash  bucket N's generation and positions:
//	                                       gen, p:<partition> → next offset of that
//	                                       consent.changes partition whose changes
//	                                       are all applied to this bucket
//	{cf:v2:b<N>}:c:<purpose>:<code>  hash  a subject's latest change for purpose:
//	                                       s (GRANTED|DENIED), at (effective_at,
//	                                       unix ms), p, o (its Kafka partition and
//	                                       offset = version), tn (the tenant given
//	                                       with it); and, under the link purpose
//	                                       (Options.LinkPurpose), ln: the codes of
//	                                       the subjects linked to it, one a line
//
//	channel cf:v2:invalidate:<purpose>     message <code>: that record changed
//	                                       (published by the apply script itself,
//	                                       atomically with the write)
//	channel cf:v2:reset                    message <gen>: a new generation began;
//	                                       caches drop everything
//
// <code> is the subject's code (pkg/identity: user:<tenant>/<id>,
// anonymous:<tenant>/<id>, user:/<id> for a global id, tenant:<id>,
// legacy:<id>), with ids percent-encoded, so an id cannot break the key's
// structure or its hash tag. N = FNV-1a-32("<code>/<purpose>") mod B.
// Purposes may not contain ':'.
//
// # Why buckets, and not the consent.changes partition, as the hash tag
//
// Positions must be stored atomically with the data, and on Redis Cluster a
// Lua script may only touch keys of one slot. So every record and the
// position that covers it must share a hash tag. Two candidates:
//
//   - Tag = the consent.changes partition the change came from. The
//     materializer gets atomicity for free, but the filter must compute the
//     partition of "user:<id>/<purpose>" to find the record: it would have to
//     reproduce the producer's partitioner exactly (murmur2 for Java clients
//     and franz-go's default, FNV-1a for kafka-go's Hash balancer, CRC32 for
//     others) and the partition count; a different client library, a custom
//     partitioner or a partition increase silently sends lookups to the wrong
//     key, i.e. "no record" — which in an opt_out regime means allow. That is
//     a fail-open trap, so we do not do it.
//   - Tag = a bucket computed by this package from the record key alone (our
//     own FNV-1a, fixed here, independent of Kafka). The filter finds a record
//     from the subject and purpose, with no knowledge of Kafka. The cost: a
//     batch from one partition touches every bucket, so each bucket keeps its
//     own position vector (p:<partition>), and a batch is applied as one
//     script per bucket (B scripts in one pipeline), each updating that
//     bucket's records and positions atomically. The materializer's position
//     for a partition is the minimum over buckets (a bucket without a field
//     p:<partition> is at 0). This is the design chosen.
//
// Per-bucket positions also make partial loss on a cluster visible: if one
// shard restarts empty, its buckets lose their meta with their records; if
// it fails over to a replica that lags, that bucket's records and positions
// regress together (replication is ordered), never one without the other.
//
// Lookups are plain HMGETs of independent keys sent in one pipeline (go-redis
// splits a pipeline by node on a cluster); no MULTI, no multi-key command.
// The pipeline also reads each touched bucket's gen after the records (same
// slot, same connection, so ordered) and cf:meta, and Lookup fails with
// ErrNotReady unless every bucket is in the complete current generation:
// a record read is never trusted after a flush, even between health checks.
//
// # Generations: detecting a flush even when someone writes again
//
// Writer.Apply's script refuses to run (ErrGenerationLost) unless the
// bucket's gen equals the writer's. After FLUSHALL or a restart without
// persistence, every bucket lost its gen, so a materializer still holding
// old in-memory offsets cannot write records back and make a half-empty
// Redis look current. OpenWriter then starts a new generation: it writes
// cf:meta first with complete=0 (the filter pauses), then the bucket metas,
// publishes cf:reset, and the materializer replays consent.changes from the
// beginning; once every partition reaches the end offsets recorded at the
// start, complete=1 is set (with a gen check) and the filter may resume.
// Records of an earlier generation are kept: a replay rewrites each key's
// latest change and the version rule makes the result identical.
//
// Writer.Apply also passes the positions the writer believes the buckets
// are at, and a bucket that is behind them (failover to a lagging replica)
// fails the script with ErrPositionGap instead of jumping over the lost
// changes; the materializer reopens the writer and resumes from the
// (regressed) minimum.
//
// # Versions
//
// Per key, the change with the higher offset wins when both come from the
// same partition (a key of a compacted topic lives in one partition). If
// they come from different partitions (the topic's partition count was
// changed, which Kafka does not support for keyed data), the later
// effective_at wins, then the higher partition: deterministic, so replays
// in any order converge.
//
// # Caching
//
// CachedLookup is a bounded LRU with TTL in front of Store.Lookup. It is
// enabled only while its subscription to cf:invalidate:* and cf:reset is
// confirmed; on any subscription error or missed ping it clears itself and
// serves from Redis until it has resubscribed. Results fetched while an
// invalidation arrived are not cached. Its hits do not consult Redis, so the
// filter must keep gating on Store.Health (and may call Clear when it turns
// unhealthy).
//
// # Single writer
//
// Exactly one Writer per namespace may be active (the materializer reads
// all partitions of consent.changes). The generation id is a fencing token:
// an older writer that survives a new generation fails with
// ErrGenerationLost.
package consentstore
