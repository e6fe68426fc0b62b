package stream

import (
	"sort"
	"sync"

	"github.com/segmentio/kafka-go"
)

// Acks is the acknowledgement ledger of a loop whose handler makes its input
// durable later than it returns (a sink that publishes files, a table commit):
// give it to Loop.Acks, keep it in the handler, and acknowledge records once
// they are durable — from the handler, from a timer, from another goroutine, in
// any order across partitions and within one. A record is committed only when it
// is acknowledged here and the loop has written its outputs (or its dead
// letter); commits stay contiguous per partition: the loop commits, for each
// partition, up to the first record that is not done yet.
//
// Without Loop.Acks every record is done once its outputs are written.
type Acks struct {
	mu       sync.Mutex
	deferred bool
	topic    string
	parts    map[int]*partition
	// notify is signalled (never blocking) when acknowledgements may have moved
	// a commit point.
	notify chan struct{}
}

// partition is the state of one partition: the records fetched and not yet
// committed, in offset order.
type partition struct {
	pending []entry
	// fetched is the highest offset handed to the handler (-1: none).
	fetched int64
	// through: every record up to this offset is acknowledged (AckThrough).
	through int64
	// committed is the next offset the group has committed (-1: unknown).
	committed int64
}

type entry struct {
	offset  int64
	written bool // outputs (or dead letter) acknowledged by Kafka
	acked   bool // acknowledged by the handler (Ack)
}

// NewAcks returns an empty ledger for a loop with deferred acknowledgement.
func NewAcks() *Acks { return newAcks(true) }

func newAcks(deferred bool) *Acks {
	return &Acks{deferred: deferred, parts: map[int]*partition{}, notify: make(chan struct{}, 1)}
}

// Ack acknowledges msgs: they are durable as far as the handler is concerned.
// Records the loop no longer tracks (committed, or from before a rebalance) are
// ignored.
func (a *Acks) Ack(msgs ...kafka.Message) {
	a.mark(msgs, func(e *entry) { e.acked = true })
	a.signal()
}

// mark applies set to the tracked entry of every record of msgs.
func (a *Acks) mark(msgs []kafka.Message, set func(*entry)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range msgs {
		p := a.parts[m.Partition]
		if p == nil {
			continue
		}
		if i, ok := p.find(m.Offset); ok {
			set(&p.pending[i])
		}
	}
}

// AckThrough acknowledges every record of partition up to and including offset,
// fetched already or not yet (a redelivery of a durable record is done at once).
func (a *Acks) AckThrough(partition int, offset int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.part(partition)
	if offset > p.through {
		p.through = offset
		a.signal()
	}
}

func (a *Acks) signal() {
	select {
	case a.notify <- struct{}{}:
	default:
	}
}

func (a *Acks) part(n int) *partition {
	p := a.parts[n]
	if p == nil {
		p = &partition{fetched: -1, through: -1, committed: -1}
		a.parts[n] = p
	}
	return p
}

// find returns the index of offset in p.pending.
func (p *partition) find(offset int64) (int, bool) {
	i := sort.Search(len(p.pending), func(i int) bool { return p.pending[i].offset >= offset })
	return i, i < len(p.pending) && p.pending[i].offset == offset
}

// fetched registers records handed to the handler. A record at or below the
// highest offset fetched so far on its partition is a redelivery (the group
// rebalanced, or the reader reconnected at the committed offset): the records
// from there on are forgotten and tracked anew, and the group's commit is taken
// to be there.
func (a *Acks) fetched(batch []kafka.Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range batch {
		a.topic = m.Topic
		p := a.part(m.Partition)
		switch {
		case p.fetched < 0:
			// The reader starts at the group's committed offset (or the first
			// offset of a new group): nothing below it needs committing.
			p.committed = m.Offset
		case m.Offset <= p.fetched:
			i, _ := p.find(m.Offset)
			p.pending = p.pending[:i]
			p.committed = m.Offset
		}
		p.fetched = m.Offset
		p.pending = append(p.pending, entry{offset: m.Offset, acked: !a.deferred})
	}
}

// written marks the batch's outputs and dead letters acknowledged by Kafka.
func (a *Acks) written(batch []kafka.Message) {
	a.mark(batch, func(e *entry) { e.written = true })
}

// commitPoints returns, for every partition whose commit point moved past what
// was committed, the record to pass to CommitMessages (kafka-go commits its
// offset + 1): the offset before the first record not done yet, or the last one
// fetched when all are done.
func (a *Acks) commitPoints() []kafka.Message {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []kafka.Message
	for n, p := range a.parts {
		done := 0
		for done < len(p.pending) {
			e := p.pending[done]
			if !e.written || !(e.acked || e.offset <= p.through) {
				break
			}
			done++
		}
		next := p.fetched + 1
		if done < len(p.pending) {
			next = p.pending[done].offset
		}
		p.pending = p.pending[done:]
		if p.fetched >= 0 && next > p.committed {
			out = append(out, kafka.Message{Topic: a.topic, Partition: n, Offset: next - 1})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Partition < out[j].Partition })
	return out
}

// committed records that the group committed msgs (as returned by
// commitPoints).
func (a *Acks) committed(msgs []kafka.Message) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range msgs {
		p := a.part(m.Partition)
		p.committed = max(p.committed, m.Offset+1)
	}
}
