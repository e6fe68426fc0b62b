package pipeline

import (
	"context"
	"errors"
	"net"
	"net/url"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/twmb/franz-go/pkg/sr"
)

// permanent reports whether a decode error belongs to the record (bad bytes, an
// unknown schema id, a record of the wrong shape), so that retrying cannot help and
// the record goes to the dead-letter topic. Errors of the schema registry's
// availability (network, timeouts, 5xx) are transient: the batch is retried, never
// dead-lettered.
func permanent(err error) bool {
	if errors.Is(err, avro.ErrNotWireFormat) {
		return true
	}
	if errors.Is(err, avro.ErrRegistryUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re *sr.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode >= 400 && re.StatusCode < 500 && re.StatusCode != 408 && re.StatusCode != 429
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return false
	}
	var ue *url.Error
	return !errors.As(err, &ue)
}
