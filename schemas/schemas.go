// Package schemas embeds the Avro schemas that are consentflow's single source of
// truth for every record on its Kafka topics.
package schemas

import "embed"

// FS holds every *.avsc file of this folder.
//
//go:embed *.avsc
var FS embed.FS

// File names of the schemas in FS.
const (
	InteractionEvent = "interaction_event.avsc"
	CuratedEvent     = "curated_event.avsc"
	ConsentChange    = "consent_change.avsc"
	ConsentDecision  = "consent_decision.avsc"
	Erasure          = "erasure.avsc"
	ErasureReceipt   = "erasure_receipt.avsc"
)

// MustRead returns the text of a schema file in FS; it panics on an unknown name,
// which is a programming error.
func MustRead(name string) string {
	b, err := FS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}
