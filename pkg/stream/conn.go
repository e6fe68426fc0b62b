package stream

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/secure"
)

// Config is how every consentflow program reaches Kafka: the bootstrap brokers,
// TLS and SASL. Every reader, writer, admin call and lag check is built from it in
// this package (NewReader, NewWriter, NewPartitionReader, NewOffsetWriter,
// EndOffsets, GroupLag, ReadRange, Client): nothing else builds a kafka-go dialer
// or transport.
type Config struct {
	Brokers []string   `env:"KAFKA_BROKERS" envDefault:"127.0.0.1:9092" envSeparator:"," help:"Kafka bootstrap servers, comma-separated"`
	TLS     secure.TLS `envPrefix:"KAFKA_"`
	SASL    SASL
}

// SASL is the SASL authentication of Kafka connections.
type SASL struct {
	Mechanism string        `env:"KAFKA_SASL_MECHANISM" help:"SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM (empty: no SASL)"`
	Username  string        `env:"KAFKA_SASL_USERNAME" help:"SASL user name (PLAIN, SCRAM)"`
	Password  config.Secret `env:"KAFKA_SASL_PASSWORD" help:"SASL password (PLAIN, SCRAM); a secret: prefer KAFKA_SASL_PASSWORD_FILE"`
	AWSRegion string        `env:"KAFKA_SASL_AWS_REGION" help:"AWS region of the MSK cluster (AWS_MSK_IAM; empty: the AWS SDK's own, e.g. AWS_REGION); credentials come from the AWS SDK's default chain"`
}

// SASL mechanisms.
const (
	Plain     = "PLAIN"
	SCRAM256  = "SCRAM-SHA-256"
	SCRAM512  = "SCRAM-SHA-512"
	AWSMSKIAM = "AWS_MSK_IAM"
)

