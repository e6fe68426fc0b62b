// Package secure holds what every connection of consentflow needs to be secured
// the same way — to Kafka, to Redis, to the schema registry: the TLS settings
// (one type, nested with a prefix: KAFKA_TLS_*, REDIS_TLS_*,
// SCHEMA_REGISTRY_TLS_*) and the one classification of failures that retrying
// cannot fix (Rejection): a server refusing the credentials, or this client
// refusing the server's certificate. A service stops at start with a Rejection
// naming the server; a server that is merely down is retried.
package secure

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// TLSOptions are the certificates of a TLS connection and the name the server's
// certificate must carry. They are nested with a prefix (`envPrefix:"REDIS_"`), so
// their variables are REDIS_TLS_CA_FILE and so on.
type TLSOptions struct {
	CAFile     string `env:"TLS_CA_FILE" help:"PEM file of the CA certificates that sign the server's certificate (empty: the system's trusted roots)"`
	CertFile   string `env:"TLS_CERT_FILE" help:"PEM client certificate (chain) for mutual TLS, with ${PREFIX}TLS_KEY_FILE"`
	KeyFile    string `env:"TLS_KEY_FILE" help:"PEM private key of ${PREFIX}TLS_CERT_FILE (a secret: mount it from a Secret)"`
	ServerName string `env:"TLS_SERVER_NAME" help:"name the server's certificate must carry (empty: the host name it is reached at)"`
}

// Set reports whether any option is given.
func (o TLSOptions) Set() bool { return o != TLSOptions{} }

// Load builds the client's TLS configuration: TLS 1.2 or newer, the CA file's
// certificates as the only trusted roots when it is given (the system's roots
// otherwise), the client certificate when given. The server's certificate is
// always verified. Errors name the variable (prefix + TLS_...).
func (o TLSOptions) Load(prefix string) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%sTLS_CA_FILE: %w", prefix, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%sTLS_CA_FILE: no PEM certificate in %s", prefix, o.CAFile)
		}
		c.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		pair, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			// The error names files, never key material.
			return nil, fmt.Errorf("%sTLS_CERT_FILE, %sTLS_KEY_FILE: %w", prefix, prefix, err)
		}
		c.Certificates = []tls.Certificate{pair}
	case o.CertFile != "":
		return nil, fmt.Errorf("%sTLS_KEY_FILE: required with %sTLS_CERT_FILE", prefix, prefix)
	case o.KeyFile != "":
		return nil, fmt.Errorf("%sTLS_CERT_FILE: required with %sTLS_KEY_FILE", prefix, prefix)
	}
	return c, nil
}

// TLS are the TLS settings of a connection that may be plaintext (Kafka, Redis):
// TLS is on when TLS_ENABLED is true or any other TLS_ variable is set.
type TLS struct {
	Enabled bool `env:"TLS_ENABLED" envDefault:"false" help:"connect over TLS (on by itself when another ${PREFIX}TLS_ variable is set)"`
	TLSOptions
}

// On reports whether connections use TLS.
func (t TLS) On() bool { return t.Enabled || t.TLSOptions.Set() }

// Load returns the TLS configuration, or nil when TLS is off.
func (t TLS) Load(prefix string) (*tls.Config, error) {
	if !t.On() {
		return nil, nil
	}
	return t.TLSOptions.Load(prefix)
}
