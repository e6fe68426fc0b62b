//go:build nomskiam

package stream

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/consentflow/consentflow/pkg/secure"
)

// TestMSKIAMNotInThisBinary: a binary built without the AWS SDK (make demo)
// refuses AWS_MSK_IAM at validation, saying why and what to use instead.
func TestMSKIAMNotInThisBinary(t *testing.T) {
	c := Config{Brokers: []string{"b-1.msk.example:9098"}, TLS: secure.TLS{Enabled: true},
		SASL: SASL{Mechanism: AWSMSKIAM, AWSRegion: "eu-west-1"}}
	require.ErrorContains(t, c.Validate(), "AWS_MSK_IAM is not in this binary (built with the tag nomskiam")
}
