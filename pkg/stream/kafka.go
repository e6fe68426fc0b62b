// Package stream owns delivery. It is the one place that connects to Kafka
// (Config: brokers, TLS, SASL; every reader, writer, admin call and lag check is
// built here, and Check tells credentials a broker refuses from a broker that is
// down). It wraps segmentio/kafka-go with the pitfalls built out — readers consume with FetchMessage and commit explicitly and
// synchronously (never ReadMessage's auto-commit), writers wait for acks from all
// in-sync replicas with a small batch timeout and are never Async — and runs every
// stage's delivery loop (Loop): a Handler turns a batch into outputs and reports
// the records it cannot process (BatchError); one classifier (Permanent) sends
// poison to the dead-letter topic (Poison) and holds the batch on an outage;
// retries share one backoff (Retry); a record is committed once its outputs are
// acknowledged and, when the stage defers acknowledgement (Acks), once the stage
// says it is durable — per partition, contiguously.
package stream

import (
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// NewWriter returns a synchronous writer for messages that carry their own Topic.
// Keys are partitioned with murmur2, as Java clients and librdkafka do, so that a
// key maps to the same partition whoever writes it. The writer reuses a topic's
// metadata for a second (metadataCache) instead of having it rebuilt for every
// message. Each stage passes its own batch (WithMaxBatch) so that the writer's
// partition batches are sized from it (writerBatchSize).
func NewWriter(c Config, logger *zap.Logger, opts ...WriterOption) *kafka.Writer {
	o := writerOptions{maxBatch: DefaultMaxBatch, batchTimeout: 2 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	return &kafka.Writer{
		Addr:                   kafka.TCP(c.Brokers...),
		Transport:              newMetadataCache(c.security().transport),
		Balancer:               &kafka.Murmur2Balancer{Consistent: true},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           o.batchTimeout,
		BatchSize:              writerBatchSize(o.maxBatch),
		BatchBytes:             8 << 20,
		MaxAttempts:            5,
		WriteBackoffMin:        50 * time.Millisecond,
		WriteBackoffMax:        1 * time.Second,
		WriteTimeout:           10 * time.Second,
		ReadTimeout:            10 * time.Second,
		AllowAutoTopicCreation: false,
		Async:                  false,
		ErrorLogger:            errorLogger(logger),
	}
}

// DefaultMaxBatch is a Loop's batch when its stage sets none, and the batch a
// writer is sized for without WithMaxBatch.
const DefaultMaxBatch = 500

// WriterOption adjusts NewWriter's writer.
type WriterOption func(*writerOptions)

type writerOptions struct {
	maxBatch     int
	batchTimeout time.Duration
}

// WithMaxBatch says how many records the stage hands its writer at most in one
// batch (its own max batch: FILTER_MAX_BATCH, ANONYMIZER_MAX_BATCH,
// MAX_EVENTS_PER_REQUEST...); default DefaultMaxBatch.
func WithMaxBatch(n int) WriterOption {
	return func(o *writerOptions) {
		if n > 0 {
			o.maxBatch = n
		}
	}
}

// WithBatchTimeout sets how long records wait to share a partition's produce
// request with other records (default 2 ms).
func WithBatchTimeout(d time.Duration) WriterOption {
	return func(o *writerOptions) {
		if d > 0 {
			o.batchTimeout = d
		}
	}
}

// writerBatchSize is the most records a writer puts in one partition's produce
// request when its stage hands it at most maxBatch records at once: a quarter of
// the batch, at least 64, at most 1000. kafka-go reserves room for that many
// records (152 bytes each) whenever it opens a partition's batch, however few it
// then holds: a fixed 1000 cost 152 KB per partition per write — 1.8 MB for the
// consent-filter's 500-event batch over two six-partition topics, a third of all
// it allocated, and as much for a 1,000 ev/s trickle of tiny batches. A quarter
// covers a partition's share of a batch over six partitions (the topics' default)
// with room to spare, so a batch still goes in one request per partition; a
// topic with fewer partitions gets its larger share in several requests, and
// concurrent writes coalescing within the batch timeout fill a request at this
// size rather than at 1000.
func writerBatchSize(maxBatch int) int {
	return min(max(maxBatch/4, 64), 1000)
}

// ReaderConfig selects what a reader consumes.
type ReaderConfig struct {
	GroupID string
	Topic   string
	// MaxWait bounds how long a fetch waits for data; default 1s (see
	// DefaultMaxWait).
	MaxWait time.Duration
	// MinBytes is how much data a partition's fetch waits for (up to MaxWait)
	// before the broker answers; default 1: a record returns at once. A reader
	// of a topic of small, frequent records that may wait (the anonymizer's
	// erasure stage on consent.changes) sets more, so that it fetches a few times
	// a second instead of once per record: every fetch is a broker request.
	MinBytes int
}

// DefaultMaxWait is how long a consumer-group reader's fetch waits for data
// when its partition has none. Records never wait for it (a fetch returns as
// soon as one byte is there); it is how often an idle partition is asked again
// and, through kafka-go, how late the broker may answer: kafka-go asks the broker
// to wait MaxWait less a quarter of it (at most 1 s) and drops the connection
// when the answer is later than MaxWait, then dials again (ApiVersions, Metadata,
// two ListOffsets and a seek before the next fetch). At 250 ms a broker 63 ms
// late — a busy machine, a GC pause — made every idle partition's reader
// reconnect; at 1 s it may be 250 ms late, and an idle partition costs a fetch
// a second instead of four. A stage that stops or rebalances waits up to this
// for its fetches in flight.
const DefaultMaxWait = time.Second

// NewReader returns a consumer-group reader that starts from the earliest offset
// of a new group and commits only when told to, synchronously.
func NewReader(k Config, c ReaderConfig, logger *zap.Logger) *kafka.Reader {
	if c.MaxWait == 0 {
		c.MaxWait = DefaultMaxWait
	}
	if c.MinBytes <= 0 {
		c.MinBytes = 1
	}
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:               k.Brokers,
		Dialer:                k.dialer(),
		GroupID:               c.GroupID,
		Topic:                 c.Topic,
		MinBytes:              c.MinBytes,
		MaxBytes:              16 << 20,
		MaxWait:               c.MaxWait,
		StartOffset:           kafka.FirstOffset,
		CommitInterval:        0, // synchronous commits
		HeartbeatInterval:     1 * time.Second,
		SessionTimeout:        10 * time.Second,
		RebalanceTimeout:      10 * time.Second,
		JoinGroupBackoff:      500 * time.Millisecond,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        500 * time.Millisecond,
		WatchPartitionChanges: true,
		ErrorLogger:           errorLogger(logger),
	})
}

func errorLogger(l *zap.Logger) kafka.Logger {
	if l == nil {
		return nil
	}
	s := l.WithOptions(zap.AddCallerSkip(1)).Sugar()
	return kafka.LoggerFunc(func(msg string, args ...any) {
		s.Warnf("kafka: "+msg, args...)
	})
}

// NewPartitionReader returns a reader of one partition of topic without a
// consumer group (the materializer, ReadRange, tools); the caller sets its offset
// (SetOffset) and fetches. maxWait bounds how long a fetch waits for data
// (default 200ms); a reader that follows a topic should take DefaultMaxWait or
// more: the broker may answer at most a quarter of maxWait late before kafka-go
// drops the connection and dials again (DefaultMaxWait says why), while a
// reader of a range it closes at the end (ReadRange) pays maxWait once at Close.
func NewPartitionReader(k Config, topic string, partition int, maxWait time.Duration) *kafka.Reader {
	if maxWait == 0 {
		maxWait = 200 * time.Millisecond
	}
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers: k.Brokers, Dialer: k.dialer(), Topic: topic, Partition: partition,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: maxWait,
		ReadBackoffMin: 20 * time.Millisecond, ReadBackoffMax: 200 * time.Millisecond,
	})
}
