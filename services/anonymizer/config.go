package anonymizer

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
	"github.com/consentflow/consentflow/services/anonymizer/internal/keyring"
)

// Config is the anonymizer's configuration, read from environment variables (see
// config.Load). Exactly one key source must be set: KEYRING_FILE, PSEUDONYM_KEYS or
// PSEUDONYM_EPHEMERAL=true.
type Config struct {
	// keyringWarning is set by loadKeyring when the keyring file is readable
	// by group or others.
	keyringWarning string
	// OpsAddr serves /healthz, /readyz and /metrics; empty disables it.
	OpsAddr string `env:"OPS_ADDR" envDefault:"127.0.0.1:9103" empty:"disables" help:"ops listen address for /healthz /readyz /metrics (empty disables it)"`
	stream.Config
	avro.RegistryConfig
	// Redis holds the data keys of curated records (crypto-shredding).
	Redis          redisconn.Config
	RedisNamespace string `env:"REDIS_NAMESPACE" envDefault:"cf" help:"prefix of every Redis key (the dataset-sink and curated readers use the same)"`
	// KeyTTL is how long a data key outlives its last use: at least the
	// retention of events.curated.
	KeyTTL time.Duration `env:"CURATED_KEY_TTL" envDefault:"744h" help:"data keys of curated records live this long after their last use (at least events.curated's retention, 30 days by default)"`
	// KeyCache is how long a data key read from Redis is used without asking
	// again.
	KeyCache time.Duration `env:"CURATED_KEY_CACHE" envDefault:"1s" help:"how long a data key is reused without asking Redis again (another process's erasure reaches this one within it)"`
	// Topics names the chain's topics (events.consented in; events.curated,
	// dataset.erasures and events.dlq out; consent.changes for erasures).
	Topics topics.Names

	// Purpose is the purpose of this chain; it is part of every pseudonym.
	Purpose string `env:"PURPOSE" envDefault:"ai_training" help:"purpose this chain serves (part of every pseudonym)"`
	// GroupID is the consumer group of events.consented.
	GroupID string `env:"ANONYMIZER_GROUP_ID" envDefault:"anonymizer" help:"consumer group of events.consented"`
	// ErasureGroupID is the consumer group of consent.changes.
	ErasureGroupID string `env:"ANONYMIZER_ERASURE_GROUP_ID" envDefault:"anonymizer-erasures" help:"consumer group of consent.changes (erasures)"`
	// ErasureMinBytes is how much of consent.changes a partition's fetch by the
	// erasure stage waits for, up to the reader's MaxWait (stream.DefaultMaxWait,
	// 1 s): the stage fetches a few times a second instead of once per change,
	// and a change's erasure may start up to that second later.
	ErasureMinBytes int `env:"ANONYMIZER_ERASURE_MIN_BYTES" envDefault:"2048" help:"bytes of consent.changes a fetch of the erasure stage waits for, at most 1 s (1: every change is fetched at once, one broker request per change or two)"`
	// MaxBatch bounds the records handled per batch.
	MaxBatch int `env:"ANONYMIZER_MAX_BATCH" envDefault:"500" help:"most records per batch"`
	// Workers anonymizes records of a batch in parallel (outputs keep their order).
	Workers int `env:"ANONYMIZER_WORKERS" help:"records of a batch anonymized in parallel (default: GOMAXPROCS, the cores the process may use)"`
	// Pipeline is how many anonymized batches may wait for their write while
	// the workers anonymize the next (stream.Loop.Pipeline).
	Pipeline int `env:"ANONYMIZER_PIPELINE" envDefault:"1" help:"batches anonymized ahead while the one before is written (0..8; 0 anonymizes, writes and commits one batch at a time)"`

	// KeyringFile is a keyring file: JSON {"active":id,"keys":{id:base64}} or lines id:base64.
	KeyringFile string `env:"KEYRING_FILE" help:"pseudonym keyring file: lines id:base64 (first active) or JSON {\"active\":id,\"keys\":{id:base64}}"`
	// Keys is the keyring inline: "k2:base64,k1:base64", the first active.
	Keys Secret `env:"PSEUDONYM_KEYS" help:"pseudonym keys inline: id:base64,id:base64 (first active, rest retained for erasures; each >= 32 bytes)"`
	// Ephemeral generates a random key at start (demo only: pseudonyms cannot be
	// recomputed after a restart).
	Ephemeral bool `env:"PSEUDONYM_EPHEMERAL" envDefault:"false" help:"generate a random pseudonym key at start (demo only)"`

	// PropertiesAllowlist names the event property keys that survive; the
	// values are redacted as free text. Empty: no property survives.
	PropertiesAllowlist []string `env:"PROPERTIES_ALLOWLIST" envSeparator:"," help:"property keys kept in curated events, comma separated (values are redacted; empty keeps none)"`
	// TimeGranularity is what timestamps are truncated to; it must divide 24h.
	TimeGranularity time.Duration `env:"TIME_GRANULARITY" envDefault:"1h" help:"timestamps are truncated to this (must divide 24h)"`
}

