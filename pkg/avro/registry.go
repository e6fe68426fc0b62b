package avro

import (
	"fmt"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
)

// RegistryConfig locates the Confluent-compatible schema registry.
type RegistryConfig struct {
	URL string `env:"SCHEMA_REGISTRY_URL" envDefault:"http://127.0.0.1:8081" help:"Confluent-compatible schema registry (Confluent, Apicurio ccompat, Redpanda, Karapace)"`
}

// Validate checks the URL is set.
func (c *RegistryConfig) Validate() error {
	if c.URL == "" {
		return fmt.Errorf("SCHEMA_REGISTRY_URL: required")
	}
	return nil
}

// NewSerdeFor connects a Serde to the configured registry.
func NewSerdeFor(c RegistryConfig) (*Serde, error) {
	cl, err := sr.NewClient(sr.URLs(c.URL), sr.HTTPClient(&http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		return nil, fmt.Errorf("schema registry client %s: %w", c.URL, err)
	}
	return NewSerde(cl), nil
}
