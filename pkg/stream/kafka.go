// Package stream owns delivery. It wraps segmentio/kafka-go with the pitfalls
// built out — readers consume with FetchMessage and commit explicitly and
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
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/zap"
)

// Config holds the Kafka connection settings shared by every service.
type Config struct {
	Brokers []string `env:"KAFKA_BROKERS" envDefault:"127.0.0.1:9092" envSeparator:"," help:"Kafka bootstrap servers, comma-separated"`
}

// Validate checks that brokers are given.
func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("KAFKA_BROKERS: at least one broker is required")
	}
	for _, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			return fmt.Errorf("KAFKA_BROKERS: empty entry in %q", strings.Join(c.Brokers, ","))
		}
	}
	return nil
}

// NewWriter returns a synchronous writer for messages that carry their own Topic.
// Keys are partitioned with murmur2, as Java clients and librdkafka do, so that a
// key maps to the same partition whoever writes it.
func NewWriter(brokers []string, logger *zap.Logger) *kafka.Writer {
	return &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Balancer:               &kafka.Murmur2Balancer{Consistent: true},
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           2 * time.Millisecond,
		BatchSize:              1000,
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

// ReaderConfig selects what a reader consumes.
type ReaderConfig struct {
	Brokers []string
	GroupID string
	Topic   string
	// MaxWait bounds how long a fetch waits for data; default 250ms.
	MaxWait time.Duration
}

// NewReader returns a consumer-group reader that starts from the earliest offset
// of a new group and commits only when told to, synchronously.
func NewReader(c ReaderConfig, logger *zap.Logger) *kafka.Reader {
	if c.MaxWait == 0 {
		c.MaxWait = 250 * time.Millisecond
	}
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:               c.Brokers,
		GroupID:               c.GroupID,
		Topic:                 c.Topic,
		MinBytes:              1,
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