// maxFetchBytes is the most a reader fetches at once (stream.NewReader's
// MaxBytes); a fetch's MinBytes cannot exceed it.
const maxFetchBytes = 16 << 20

// Secret is a configuration string that never prints (config.Secret).
type Secret = config.Secret

// Validate checks every value and reports all problems at once. Key material is
// parsed to be checked but never appears in an error.
func (c *Config) Validate() error {
	var p config.Problems
	if c.OpsAddr != "" {
		if _, _, err := net.SplitHostPort(c.OpsAddr); err != nil {
			p.Addf("OPS_ADDR", "want host:port, got %q", c.OpsAddr)
		}
	}
	p.Add(c.Config.Validate())
	p.Add(c.RegistryConfig.Validate())
	p.Add(c.Redis.Validate())
	if c.KeyTTL < time.Hour {
		p.Addf("CURATED_KEY_TTL", "must be at least 1h (and at least the retention of events.curated), got %s", c.KeyTTL)
	}
	if c.KeyCache < 0 || c.KeyCache > time.Minute {
		p.Addf("CURATED_KEY_CACHE", "must be between 0 and 1m, got %s", c.KeyCache)
	}
	for name, v := range map[string]string{
		"TOPIC_EVENTS_CONSENTED": c.Topics.Consented, "TOPIC_EVENTS_CURATED": c.Topics.Curated,
		"TOPIC_CONSENT_CHANGES": c.Topics.Changes, "TOPIC_DATASET_ERASURES": c.Topics.Erasures, "TOPIC_EVENTS_DLQ": c.Topics.DLQ,
	} {
		if v == "" {
			p.Addf(name, "required")
		}
	}
	if c.Purpose == "" {
		p.Addf("PURPOSE", "required")
	}
	if c.GroupID == "" {
		p.Addf("ANONYMIZER_GROUP_ID", "required")
	}
	if c.ErasureGroupID == "" || c.ErasureGroupID == c.GroupID {
		p.Addf("ANONYMIZER_ERASURE_GROUP_ID", "required and different from ANONYMIZER_GROUP_ID")
	}
	if c.Workers < 0 {
		p.Addf("ANONYMIZER_WORKERS", "must not be negative, got %d", c.Workers)
	}
	if c.Pipeline < 0 || c.Pipeline > 8 {
		p.Addf("ANONYMIZER_PIPELINE", "must be 0..8, got %d", c.Pipeline)
	}
	if c.ErasureMinBytes < 1 || c.ErasureMinBytes > maxFetchBytes {
		p.Addf("ANONYMIZER_ERASURE_MIN_BYTES", "must be 1..%d, got %d", maxFetchBytes, c.ErasureMinBytes)
	}
	if c.MaxBatch < 1 {
		p.Addf("ANONYMIZER_MAX_BATCH", "must be at least 1, got %d", c.MaxBatch)
	}
	sources := 0
	for _, set := range []bool{c.KeyringFile != "", c.Keys != "", c.Ephemeral} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		p.Addf("KEYRING_FILE/PSEUDONYM_KEYS/PSEUDONYM_EPHEMERAL", "set exactly one key source, got %d", sources)
	}
	if c.Keys != "" {
		if _, err := keyring.ParseList(string(c.Keys)); err != nil {
			p.Addf("PSEUDONYM_KEYS", "%v", err)
		}
	}
	for _, k := range c.PropertiesAllowlist {
		if strings.TrimSpace(k) == "" {
			p.Addf("PROPERTIES_ALLOWLIST", "empty key in list")
			break
		}
	}
	if c.TimeGranularity < time.Millisecond || (24*time.Hour)%c.TimeGranularity != 0 {
		p.Addf("TIME_GRANULARITY", "must be at least 1ms and divide 24h evenly, got %s", c.TimeGranularity)
	}
	return p.Err()
}

// DefaultConfig returns the documented defaults (what config.Load yields with an
// empty environment) with an ephemeral key, convenient for tests and the demo.
func DefaultConfig() Config {
	var c Config
	if err := config.LoadFrom(&c, map[string]string{"PSEUDONYM_EPHEMERAL": "true"}); err != nil {
		// The defaults are constants of this file; they always parse.
		panic(fmt.Sprintf("anonymizer defaults: %v", err))
	}
	return c
}

// loadKeyring builds the keyring from the configured source. ephemeral reports
// whether it was generated.
func (c *Config) loadKeyring() (kr *keyring.Keyring, ephemeral bool, err error) {
	switch {
	case c.KeyringFile != "":
		kr, c.keyringWarning, err = keyring.LoadFile(c.KeyringFile)
	case c.Keys != "":
		kr, err = keyring.ParseList(string(c.Keys))
		if err != nil {
			err = fmt.Errorf("PSEUDONYM_KEYS: %w", err)
		}
	case c.Ephemeral:
		kr, err = keyring.Ephemeral()
		ephemeral = true
	default:
		err = fmt.Errorf("no pseudonym key source configured")
	}
	return kr, ephemeral, err
}
