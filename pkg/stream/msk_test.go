//go:build !nomskiam

package stream

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go/sasl"
	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/secure"
)

// TestMSKIAMMechanism: with KAFKA_SASL_MECHANISM=AWS_MSK_IAM the connection
// uses kafka-go's AWS_MSK_IAM mechanism with the configured region and the AWS
// SDK's credential chain (here: AWS_ACCESS_KEY_ID from the environment), and
// its first message is the SigV4-signed kafka-cluster:Connect request for the
// broker. Nothing here talks to MSK (there is no AWS access): this checks the
// wiring and the signed payload, not that MSK accepts it.
func TestMSKIAMMechanism(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	c := Config{Brokers: []string{"b-1.msk.example:9098"}, TLS: secure.TLS{Enabled: true},
		SASL: SASL{Mechanism: AWSMSKIAM, AWSRegion: "eu-west-1"}}
	require.NoError(t, c.Validate())
	m := c.security().mechanism
	require.NotNil(t, m)
	require.Equal(t, "AWS_MSK_IAM", m.Name())

	ctx := sasl.WithMetadata(context.Background(), &sasl.Metadata{Host: "b-1.msk.example", Port: 9098})
	_, first, err := m.Start(ctx)
	require.NoError(t, err)
	var payload map[string]string
	require.NoError(t, json.Unmarshal(first, &payload))
	require.Equal(t, "kafka-cluster:Connect", payload["action"])
	require.Equal(t, "b-1.msk.example", payload["host"])
	require.True(t, strings.HasPrefix(payload["x-amz-credential"], "AKIDEXAMPLE/"), payload["x-amz-credential"])
	require.Contains(t, payload["x-amz-credential"], "/eu-west-1/kafka-cluster/aws4_request")
	require.NotEmpty(t, payload["x-amz-signature"])
	require.NotContains(t, string(first), "wJalrXUtnFEMI", "the secret key is never sent")

	noRegion := c
	noRegion.SASL.AWSRegion = ""
	require.ErrorContains(t, noRegion.Validate(), "KAFKA_SASL_AWS_REGION: required with AWS_MSK_IAM")
	err = noRegion.Check(context.Background())
	require.True(t, secure.IsRejection(err), "a setting that cannot work is not retried: %v", err)
}
