package avro

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/secure"
)

// RegistryConfig locates the Confluent-compatible schema registry and says how
// to authenticate: HTTP basic auth (Confluent Cloud's API key and secret,
// Redpanda's users, Apicurio's basic client credentials, Karapace) and TLS (an
// https URL; a private CA; a client certificate).
type RegistryConfig struct {
	URL      string            `env:"SCHEMA_REGISTRY_URL" envDefault:"http://127.0.0.1:8081" help:"Confluent-compatible schema registry (Confluent, Apicurio ccompat, Redpanda, Karapace); https:// for TLS"`
	Username string            `env:"SCHEMA_REGISTRY_USERNAME" help:"basic-auth user (Confluent Cloud: the API key)"`
	Password config.Secret     `env:"SCHEMA_REGISTRY_PASSWORD" help:"basic-auth password (Confluent Cloud: the API secret); a secret: prefer SCHEMA_REGISTRY_PASSWORD_FILE"`
	TLS      secure.TLSOptions `envPrefix:"SCHEMA_REGISTRY_"`
}

// Validate checks the URL, that credentials and certificates go over https, and
// loads the TLS files.
func (c *RegistryConfig) Validate() error {
	var p config.Problems
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		p.Addf("SCHEMA_REGISTRY_URL", "required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.Addf("SCHEMA_REGISTRY_URL", "want http(s)://host[:port][/path], got %q", c.URL)
	case u.User != nil:
		p.Addf("SCHEMA_REGISTRY_URL", "no credentials in the URL: use SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD(_FILE)")
	case u.Scheme == "http" && c.TLS.Set():
		p.Addf("SCHEMA_REGISTRY_URL", "SCHEMA_REGISTRY_TLS_* is set but the URL is http://: use https://")
	case u.Scheme == "http" && c.Password != "":
		p.Addf("SCHEMA_REGISTRY_URL", "basic auth over http:// would send SCHEMA_REGISTRY_PASSWORD in clear: use https://")
	}
	if (c.Username == "") != (c.Password == "") {
		p.Addf("SCHEMA_REGISTRY_USERNAME", "SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD go together")
	}
	if _, err := c.TLS.Load("SCHEMA_REGISTRY_"); err != nil {
		p.Add(err)
	}
	return p.Err()
}

// Client returns a registry client with the configured TLS and credentials.
func (c RegistryConfig) Client() (*sr.Client, error) {
	tlsConfig, err := c.TLS.Load("SCHEMA_REGISTRY_")
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	opts := []sr.ClientOpt{sr.URLs(c.URL), sr.HTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: tr})}
	if c.Username != "" {
		opts = append(opts, sr.BasicAuth(c.Username, c.Password.Reveal()))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("schema registry client %s: %w", c.URL, err)
	}
	return cl, nil
}

// NewSerdeFor connects a Serde to the configured registry.
func NewSerdeFor(c RegistryConfig) (*Serde, error) {
	cl, err := c.Client()
	if err != nil {
		return nil, err
	}
	s := NewSerde(cl)
	s.server = "schema registry " + c.URL
	return s, nil
}

// refused reports whether the registry refused this client (401, 403, 407):
// the credentials, not the request, are at fault.
func refused(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && (re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden ||
		re.StatusCode == http.StatusProxyAuthRequired)
}

// rejection turns a failure to reach the registry that retrying cannot fix (the
// credentials refused, a TLS handshake that failed) into a *secure.Rejection.
func (s *Serde) rejection(err error) error {
	server := s.server
	if server == "" {
		server = "schema registry"
	}
	if refused(err) {
		return secure.Reject(server, "it refused the credentials (SCHEMA_REGISTRY_USERNAME, SCHEMA_REGISTRY_PASSWORD)", err)
	}
	if reason, ok := secure.TLSFailure(err, "SCHEMA_REGISTRY_"); ok {
		return secure.Reject(server, reason, err)
	}
	return nil
}
