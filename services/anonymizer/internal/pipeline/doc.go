// Package pipeline holds the anonymizer's two Kafka stages as stream.Handlers:
// Events turns a batch of events.consented records into events.curated records
// (and dead letters), Erasures turns a batch of consent.changes records into
// dataset.erasures records. Both are pure with respect to Kafka: they take fetched
// messages and return the messages to write; stream.Loop writes them with
// acks=all and commits the batch only afterwards.
package pipeline
