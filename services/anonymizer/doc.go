// Package anonymizer is consentflow's anonymization stage. It consumes
// events.consented, applies the field actions of the InteractionEvent schema's
// annotations (drop, pseudonymize, truncate_ip, coarsen_time,
// generalize_location, keep, redact, allowlist_keys) and writes CuratedEvents to
// events.curated keyed by the subject's pseudonym; records it cannot decode go to
// events.dlq. A second consumer of consent.changes turns every DENIED change for
// its purpose into an Erasure on dataset.erasures carrying the subject's
// pseudonyms under every retained key.
//
// The pseudonymization keyring lives only here (see internal/keyring for the
// pseudonym format and key rotation). Run is the service; cmd/anonymizer is its
// binary.
package anonymizer
