package producer

import (
	"os"
	"runtime/debug"
)

// DefaultGCPercent is the garbage collector's target (runtime/debug.SetGCPercent)
// the producer binary runs with unless GOGC is set. Ingest allocates ~1 MB per
// 500-event request (the body, the events, their records) and keeps almost
// none of it: Go's default (100) collected every few requests, a fifth of the
// producer's CPU at 500 events per request. At 400 the heap may grow to five
// times the live heap between collections; DefaultMemoryLimit bounds that.
const DefaultGCPercent = 400

// DefaultMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// the producer binary runs with unless GOMEMLIMIT is set: near it the
// collector runs as often as the live heap needs, whatever DefaultGCPercent
// allows. A target, not a cap: a heap that needs more gets it.
const DefaultMemoryLimit = 120 << 20

// SetGCDefaults applies DefaultGCPercent and DefaultMemoryLimit where GOGC and
// GOMEMLIMIT leave the runtime's defaults (the binary calls it before Run).
func SetGCDefaults() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(DefaultGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}
