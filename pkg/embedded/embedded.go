// Package embedded runs consentflow's infrastructure in-process: a Kafka-protocol
// cluster (franz-go's kfake), Redis (miniredis) and a Confluent-compatible schema
// registry (franz-go's srfake), each listening on a loopback port, so services
// connect to them exactly as they connect to the real ones. It exists for the demo
// and fast tests; the live suite runs against real Apache Kafka and Redis.
package embedded

import (
	"context"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/consentflow/consentflow/pkg/topics"
)

// Stack is a running embedded infrastructure.
type Stack struct {
	Brokers     []string
	RedisAddr   string
	RegistryURL string

	Kafka    *kfake.Cluster
	Redis    *miniredis.Miniredis
	Registry *srfake.Registry
}

// Options tune the embedded stack.
type Options struct {
	// Topics, when non-nil, are created at start.
	Topics []topics.Spec
	// KafkaPort fixes the broker's port (0 picks a free one).
	KafkaPort int
}

// Start starts the stack. Close it when done.
func Start(ctx context.Context, o Options) (*Stack, error) {
	kopts := []kfake.Opt{kfake.NumBrokers(1), kfake.ClusterID("consentflow-embedded")}
	if o.KafkaPort != 0 {
		kopts = append(kopts, kfake.Ports(o.KafkaPort))
	}
	cluster, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("start embedded kafka: %w", err)
	}
	red, err := miniredis.Run()
	if err != nil {
		cluster.Close()
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	reg := srfake.New()
	s := &Stack{
		Brokers: cluster.ListenAddrs(), RedisAddr: red.Addr(), RegistryURL: reg.URL(),
		Kafka: cluster, Redis: red, Registry: reg,
	}
	if o.Topics != nil {
		if _, err := topics.Ensure(ctx, s.Brokers, o.Topics); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close stops every component.
func (s *Stack) Close() {
	s.Registry.Close()
	s.Redis.Close()
	s.Kafka.Close()
}
