// Package consentfilter is the consent-filter service: the consent API, the
// materializer that keeps Redis in step with consent.changes, and the filter that
// passes on only the events whose subject consented, failing closed.
package consentfilter

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
	"github.com/consentflow/consentflow/services/consent-filter/policy"
)

// Config of the consent-filter, from the environment.
type Config struct {
	stream.Config
	avro.RegistryConfig
	topics.Names

	Redis          redisconn.Config
	RedisNamespace string        `env:"REDIS_NAMESPACE" envDefault:"cf" help:"prefix of every Redis key (one per chain sharing a Redis)"`
	HTTPAddr       string        `env:"CONSENT_HTTP_ADDR" envDefault:"127.0.0.1:8081" help:"consent API listen address (use :8081 in containers)"`
	OpsAddr        string        `env:"OPS_ADDR" envDefault:"127.0.0.1:9102" empty:"disables" help:"/healthz, /readyz, /metrics listen address; empty disables"`
	Purpose        string        `env:"PURPOSE" envDefault:"ai_training" help:"the purpose this chain filters for"`
	PolicyFile     string        `env:"POLICY_FILE" help:"consent policy YAML; empty uses the built-in default"`
	Tokens         string        `env:"CONSENT_TOKENS" help:"bearer tokens NAME:sha256:<hex>=SCOPES[;tenant=TENANT],... with scopes consent:read, consent:write, consent:import; ;tenant= binds a token to one tenant (see pkg/auth)"`
	AuditKey       string        `env:"AUDIT_KEY" help:"base64 key (>= 32 bytes) for subject references in consent.decisions"`
	AuditEphemeral bool          `env:"AUDIT_KEY_EPHEMERAL" envDefault:"false" help:"generate a random audit key at start (demo only: references do not survive a restart)"`
	AuditTime      time.Duration `env:"AUDIT_TIME_GRANULARITY" envDefault:"1h" help:"received_at and decided_at in consent.decisions are truncated to this (must divide 24h; keep it at least the anonymizer's TIME_GRANULARITY, or the audit trail undoes the datasets' coarsening)"`
	GroupID        string        `env:"FILTER_GROUP_ID" envDefault:"consent-filter" help:"consumer group of the filter on events.raw"`
	MaxLag         int64         `env:"MATERIALIZER_MAX_LAG" envDefault:"0" help:"consent changes the Redis state may be behind consent.changes before the filter pauses; above 0 an event may be decided before a withdrawal acknowledged just before it (the benchmark saw 1 in 100 withdrawals missed at 1000)"`
	LagWait        time.Duration `env:"FILTER_LAG_WAIT" envDefault:"0s" help:"how long a batch waits (re-reading the state's positions) for a materializer behind consent.changes by more than MATERIALIZER_MAX_LAG before the filter pauses it (0..5s; 0, the default, pauses at once: with 100ms the max-rate p99 of make bench rose to 2-4 s on a loaded machine); nothing passes while waiting"`
	MaxBatch       int           `env:"FILTER_MAX_BATCH" envDefault:"500" help:"events decided per batch (one Redis round trip)"`
	Linger         time.Duration `env:"FILTER_LINGER" envDefault:"5ms" help:"wait for more events once a batch has started"`
	Pipeline       int           `env:"FILTER_PIPELINE" envDefault:"1" help:"batches decided ahead while the one before is written (0..8; 0 decides, writes and commits one batch at a time)"`
	Consumers      int           `env:"FILTER_CONSUMERS" envDefault:"1" help:"consumer-group members in this process, each deciding its own partitions of events.raw with its own reader and batch (1..16, or 0: one per CPU the process may use, GOMAXPROCS, at most 8); more than 1 drains a backlog faster where the filter has cores of its own, docs/operations.md)"`
	MaxLinks       int           `env:"FILTER_MAX_LINKS" envDefault:"1000" help:"most identity links consulted for one subject; an event whose subject has more is denied (link_limit)"`

	Centre CentreConfig

	policy   *policy.Policy
	tokens   *auth.Tokens
	auditKey []byte
}

// Validate checks the configuration and loads the policy, tokens and audit key.
func (c *Config) Validate() error {
	var p config.Problems
	p.Add(c.Config.Validate())
	p.Add(c.RegistryConfig.Validate())
	p.Add(c.Redis.Validate())
	if c.PolicyFile == "" {
		c.policy = policy.Default()
	} else {
		pol, err := policy.Load(c.PolicyFile)
		if err != nil {
			p.Addf("POLICY_FILE", "%v", err)
		}
		c.policy = pol
	}
	if c.policy != nil && !c.policy.HasPurpose(c.Purpose) {
		p.Addf("PURPOSE", "%q is not a purpose of policy %s", c.Purpose, c.policy.Version)
	}
	toks, err := auth.ParseTokens(c.Tokens)
	if err != nil {
		p.Addf("CONSENT_TOKENS", "%v", err)
	}
	c.tokens = toks
	switch {
	case c.AuditKey != "" && c.AuditEphemeral:
		p.Addf("AUDIT_KEY", "set either AUDIT_KEY or AUDIT_KEY_EPHEMERAL, not both")
	case c.AuditKey != "":
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(c.AuditKey))
		if err != nil || len(k) < 32 {
			p.Addf("AUDIT_KEY", "want base64 of at least 32 bytes")
		}
		c.auditKey = k
	case c.AuditEphemeral:
		c.auditKey = make([]byte, 32)
		if _, err := rand.Read(c.auditKey); err != nil {
			p.Addf("AUDIT_KEY_EPHEMERAL", "%v", err)
		}
	default:
		p.Addf("AUDIT_KEY", "required (or AUDIT_KEY_EPHEMERAL=true for a demo)")
	}
	if c.AuditTime < time.Millisecond || (24*time.Hour)%c.AuditTime != 0 {
		p.Addf("AUDIT_TIME_GRANULARITY", "must be at least 1ms and divide 24h evenly, got %s", c.AuditTime)
	}
	if c.MaxLag < 0 {
		p.Addf("MATERIALIZER_MAX_LAG", "must be >= 0")
	}
	if c.LagWait < 0 || c.LagWait > 5*time.Second {
		p.Addf("FILTER_LAG_WAIT", "must be 0..5s, got %s", c.LagWait)
	}
	if c.MaxBatch < 1 || c.MaxBatch > 10000 {
		p.Addf("FILTER_MAX_BATCH", "must be 1..10000")
	}
	if c.Pipeline < 0 || c.Pipeline > 8 {
		p.Addf("FILTER_PIPELINE", "must be 0..8, got %d", c.Pipeline)
	}
	if c.Consumers < 0 || c.Consumers > 16 {
		p.Addf("FILTER_CONSUMERS", "must be 0..16, got %d", c.Consumers)
	}
	if c.MaxLinks < 1 {
		p.Addf("FILTER_MAX_LINKS", "must be at least 1")
	}
	c.Centre.validate(&p)
	return p.Err()
}

// consumers is the number of filter group members to run: FILTER_CONSUMERS,
// or with 0 one per CPU the process may use (at most 8).
func (c *Config) consumers() int {
	if c.Consumers > 0 {
		return c.Consumers
	}
	return min(runtime.GOMAXPROCS(0), 8)
}

// String never prints keys or tokens.
func (c *Config) String() string {
	return fmt.Sprintf("consent-filter{kafka=%s purpose=%s redis=%s}", c.Config, c.Purpose, c.Redis)
}
