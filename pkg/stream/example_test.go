package stream_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/stream/streamtest"
)

// A stage that upper-cases values: one record cannot be processed and goes to
// the dead-letter topic, the others reach the output, and the input is committed
// once both are written.
func ExampleLoop() {
	in := streamtest.NewReader(
		kafka.Message{Topic: "in", Offset: 0, Value: []byte("a")},
		kafka.Message{Topic: "in", Offset: 1, Value: []byte("")},
		kafka.Message{Topic: "in", Offset: 2, Value: []byte("c")},
	)
	out := &streamtest.Writer{}
	loop := &stream.Loop{Name: "upper", Reader: in, Writer: out, DLQ: "dlq",
		Handler: func(_ context.Context, batch []kafka.Message) ([]kafka.Message, error) {
			var res []kafka.Message
			var failed stream.BatchError
			for i, m := range batch {
				if len(m.Value) == 0 {
					failed.Add(i, "invalid", errors.New("empty value"))
					continue
				}
				res = append(res, kafka.Message{Topic: "out", Value: []byte{m.Value[0] - 'a' + 'A'}})
			}
			return res, failed.Err()
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- loop.Run(ctx) }()
	for in.Committed(0) < 3 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	for _, m := range out.Written() {
		fmt.Printf("%s %q", m.Topic, m.Value)
		if reason := stream.Header(m, stream.HeaderError); reason != nil {
			fmt.Printf(" (%s)", reason)
		}
		fmt.Println()
	}
	fmt.Println("committed up to", in.Committed(0))
	// Output:
	// out "A"
	// out "C"
	// dlq "" (empty value)
	// committed up to 3
}

// A sink holds its input until a file is published, then acknowledges the
// file's offset range; the loop commits only what is acknowledged.
func ExampleAcks() {
	in := streamtest.NewReader(
		kafka.Message{Topic: "in", Partition: 0, Offset: 0},
		kafka.Message{Topic: "in", Partition: 0, Offset: 1},
		kafka.Message{Topic: "in", Partition: 1, Offset: 7},
	)
	acks := stream.NewAcks()
	held := make(chan kafka.Message, 3)
	loop := &stream.Loop{Name: "sink", Reader: in, Writer: &streamtest.Writer{}, Acks: acks,
		Handler: func(_ context.Context, batch []kafka.Message) ([]kafka.Message, error) {
			for _, m := range batch {
				held <- m // durable later
			}
			return nil, nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- loop.Run(ctx) }()
	for range 3 {
		<-held
	}
	acks.AckThrough(1, 7) // partition 1's file is published first
	for in.Committed(1) < 8 {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("partition 0:", in.Committed(0), "partition 1:", in.Committed(1))
	acks.AckThrough(0, 1)
	for in.Committed(0) < 2 {
		time.Sleep(time.Millisecond)
	}
	fmt.Println("partition 0:", in.Committed(0), "partition 1:", in.Committed(1))
	cancel()
	<-done
	// Output:
	// partition 0: 0 partition 1: 8
	// partition 0: 2 partition 1: 8
}
