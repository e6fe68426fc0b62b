// Package avro encodes and decodes records in the Confluent wire format (magic byte
// 0, 4-byte big-endian schema id, Avro binary body), with schema ids from a
// Confluent-compatible schema registry and codecs from linkedin/goavro.
package avro

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// maxCollectionItems bounds the item count an Avro array or map block may
// announce. goavro sizes its slice or map from the announced count before it
// reads a single item, and by default allows two billion: ten bytes on any
// topic would make every consumer allocate tens of gigabytes and die. The
// largest collection our schemas carry is far smaller (at most 100 event
// properties, one pseudonym per retained key), so a larger count is an error,
// which the stages dead-letter as poison. goavro keeps the bound in a package
// variable; setting it here covers every decoder in the process, because every
// record is decoded through this package.
const maxCollectionItems = 1 << 16

func init() { goavro.MaxBlockCount = maxCollectionItems }

// ErrNotWireFormat marks bytes that do not start with the Confluent wire header.
var ErrNotWireFormat = errors.New("not in Confluent wire format")

// ErrRegistryUnavailable marks a failure to reach the schema registry, as opposed
// to a registry that answered that the schema does not exist: the first is worth
// retrying, the second makes the record undecodable for good.
var ErrRegistryUnavailable = errors.New("schema registry unavailable")

// Serde registers schemas and encodes and decodes wire-format records. It caches
// codecs by schema id; it is safe for concurrent use.
type Serde struct {
	client *sr.Client
	server string // names the registry in errors

	mu     sync.RWMutex
	codecs map[int]*goavro.Codec
}

// NewSerde returns a Serde over a schema registry client.
func NewSerde(client *sr.Client) *Serde {
	return &Serde{client: client, codecs: map[int]*goavro.Codec{}}
}

// Register registers schemaText under subject (idempotent in the registry) and
// returns its id. The registry enforces its compatibility rules.
func (s *Serde) Register(ctx context.Context, subject, schemaText string) (int, error) {
	codec, err := goavro.NewCodec(schemaText)
	if err != nil {
		return 0, fmt.Errorf("compile schema for %s: %w", subject, err)
	}
	ss, err := s.client.CreateSchema(ctx, subject, sr.Schema{Schema: schemaText, Type: sr.TypeAvro})
	if err != nil {
		if r := s.rejection(err); r != nil {
			err = r
		}
		return 0, fmt.Errorf("register schema %s: %w", subject, err)
	}
	s.mu.Lock()
	s.codecs[ss.ID] = codec
	s.mu.Unlock()
	return ss.ID, nil
}

// Encode encodes native (goavro's native form) with the codec of schema id, which
// must have been registered or fetched by this Serde.
func (s *Serde) Encode(id int, native any) ([]byte, error) {
	s.mu.RLock()
	codec := s.codecs[id]
	s.mu.RUnlock()
	if codec == nil {
		return nil, fmt.Errorf("encode: schema id %d not registered here", id)
	}
	buf := make([]byte, 5, 256)
	binary.BigEndian.PutUint32(buf[1:], uint32(id))
	out, err := codec.BinaryFromNative(buf, native)
	if err != nil {
		return nil, fmt.Errorf("encode with schema %d: %w", id, err)
	}
	return out, nil
}

// Decode decodes a wire-format record into goavro's native form, fetching the
// writer's schema from the registry when its id is new. Errors wrap
// ErrNotWireFormat for bytes without the header.
func (s *Serde) Decode(ctx context.Context, b []byte) (any, int, error) {
	if len(b) < 5 || b[0] != 0 {
		return nil, 0, ErrNotWireFormat
	}
	id := int(binary.BigEndian.Uint32(b[1:5]))
	codec, err := s.codec(ctx, id)
	if err != nil {
		return nil, id, err
	}
	native, rest, err := codec.NativeFromBinary(b[5:])
	if err != nil {
		return nil, id, fmt.Errorf("decode with schema %d: %w", id, err)
	}
	if len(rest) != 0 {
		return nil, id, fmt.Errorf("decode with schema %d: %d trailing bytes", id, len(rest))
	}
	return native, id, nil
}

// recordName is the full name of the record schema a codec reads or writes
// ("io.consentflow.v1.ConsentChange"); "" for a schema that is not a record.
func recordName(c *goavro.Codec) string {
	var sch struct {
		Type      any    `json:"type"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	}
	if json.Unmarshal([]byte(c.Schema()), &sch) != nil || sch.Type != "record" {
		return ""
	}
	if sch.Namespace != "" && !strings.Contains(sch.Name, ".") {
		return sch.Namespace + "." + sch.Name
	}
	return sch.Name
}

func (s *Serde) codec(ctx context.Context, id int) (*goavro.Codec, error) {
	s.mu.RLock()
	codec := s.codecs[id]
	s.mu.RUnlock()
	if codec != nil {
		return codec, nil
	}
	sch, err := s.client.SchemaByID(ctx, id)
	if err != nil {
		// The registry answered that it has no such schema (4xx): the record is
		// poison. Anything else — no answer, 5xx, a timeout (408), a rate limit
		// (429), or the registry refusing this client (401, 403, 407: expired
		// credentials are not the record's fault) — is an outage, retried.
		var re *sr.ResponseError
		if errors.As(err, &re) && re.StatusCode >= 400 && re.StatusCode < 500 && !refused(err) &&
			re.StatusCode != http.StatusRequestTimeout && re.StatusCode != http.StatusTooManyRequests {
			return nil, fmt.Errorf("schema %d: %w", id, err)
		}
		return nil, fmt.Errorf("fetch schema %d: %w: %v", id, ErrRegistryUnavailable, err)
	}
	if sch.Type != sr.TypeAvro && sch.Type != 0 {
		return nil, fmt.Errorf("schema %d is %s, not Avro", id, sch.Type)
	}
	codec, err = goavro.NewCodec(sch.Schema)
	if err != nil {
		return nil, fmt.Errorf("compile schema %d: %w", id, err)
	}
	s.mu.Lock()
	s.codecs[id] = codec
	s.mu.Unlock()
	return codec, nil
}
