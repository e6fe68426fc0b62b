package producer

import (
	"fmt"
	"net"
	"time"

	"github.com/consentflow/consentflow/pkg/auth"
	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/stream"
)

// Config is the producer's configuration, read from environment variables (see
// config.Load). Defaults suit a laptop; in a container set PRODUCER_HTTP_ADDR=:8080
// and OPS_ADDR=:9101 so that the ports are reachable from outside.
type Config struct {
	// HTTPAddr is the ingest API's listen address.
	HTTPAddr string `env:"PRODUCER_HTTP_ADDR" envDefault:"127.0.0.1:8080" help:"ingest API listen address (\":8080\" in containers)"`
	// OpsAddr serves /healthz, /readyz and /metrics; empty disables it.
	OpsAddr string `env:"OPS_ADDR" envDefault:"127.0.0.1:9101" empty:"disables" help:"ops listen address for /healthz /readyz /metrics (\":9101\" in containers; empty disables)"`
	stream.Config
	avro.RegistryConfig
	// Topic receives the events (subject <topic>-value in the registry).
	Topic string `env:"TOPIC_EVENTS_RAW" envDefault:"events.raw" help:"topic the events are written to"`
	// MaxEvents is the most events one request may carry (413 above).
	MaxEvents int `env:"MAX_EVENTS_PER_REQUEST" envDefault:"500" help:"most events per request (413 above)"`
	// MaxBodyBytes is the largest request body, after gzip decoding (413 above).
	MaxBodyBytes int64 `env:"MAX_BODY_BYTES" envDefault:"1048576" help:"largest request body in bytes, after gzip decoding (413 above)"`
	// WriteTimeout bounds the wait for Kafka's acknowledgement (503 after it).
	WriteTimeout time.Duration `env:"WRITE_TIMEOUT" envDefault:"5s" help:"longest wait for Kafka to acknowledge a request's records (503 after it)"`
	// BatchTimeout is how long the Kafka writer gathers records for a partition
	// (from every request in flight) before it sends them in one produce request.
	BatchTimeout time.Duration `env:"PRODUCER_BATCH_TIMEOUT" envDefault:"2ms" help:"how long records wait to share a produce request with other requests' records for the same partition (more: fewer, larger produce requests, less CPU per event in the producer and the broker; each request waits up to this much longer)"`
	// RetryAfter is the Retry-After sent with a 503.
	RetryAfter time.Duration `env:"RETRY_AFTER" envDefault:"2s" help:"Retry-After sent with 503 (rounded up to seconds)"`
	// ShutdownTimeout bounds the graceful drain of in-flight requests.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s" help:"longest wait for in-flight requests at shutdown"`
	// Tokens are the bearer tokens of POST /v1/events in pkg/auth's format
	// NAME:sha256:<hex>=SCOPE|SCOPE (or NAME:plain:<token>=..., hashed at load, for
	// demos); the producer needs scope events:write.
	Tokens string `env:"PRODUCER_TOKENS" help:"bearer tokens, comma-separated NAME:sha256:<hex>=events:write[;tenant=TENANT] (or NAME:plain:<token>=..., hashed at load; demo only); ;tenant= binds a token to one tenant's events"`
	// WriteKeys are the Segment write keys; see ParseWriteKeys for the format.
	WriteKeys string `env:"SEGMENT_WRITE_KEYS" help:"Segment and RudderStack write keys, comma-separated NAME:sha256:<hex>[;tenant=TENANT][;browser[;jurisdiction=XX][;origins=https://app.example.com|...]] (or NAME:plain:<key>...); a browser key (embedded in web pages) must be bound, its events take the key's jurisdiction, or none, never the page's, and origins= lists the web origins whose pages may use it (CORS; * for any)"`
	// AmplitudeKeys are the Amplitude API keys of /2/httpapi and /batch, in
	// the write keys' format.
	AmplitudeKeys string `env:"AMPLITUDE_API_KEYS" help:"Amplitude API keys (the api_key of /2/httpapi and /batch), in the format of SEGMENT_WRITE_KEYS"`
	// MixpanelTokens are the Mixpanel project tokens of /track, /engage and
	// /import, in the write keys' format.
	MixpanelTokens string `env:"MIXPANEL_TOKENS" help:"Mixpanel project tokens (the token of /track, /engage and /import events), in the format of SEGMENT_WRITE_KEYS"`
}

// Validate checks every value and reports all problems at once.
func (c *Config) Validate() error {
	var p config.Problems
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		p.Addf("PRODUCER_HTTP_ADDR", "want host:port, got %q", c.HTTPAddr)
	}
	if _, _, err := net.SplitHostPort(c.OpsAddr); c.OpsAddr != "" && err != nil {
		p.Addf("OPS_ADDR", "want host:port or empty, got %q", c.OpsAddr)
	}
	p.Add(c.Config.Validate())
	p.Add(c.RegistryConfig.Validate())
	if c.Topic == "" {
		p.Addf("TOPIC_EVENTS_RAW", "required")
	}
	if c.MaxEvents < 1 {
		p.Addf("MAX_EVENTS_PER_REQUEST", "must be at least 1, got %d", c.MaxEvents)
	}
	if c.MaxBodyBytes < 1024 {
		p.Addf("MAX_BODY_BYTES", "must be at least 1024, got %d", c.MaxBodyBytes)
	}
	if c.BatchTimeout <= 0 || c.BatchTimeout > time.Second {
		p.Addf("PRODUCER_BATCH_TIMEOUT", "must be between 1ns and 1s, got %s", c.BatchTimeout)
	}
	if c.WriteTimeout <= 0 {
		p.Addf("WRITE_TIMEOUT", "must be positive, got %s", c.WriteTimeout)
	}
	if c.RetryAfter <= 0 {
		p.Addf("RETRY_AFTER", "must be positive, got %s", c.RetryAfter)
	}
	if c.ShutdownTimeout <= 0 {
		p.Addf("SHUTDOWN_TIMEOUT", "must be positive, got %s", c.ShutdownTimeout)
	}
	if _, err := auth.ParseTokens(c.Tokens); err != nil {
		p.Addf("PRODUCER_TOKENS", "%v", err)
	}
	if _, err := ParseWriteKeys(c.WriteKeys); err != nil {
		p.Addf("SEGMENT_WRITE_KEYS", "%v", err)
	}
	if _, err := ParseWriteKeys(c.AmplitudeKeys); err != nil {
		p.Addf("AMPLITUDE_API_KEYS", "%v", err)
	}
	if _, err := ParseWriteKeys(c.MixpanelTokens); err != nil {
		p.Addf("MIXPANEL_TOKENS", "%v", err)
	}
	return p.Err()
}

// DefaultConfig returns the documented defaults (what config.Load yields with an
// empty environment), convenient for tests and embedding.
func DefaultConfig() Config {
	var c Config
	if err := config.LoadFrom(&c, map[string]string{}); err != nil {
		// The defaults are constants of this file; they always parse.
		panic(fmt.Sprintf("producer defaults: %v", err))
	}
	return c
}
