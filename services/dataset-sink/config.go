// Package datasetsink consumes events.curated and dataset.erasures and publishes
// consented datasets for ML teams: exactly-once Parquet files on local disk or
// S3-compatible storage, an append-only erasure ledger, immutable snapshots with a
// dataset card and Croissant metadata, and an HTTP API to list and pull them.
package datasetsink

import (
	"net"
	"regexp"
	"time"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// Config is the dataset sink's configuration, read from the environment.
type Config struct {
	HTTPAddr string `env:"SINK_HTTP_ADDR" envDefault:"127.0.0.1:8083" empty:"disables" help:"dataset HTTP API listen address (empty disables it)"`
	OpsAddr  string `env:"OPS_ADDR" envDefault:"127.0.0.1:9104" empty:"disables" help:"ops server (/healthz /readyz /metrics) listen address (empty disables it)"`

	stream.Config
	avro.RegistryConfig
	GroupID string `env:"SINK_GROUP_ID" envDefault:"dataset-sink" help:"consumer group of events.curated (dataset.erasures uses <group>-erasures)"`
	Topics  topics.Names

	Storage     string `env:"DATASET_STORAGE" envDefault:"fs" help:"where datasets are stored: fs (DATASET_ROOT) or s3 (S3_*)"`
	Root        string `env:"DATASET_ROOT" envDefault:"./out/datasets" help:"local dataset root (fs storage), also holds the erasure ledger and staging files"`
	Dataset     string `env:"DATASET_NAME" envDefault:"ai_training" help:"dataset name (one per purpose chain)"`
	S3Endpoint  string `env:"S3_ENDPOINT" help:"S3-compatible endpoint URL (empty: AWS default for S3_REGION)"`
	S3Region    string `env:"S3_REGION" envDefault:"us-east-1" help:"S3 region"`
	S3Bucket    string `env:"S3_BUCKET" help:"S3 bucket (required with DATASET_STORAGE=s3)"`
	S3Prefix    string `env:"S3_PREFIX" help:"key prefix inside the bucket"`
	S3AccessKey string `env:"S3_ACCESS_KEY_ID" help:"S3 access key id"`
	S3SecretKey string `env:"S3_SECRET_ACCESS_KEY" help:"S3 secret access key"`
	S3PathStyle bool   `env:"S3_PATH_STYLE" envDefault:"true" help:"use path-style S3 URLs (MinIO and most S3-compatible servers)"`

	RotateRows     int           `env:"SINK_ROTATE_ROWS" envDefault:"100000" help:"close a file after this many offsets"`
	RotateBytes    int64         `env:"SINK_ROTATE_BYTES" envDefault:"134217728" help:"close a file when its estimated Parquet size reaches this many bytes"`
	RotateInterval time.Duration `env:"SINK_ROTATE_INTERVAL" envDefault:"1m" help:"close a file this long after its first row"`
	RowGroupRows   int64         `env:"SINK_ROW_GROUP_ROWS" envDefault:"65536" help:"maximum rows per Parquet row group"`
	DedupeWindow   int           `env:"SINK_DEDUPE_WINDOW" envDefault:"1000000" help:"recent event_ids remembered per partition to drop upstream duplicates (~25 bytes each; 0 disables)"`

	SnapshotInterval  time.Duration `env:"SNAPSHOT_INTERVAL" envDefault:"1h" help:"take a snapshot this often (0 disables the schedule; POST still works)"`
	SnapshotRetention time.Duration `env:"SNAPSHOT_RETENTION" envDefault:"720h" help:"a snapshot expires this long after it is taken (the latest one is kept)"`
	PurgeDeadline     time.Duration `env:"ERASURE_PURGE_DEADLINE" envDefault:"72h" help:"an erasure is purged from every live snapshot within this time (rewrite or expire)"`
	PurgeCheck        time.Duration `env:"ERASURE_PURGE_CHECK" envDefault:"1m" help:"how often the purge deadline is checked"`

	Tokens string `env:"SINK_TOKENS" help:"API bearer tokens NAME:sha256:<hex>=SCOPES, comma separated; scopes datasets:read, datasets:write joined by | (empty: API open, loopback only)"`
}

var datasetName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Validate checks the configuration and reports every problem at once.
func (c *Config) Validate() error {
	var p config.Problems
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
