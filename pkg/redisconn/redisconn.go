// Package redisconn is how consentflow connects to Redis — one node or a
// Cluster, with an ACL user or a password, over TLS: one Config (REDIS_*), one
// client constructor, and the start-up check that tells credentials or a
// certificate Redis refuses (stop, a person must fix it) from a Redis that is
// merely down (retry).
package redisconn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/secure"
)

// Config locates Redis and says how to authenticate.
type Config struct {
	Addr     string        `env:"REDIS_ADDR" envDefault:"127.0.0.1:6379" help:"Redis address; several comma-separated addresses mean Redis Cluster"`
	Cluster  bool          `env:"REDIS_CLUSTER" envDefault:"false" help:"Redis Cluster even with one address (the configuration endpoint of a managed cluster)"`
	Username string        `env:"REDIS_USERNAME" help:"Redis ACL user (Redis 6+; empty: the default user)"`
	Password config.Secret `env:"REDIS_PASSWORD" help:"password of REDIS_USERNAME, or of the default user (requirepass); a secret: prefer REDIS_PASSWORD_FILE"`
	TLS      secure.TLS    `envPrefix:"REDIS_"`
}

// Validate checks the addresses and the TLS files.
func (c *Config) Validate() error {
	var p config.Problems
	if len(c.Addrs()) == 0 {
		p.Addf("REDIS_ADDR", "required")
	}
	if c.Username != "" && c.Password == "" {
		p.Addf("REDIS_PASSWORD", "required with REDIS_USERNAME (or REDIS_PASSWORD_FILE)")
	}
	if _, err := c.TLS.Load("REDIS_"); err != nil {
		p.Add(err)
	}
	return p.Err()
}

// Addrs are the addresses of REDIS_ADDR.
func (c Config) Addrs() []string {
	var out []string
	for _, a := range strings.Split(c.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// String describes the connection without secrets.
func (c Config) String() string {
	s := c.Addr
	if c.TLS.On() {
		s += " (TLS)"
	}
	if c.Username != "" {
		s += " as " + c.Username
	}
	return s
}

// Options tune a client; zero values keep go-redis's defaults.
type Options struct {
	DialTimeout, ReadTimeout, WriteTimeout time.Duration
	// MaxRetries of a command (-1: none).
	MaxRetries int
}

// NewClient returns a client of the configured Redis: a Cluster client for
// several addresses or REDIS_CLUSTER, a single-node client otherwise. Every
// connection, to every Cluster node, authenticates and uses TLS the same way; a
// node's certificate must carry REDIS_TLS_SERVER_NAME, or the host of its
// address. It fails only when the TLS files cannot be loaded.
func (c Config) NewClient(o Options) (redis.UniversalClient, error) {
	tlsConfig, err := c.TLS.Load("REDIS_")
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs: c.Addrs(), IsClusterMode: c.Cluster,
		Username: c.Username, Password: c.Password.Reveal(), TLSConfig: tlsConfig,
		DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, MaxRetries: o.MaxRetries,
	}), nil
}

// Check pings Redis through rdb. It returns nil when Redis answers, a
// *secure.Rejection naming Redis when it refuses the credentials or the
// permissions (WRONGPASS, NOAUTH, NOPERM) or the TLS handshake fails, and any
// other error when Redis cannot be reached (worth retrying).
func (c Config) Check(ctx context.Context, rdb redis.UniversalClient) error {
	err := rdb.Ping(ctx).Err()
	if err == nil {
		return nil
	}
	return c.classify(err)
}

func (c Config) classify(err error) error {
	server := "Redis " + c.Addr
	if reason, ok := secure.TLSFailure(err, "REDIS_"); ok {
		return secure.Reject(server, reason, err)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		user := c.Username
		if user == "" {
			user = "default"
		}
		switch {
		case strings.HasPrefix(msg, "WRONGPASS"), strings.HasPrefix(msg, "ERR invalid password"),
			strings.HasPrefix(msg, "ERR AUTH"), strings.Contains(msg, "without any password configured"):
			return secure.Reject(server, fmt.Sprintf("it refused the credentials of user %q (REDIS_USERNAME, REDIS_PASSWORD)", user), err)
		case strings.HasPrefix(msg, "NOAUTH"):
			return secure.Reject(server, "it requires authentication (REDIS_USERNAME, REDIS_PASSWORD)", err)
		case strings.HasPrefix(msg, "NOPERM"):
			return secure.Reject(server, fmt.Sprintf("the ACL of user %q does not allow what consentflow needs", user), err)
		}
	}
	return fmt.Errorf("%s: %w", server, err)
}