// Validate checks the brokers, loads the TLS files and checks the SASL settings,
// naming the variable of every problem.
func (c *Config) Validate() error {
	var p config.Problems
	if len(c.Brokers) == 0 {
		p.Addf("KAFKA_BROKERS", "at least one broker is required")
	}
	for _, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			p.Addf("KAFKA_BROKERS", "empty entry in %q", strings.Join(c.Brokers, ","))
			break
		}
	}
	if _, err := c.TLS.Load("KAFKA_"); err != nil {
		p.Add(err)
	}
	c.SASL.Mechanism = strings.ToUpper(strings.TrimSpace(c.SASL.Mechanism))
	switch c.SASL.Mechanism {
	case "":
		if c.SASL.Username != "" || c.SASL.Password != "" {
			p.Addf("KAFKA_SASL_MECHANISM", "required with KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		}
	case Plain, SCRAM256, SCRAM512:
		if c.SASL.Username == "" {
			p.Addf("KAFKA_SASL_USERNAME", "required with KAFKA_SASL_MECHANISM=%s", c.SASL.Mechanism)
		}
		if c.SASL.Password == "" {
			p.Addf("KAFKA_SASL_PASSWORD", "required with KAFKA_SASL_MECHANISM=%s (or KAFKA_SASL_PASSWORD_FILE)", c.SASL.Mechanism)
		}
		if c.SASL.Mechanism == Plain && !c.TLS.On() {
			p.Addf("KAFKA_SASL_MECHANISM", "PLAIN sends the password in clear: it needs TLS (KAFKA_TLS_ENABLED=true)")
		}
	case AWSMSKIAM:
		if c.SASL.Username != "" || c.SASL.Password != "" {
			p.Addf("KAFKA_SASL_USERNAME", "not used with AWS_MSK_IAM (credentials come from the AWS SDK's default chain)")
		}
		if !c.TLS.On() {
			p.Addf("KAFKA_SASL_MECHANISM", "AWS_MSK_IAM needs TLS (KAFKA_TLS_ENABLED=true): MSK's IAM listeners are TLS only")
		}
		// The AWS configuration (region, credential chain) is read now, so that a
		// missing region stops the service at start; credentials are fetched per
		// connection.
		if _, err := c.SASL.mechanism(); err != nil {
			p.Add(err)
		}
	default:
		p.Addf("KAFKA_SASL_MECHANISM", "%q is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, AWS_MSK_IAM", c.SASL.Mechanism)
	}
	return p.Err()
}

// Secured reports whether connections use TLS or SASL.
func (c Config) Secured() bool { return c.TLS.On() || c.SASL.Mechanism != "" }

// String describes the connection without secrets.
func (c Config) String() string {
	s := strings.Join(c.Brokers, ",")
	switch {
	case c.TLS.On() && c.SASL.Mechanism != "":
		s += " (SASL_SSL, " + c.SASL.Mechanism + ")"
	case c.TLS.On():
		s += " (SSL)"
	case c.SASL.Mechanism != "":
		s += " (SASL_PLAINTEXT, " + c.SASL.Mechanism + ")"
	}
	return s
}

// security is what a connection of one Config needs beyond an address: built once
// per distinct setting per process, so that writers and clients share one
// connection pool (as kafka-go's DefaultTransport is shared).
type security struct {
	tls       *tls.Config
	mechanism sasl.Mechanism
	err       error // the TLS files or the AWS configuration could not be loaded
	transport kafka.RoundTripper
}

type securityKey struct {
	TLS  secure.TLS
	SASL SASL
}

var (
	securityMu    sync.Mutex
	securityCache = map[securityKey]*security{}
)

func (c Config) security() *security {
	key := securityKey{TLS: c.TLS, SASL: c.SASL}
	key.SASL.Mechanism = strings.ToUpper(strings.TrimSpace(key.SASL.Mechanism))
	securityMu.Lock()
	defer securityMu.Unlock()
	if s, ok := securityCache[key]; ok {
		return s
	}
	s := &security{}
	s.tls, s.err = key.TLS.Load("KAFKA_")
	if s.err == nil {
		s.mechanism, s.err = key.SASL.mechanism()
	}
	switch {
	case s.err != nil:
		// Validate reports this at start; should the files vanish later, every
		// connection fails with it rather than silently going plaintext.
		err := s.err
		s.transport = &kafka.Transport{Dial: func(context.Context, string, string) (net.Conn, error) { return nil, err }}
	case s.tls == nil && s.mechanism == nil:
		s.transport = kafka.DefaultTransport
	default:
		s.transport = &kafka.Transport{
			Dial: (&net.Dialer{Timeout: 3 * time.Second}).DialContext,
			TLS:  s.tls, SASL: s.mechanism,
		}
	}
	securityCache[key] = s
	return s
}

func (s SASL) mechanism() (sasl.Mechanism, error) {
	switch s.Mechanism {
	case "":
		return nil, nil
	case Plain:
		return plain.Mechanism{Username: s.Username, Password: s.Password.Reveal()}, nil
	case SCRAM256, SCRAM512:
		algo := scram.SHA256
		if s.Mechanism == SCRAM512 {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, s.Username, s.Password.Reveal())
		if err != nil {
			return nil, fmt.Errorf("KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD: %w", err)
		}
		return m, nil
	case AWSMSKIAM:
		return mskIAM(s.AWSRegion)
	}
	return nil, fmt.Errorf("KAFKA_SASL_MECHANISM: %q is not supported", s.Mechanism)
}

// dialer is the kafka-go Dialer of readers and of Check.
func (c Config) dialer() *kafka.Dialer {
	s := c.security()
	d := &kafka.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: s.tls, SASLMechanism: s.mechanism}
	if s.err != nil {
		err := s.err
		d.DialFunc = func(context.Context, string, string) (net.Conn, error) { return nil, err }
	}
	return d
}

// Client returns a kafka-go client for admin and metadata requests (topics,
// offsets, lag) whose requests time out after timeout.
func (c Config) Client(timeout time.Duration) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(c.Brokers...), Timeout: timeout, Transport: c.security().transport}
}
