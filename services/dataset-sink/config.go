// Package datasetsink consumes events.curated and dataset.erasures and publishes
// consented datasets for ML teams: an Apache Iceberg table per dataset (SQL
// catalog on sqlite or PostgreSQL, data on local disk or S3-compatible storage)
// appended exactly once by any number of sink instances, erasures as
// copy-on-write commits recorded in a ledger kept with the catalog, snapshots as
// Iceberg tags with a dataset card and Croissant metadata, and an HTTP API to
// list and pull them.
package datasetsink

import (
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// DefaultMemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit)
// the dataset-sink binary runs with unless GOMEMLIMIT is set: 120 MiB, above a
// commit in flight with the next generation full behind it at the default
// SINK_ROTATE_BYTES (64 MiB of buffered rows' heap: 116-117 MiB of Go memory,
// TestCommittingAndFillingGenerationsStayUnderTheMemoryLimit). It bounds the
// Go runtime's memory, not the executable's code and tables mapped from its
// file (55-65 MiB of RSS). A target for the garbage collector, not a cap: a
// heap that needs more gets it, with the collector running more often. Lower
// limits cost the drain CPU: 80 MiB with a 40 MiB buffer took 25.7 instead of
// 13-14 CPU µs per row in BenchmarkSinkLive (README, "Memory").
const DefaultMemoryLimit = 120 << 20

// Config is the dataset sink's configuration, read from the environment.
type Config struct {
	HTTPAddr string `env:"SINK_HTTP_ADDR" envDefault:"127.0.0.1:8083" empty:"disables" help:"dataset HTTP API listen address (empty disables it)"`
	OpsAddr  string `env:"OPS_ADDR" envDefault:"127.0.0.1:9104" empty:"disables" help:"ops server (/healthz /readyz /metrics) listen address (empty disables it)"`
	// PprofAddr serves Go's profiles (heap, CPU, goroutines) for measuring the
	// sink's memory; a loopback address only, never on the ops port.
	PprofAddr string `env:"SINK_PPROF_ADDR" empty:"disables" help:"serve Go's /debug/pprof/ profiles on this loopback address (memory and CPU diagnosis; empty disables it)"`

	stream.Config
	avro.RegistryConfig
	GroupID string `env:"SINK_GROUP_ID" envDefault:"dataset-sink" help:"consumer group of events.curated (dataset.erasures uses <group>-erasures)"`
	Topics  topics.Names

	Storage     string `env:"DATASET_STORAGE" envDefault:"fs" help:"where dataset tables are stored: fs (DATASET_ROOT) or s3 (S3_*)"`
	Root        string `env:"DATASET_ROOT" envDefault:"./out/datasets" help:"local dataset root (fs storage: the table is DATASET_ROOT/DATASET_NAME), also the default sqlite catalog and the staging files"`
	Dataset     string `env:"DATASET_NAME" envDefault:"ai_training" help:"dataset name (one per purpose chain): the Iceberg table's name"`
	CatalogURI  string `env:"SINK_CATALOG_URI" help:"Iceberg SQL catalog (and erasure ledger) database: sqlite:PATH or postgres://user@host:port/db (several sink instances); empty: sqlite:DATASET_ROOT/catalog.db"`
	CatalogName string `env:"SINK_CATALOG_NAME" envDefault:"consentflow" help:"name of the SQL catalog (readers open it under this name)"`
	Namespace   string `env:"SINK_NAMESPACE" envDefault:"consentflow" help:"Iceberg namespace of the dataset tables"`
	S3Endpoint  string `env:"S3_ENDPOINT" help:"S3-compatible endpoint URL (empty: AWS default for S3_REGION)"`
	S3Region    string `env:"S3_REGION" envDefault:"us-east-1" help:"S3 region"`
	S3Bucket    string `env:"S3_BUCKET" help:"S3 bucket (required with DATASET_STORAGE=s3)"`
	S3Prefix    string `env:"S3_PREFIX" help:"key prefix inside the bucket"`
	S3AccessKey string `env:"S3_ACCESS_KEY_ID" help:"S3 access key id"`
	S3SecretKey string `env:"S3_SECRET_ACCESS_KEY" help:"S3 secret access key"`
	S3PathStyle bool   `env:"S3_PATH_STYLE" envDefault:"true" help:"use path-style S3 URLs (MinIO and most S3-compatible servers)"`

	RotateRows     int           `env:"SINK_ROTATE_ROWS" envDefault:"100000" help:"commit a partition's buffered rows after this many offsets"`
	RotateBytes    int64         `env:"SINK_ROTATE_BYTES" envDefault:"67108864" help:"bound of every buffered row's memory (Go heap: strings, slots), the commit in flight and the rows filling behind it together: the open rows are committed at half of it, and the stage waits there while a commit is in flight"`
	RotateInterval time.Duration `env:"SINK_ROTATE_INTERVAL" envDefault:"1m" help:"commit a partition's buffered rows this long after the first one (with every other open partition's, in one table commit)"`
	RowGroupRows   int64         `env:"SINK_ROW_GROUP_ROWS" envDefault:"65536" help:"maximum rows per Parquet row group"`
	DedupeWindow   int           `env:"SINK_DEDUPE_WINDOW" envDefault:"1000000" help:"recent event_ids remembered per partition to drop upstream duplicates (~25 bytes each; 0 disables)"`

	SnapshotInterval  time.Duration `env:"SNAPSHOT_INTERVAL" envDefault:"1h" help:"take a snapshot (an Iceberg tag) this often (0 disables the schedule; POST still works)"`
	SnapshotRetention time.Duration `env:"SNAPSHOT_RETENTION" envDefault:"720h" help:"a snapshot tag expires this long after it is taken (the latest one is kept)"`
	History           time.Duration `env:"TABLE_HISTORY_RETENTION" envDefault:"24h" help:"snapshots of the table's main branch are kept this long for time travel (less when an erasure is due)"`
	OrphanAge         time.Duration `env:"TABLE_ORPHAN_AGE" envDefault:"1h" help:"files under the table that no snapshot references are deleted once this old (must exceed the longest commit)"`
	PurgeDeadline     time.Duration `env:"ERASURE_PURGE_DEADLINE" envDefault:"72h" help:"an erasure is out of every snapshot tag and of the table's history (bytes deleted) within this time"`
	PurgeCheck        time.Duration `env:"ERASURE_PURGE_CHECK" envDefault:"1m" help:"how often the purge deadline, retention and orphan files are checked"`
	ErasureApply      time.Duration `env:"ERASURE_APPLY_INTERVAL" envDefault:"10s" help:"new erasures are applied to the table (a copy-on-write commit that scans every data file and rewrites those holding erased rows) at most this often; a snapshot applies them first whenever it is taken"`
	CompactInterval   time.Duration `env:"SINK_COMPACT_INTERVAL" envDefault:"1h" help:"how often small data files are compacted (0 disables)"`
	CompactMinFiles   int           `env:"SINK_COMPACT_MIN_FILES" envDefault:"8" help:"compact a day's data files smaller than 32 MiB once there are this many"`
	KeyIDs            []string      `env:"PSEUDONYM_KEY_IDS" envSeparator:"," help:"ids of the keys in the anonymizer's keyring (k1,k2): the sink refuses to run while rows use a key not listed; empty: not checked"`
	RetireKeys        []string      `env:"SINK_RETIRE_KEYS" envSeparator:"," help:"key ids being retired: their rows are removed from the table, its tags and history within ERASURE_PURGE_DEADLINE; drop the key from the keyring afterwards"`

	// Redis holds the data keys that open sealed curated records (read only:
	// the sink never creates or deletes one).
	Redis          redisconn.Config
	RedisNamespace string        `env:"REDIS_NAMESPACE" envDefault:"cf" help:"prefix of the Redis keys the anonymizer keeps curated data keys under"`
	KeyCache       time.Duration `env:"CURATED_KEY_CACHE" envDefault:"1s" help:"how long a data key read from Redis is reused (an erasure reaches the sink's reads within it; the ledger drops covered rows anyway)"`

	Tokens string `env:"SINK_TOKENS" help:"API bearer tokens NAME:sha256:<hex>=SCOPES, comma separated; scopes datasets:read, datasets:write joined by | (empty: API open, loopback only)"`
}

var datasetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Validate checks the configuration and reports every problem at once.
func (c *Config) Validate() error {
	var p config.Problems
	p.Add(c.Redis.Validate())
	if c.KeyCache < 0 || c.KeyCache > time.Minute {
		p.Addf("CURATED_KEY_CACHE", "must be between 0 and 1m, got %s", c.KeyCache)
	}
	if c.PprofAddr != "" && !loopback(c.PprofAddr) {
		p.Addf("SINK_PPROF_ADDR", "must be a loopback address (127.0.0.1:PORT, [::1]:PORT, localhost:PORT), got %q", c.PprofAddr)
	}
	if !datasetName.MatchString(c.Dataset) {
		p.Addf("DATASET_NAME", "want letters, digits, _ . -, got %q", c.Dataset)
	}
	switch c.Storage {
	case "fs":
	case "s3":
		if c.S3Bucket == "" {
			p.Addf("S3_BUCKET", "required with DATASET_STORAGE=s3")
		}
	default:
		p.Addf("DATASET_STORAGE", "want fs or s3, got %q", c.Storage)
	}
	if c.Root == "" {
		p.Addf("DATASET_ROOT", "must not be empty")
	}
	p.Add(c.Config.Validate())
	p.Add(c.RegistryConfig.Validate())
	if c.GroupID == "" {
		p.Addf("SINK_GROUP_ID", "must not be empty")
	}
	if c.Topics.Curated == "" || c.Topics.Erasures == "" || c.Topics.DLQ == "" {
		p.Addf("TOPIC_EVENTS_CURATED", "curated, erasure and dead-letter topic names must not be empty")
	}
	if c.RotateRows <= 0 {
		p.Addf("SINK_ROTATE_ROWS", "must be positive")
	}
	if c.RotateBytes <= 0 {
		p.Addf("SINK_ROTATE_BYTES", "must be positive")
	}
	if c.RotateInterval <= 0 {
		p.Addf("SINK_ROTATE_INTERVAL", "must be positive")
	}
	if c.RowGroupRows <= 0 {
		p.Addf("SINK_ROW_GROUP_ROWS", "must be positive")
	}
	if c.SnapshotInterval < 0 {
		p.Addf("SNAPSHOT_INTERVAL", "must not be negative")
	}
	if c.SnapshotRetention <= 0 {
		p.Addf("SNAPSHOT_RETENTION", "must be positive")
	}
	if c.PurgeDeadline <= 0 {
		p.Addf("ERASURE_PURGE_DEADLINE", "must be positive")
	}
	if c.PurgeCheck <= 0 || (c.PurgeDeadline > 0 && c.PurgeCheck > c.PurgeDeadline/2) {
		p.Addf("ERASURE_PURGE_CHECK", "must be positive and at most half of ERASURE_PURGE_DEADLINE")
	}
	if c.History <= 0 {
		p.Addf("TABLE_HISTORY_RETENTION", "must be positive")
	}
	if c.OrphanAge < time.Minute {
		p.Addf("TABLE_ORPHAN_AGE", "must be at least 1m (younger files may belong to a commit in flight)")
	}
	if c.CompactInterval < 0 || c.CompactMinFiles < 2 {
		p.Addf("SINK_COMPACT_INTERVAL", "interval must not be negative and SINK_COMPACT_MIN_FILES at least 2")
	}
	if c.ErasureApply <= 0 {
		p.Addf("ERASURE_APPLY_INTERVAL", "must be positive")
	}
	if c.CatalogURI != "" && !strings.HasPrefix(c.CatalogURI, "sqlite:") && !strings.HasPrefix(c.CatalogURI, "postgres://") && !strings.HasPrefix(c.CatalogURI, "postgresql://") {
		p.Addf("SINK_CATALOG_URI", "want sqlite:PATH or postgres://..., got %q", c.CatalogURI)
	}
	if !datasetName.MatchString(c.Namespace) || !datasetName.MatchString(c.CatalogName) {
		p.Addf("SINK_NAMESPACE", "namespace and catalog name: want letters, digits, _ . -")
	}
	for _, k := range c.RetireKeys {
		if slices.Contains(c.KeyIDs, k) {
			p.Addf("SINK_RETIRE_KEYS", "%s is also in PSEUDONYM_KEY_IDS: a key is either kept or retired", k)
		}
	}
	if c.DedupeWindow < 0 {
		p.Addf("SINK_DEDUPE_WINDOW", "must not be negative")
	}
	tokens, err := auth.ParseTokens(c.Tokens)
	if err != nil {
		p.Addf("SINK_TOKENS", "%v", err)
	} else if tokens.Len() == 0 && c.HTTPAddr != "" && !loopback(c.HTTPAddr) {
		p.Addf("SINK_HTTP_ADDR", "without SINK_TOKENS the API may only listen on a loopback address, got %q", c.HTTPAddr)
	}
	return p.Err()
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
