//go:build !nomskiam

package stream

import (
	"context"
	"fmt"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/aws_msk_iam_v2"
)

// mskIAM is the AWS_MSK_IAM mechanism: credentials and region from the AWS
// configuration chain (environment, shared files, instance role), region
// overridden by KAFKA_SASL_AWS_REGION. Built unless the build tag nomskiam
// leaves the AWS SDK out (make demo does).
func mskIAM(region string) (sasl.Mechanism, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var opts []func(*awsconfig.LoadOptions) error
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS_MSK_IAM: AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("KAFKA_SASL_AWS_REGION: required with AWS_MSK_IAM when the AWS configuration names no region")
	}
	return aws_msk_iam_v2.NewMechanism(cfg), nil
}
