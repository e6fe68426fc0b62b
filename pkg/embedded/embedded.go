// Package embedded runs consentflow's infrastructure in-process: a Kafka-protocol
// cluster (franz-go's kfake), Redis (miniredis) and a Confluent-compatible schema
// registry (franz-go's srfake), each listening on a loopback port, so services
// connect to them exactly as they connect to the real ones. It exists for the demo
// and fast tests; the live suite runs against real Apache Kafka and Redis.
//
// With Options.Secure every part is secured the way a managed service is: Kafka
// over TLS with a client certificate and SASL SCRAM-SHA-512, Redis over TLS with
// an ACL user, the registry over https with basic auth, all under a throwaway CA.
package embedded

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"os"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/secure"
	"github.com/consentflow/consentflow/pkg/secure/securetest"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// Stack is a running embedded infrastructure.
type Stack struct {
	Brokers     []string
	RedisAddr   string
	RegistryURL string

	// KafkaConfig, RedisConfig and RegistryConfig are how to connect to the
	// stack (addresses, and with Options.Secure the CA, client certificate and
	// credentials).
	KafkaConfig    stream.Config
	RedisConfig    redisconn.Config
	RegistryConfig avro.RegistryConfig

	Kafka    *kfake.Cluster
	Redis    *miniredis.Miniredis
	Registry *srfake.Registry

	registrySrv *httptest.Server
	dir         string
}

// Options tune the embedded stack.
type Options struct {
	// Topics, when non-nil, are created at start.
	Topics []topics.Spec
	// KafkaPort fixes the broker's port (0 picks a free one).
	KafkaPort int
	// Secure secures every part (see the package documentation).
	Secure bool
}

// Credentials of the secured stack.
const (
	SecureUser     = "consentflow"
	SecurePassword = "embedded-secret"
)

// Start starts the stack. Close it when done.
func Start(ctx context.Context, o Options) (s *Stack, err error) {
	s = &Stack{}
	defer func() {
		if err != nil {
			s.Close()
			s = nil
		}
	}()
	var ca *securetest.CA
	var server, client *securetest.Pair
	if o.Secure {
		if s.dir, err = os.MkdirTemp("", "consentflow-embedded-tls-"); err != nil {
			return nil, err
		}
		if ca, err = securetest.NewCA(s.dir, "embedded"); err != nil {
			return nil, err
		}
		if server, err = ca.Server("server"); err != nil {
			return nil, err
		}
		if client, err = ca.Client("client"); err != nil {
			return nil, err
		}
	}

	kopts := []kfake.Opt{kfake.NumBrokers(1), kfake.ClusterID("consentflow-embedded")}
	if o.KafkaPort != 0 {
		kopts = append(kopts, kfake.Ports(o.KafkaPort))
	}
	if o.Secure {
		kopts = append(kopts, kfake.TLS(ca.ServerTLS(server, true)), kfake.EnableSASL(),
			kfake.Superuser(stream.SCRAM512, SecureUser, SecurePassword))
	}
	if s.Kafka, err = kfake.NewCluster(kopts...); err != nil {
		return nil, fmt.Errorf("start embedded kafka: %w", err)
	}
	s.Brokers = s.Kafka.ListenAddrs()
	s.KafkaConfig = stream.Config{Brokers: s.Brokers}

	if o.Secure {
		s.Redis, err = miniredis.RunTLS(ca.ServerTLS(server, true))
	} else {
		s.Redis, err = miniredis.Run()
	}
	if err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	s.RedisAddr = s.Redis.Addr()
	s.RedisConfig = redisconn.Config{Addr: s.RedisAddr}

	if o.Secure {
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(SecureUser+":"+SecurePassword))
		s.Registry = srfake.NewRegistry(srfake.WithAuth(auth))
		s.registrySrv = httptest.NewUnstartedServer(s.Registry.Handler())
		s.registrySrv.TLS = ca.ServerTLS(server, false)
		s.registrySrv.StartTLS()
		s.RegistryURL = s.registrySrv.URL
	} else {
		s.Registry = srfake.New()
		s.RegistryURL = s.Registry.URL()
	}
	s.RegistryConfig = avro.RegistryConfig{URL: s.RegistryURL}

	if o.Secure {
		mtls := secure.TLSOptions{CAFile: ca.CertFile, CertFile: client.CertFile, KeyFile: client.KeyFile}
		s.KafkaConfig.TLS = secure.TLS{Enabled: true, TLSOptions: mtls}
		s.KafkaConfig.SASL = stream.SASL{Mechanism: stream.SCRAM512, Username: SecureUser, Password: config.Secret(SecurePassword)}
		s.Redis.RequireUserAuth(SecureUser, SecurePassword)
		s.RedisConfig.TLS = secure.TLS{Enabled: true, TLSOptions: mtls}
		s.RedisConfig.Username, s.RedisConfig.Password = SecureUser, config.Secret(SecurePassword)
		s.RegistryConfig.TLS = secure.TLSOptions{CAFile: ca.CertFile}
		s.RegistryConfig.Username, s.RegistryConfig.Password = SecureUser, config.Secret(SecurePassword)
	}
	if o.Topics != nil {
		if _, err := topics.Ensure(ctx, s.KafkaConfig, o.Topics); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// CAFile is the throwaway CA of a secured stack ("" otherwise).
func (s *Stack) CAFile() string { return s.KafkaConfig.TLS.CAFile }

// Close stops every component.
func (s *Stack) Close() {
	if s.registrySrv != nil {
		s.registrySrv.Close()
	} else if s.Registry != nil {
		s.Registry.Close()
	}
	if s.Redis != nil {
		s.Redis.Close()
	}
	if s.Kafka != nil {
		s.Kafka.Close()
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}
