// Package pipeline holds the anonymizer's two Kafka stages as stream.Handlers:
// Events turns a batch of events.consented records into events.curated records,
// Erasures turns a batch of consent.changes records into dataset.erasures
// records; both report the records they cannot process in a stream.BatchError.
// They are pure with respect to Kafka: they take fetched messages and return the
// messages to write; stream.Loop dead-letters the poison records, writes the
// rest with acks=all and commits the batch only afterwards.
package pipeline
