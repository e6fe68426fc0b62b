package consentstore

import "errors"

var (
	// ErrNotReady means Redis does not hold a complete, current generation
	// (flushed, rebuilding, a bucket lost): the caller must not decide on
	// what it would read and must pause.
	ErrNotReady = errors.New("consent store not ready")
	// ErrGenerationLost means the writer's generation is gone (flush,
	// restart without persistence, a newer writer): reopen the writer with
	// OpenWriter and seek to its Positions.
	ErrGenerationLost = errors.New("consent store generation lost")
	// ErrPositionGap means a bucket is behind the writer's positions (e.g.
	// failover to a lagging replica): reopen the writer with OpenWriter and
	// seek to its Positions.
	ErrPositionGap = errors.New("consent store position gap")
	// ErrInvalidChange wraps validation failures of Change values.
	ErrInvalidChange = errors.New("invalid consent change")
)
