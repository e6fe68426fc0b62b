package schema

import (
	"fmt"

	"github.com/consentflow/consentflow/schemas"
	"github.com/linkedin/goavro/v2"
)

// Codec compiles the named schema file of the schemas module.
func Codec(file string) (*goavro.Codec, error) {
	c, err := goavro.NewCodec(schemas.MustRead(file))
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", file, err)
	}
	return c, nil
}
