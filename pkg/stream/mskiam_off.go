//go:build nomskiam

package stream

import (
	"errors"

	"github.com/segmentio/kafka-go/sasl"
)

// mskIAM refuses: this binary was built with the tag nomskiam (make demo
// builds so), which leaves the AWS SDK out.
func mskIAM(string) (sasl.Mechanism, error) {
	return nil, errors.New("KAFKA_SASL_MECHANISM: AWS_MSK_IAM is not in this binary (built with the tag nomskiam, as make demo does); use make build or the image")
}
