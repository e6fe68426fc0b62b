package stream

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"
)

// Dead-letter header names.
const (
	HeaderError           = "error"
	HeaderStage           = "stage"
	HeaderSourceTopic     = "source-topic"
	HeaderSourcePartition = "source-partition"
	HeaderSourceOffset    = "source-offset"
	HeaderFailedAt        = "failed-at"
)

const maxErrorHeader = 512

// DeadLetter builds the dead-letter record of m for topic dlq: the original key,
// value and headers unchanged, plus error, stage, source topic/partition/offset and
// the time. cause must not carry payload data (the header is truncated to 512 bytes
// as a last guard, not as a filter).
func DeadLetter(m kafka.Message, dlq, stage string, cause error) kafka.Message {
	reason := "unknown"
	if cause != nil {
		reason = cause.Error()
	}
	if len(reason) > maxErrorHeader {
		cut := maxErrorHeader
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	headers := make([]kafka.Header, 0, len(m.Headers)+6)
	headers = append(headers, m.Headers...)
	headers = append(headers,
		kafka.Header{Key: HeaderError, Value: []byte(reason)},
		kafka.Header{Key: HeaderStage, Value: []byte(stage)},
		kafka.Header{Key: HeaderSourceTopic, Value: []byte(m.Topic)},
		kafka.Header{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(m.Partition))},
		kafka.Header{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
		kafka.Header{Key: HeaderFailedAt, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
	)
	return kafka.Message{Topic: dlq, Key: m.Key, Value: m.Value, Headers: headers}
}

// Header returns the value of the first header named key, or nil.
func Header(m kafka.Message, key string) []byte {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return nil
}
