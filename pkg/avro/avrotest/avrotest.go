// Package avrotest gives tests an avro.Serde on an in-process schema registry.
package avrotest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/consentflow/consentflow/pkg/avro"
)

// Serde returns a Serde on a fresh in-process registry, closed when the test
// ends.
func Serde(t testing.TB) *avro.Serde {
	t.Helper()
	reg := srfake.New()
	t.Cleanup(reg.Close)
	cl, err := sr.NewClient(sr.URLs(reg.URL()))
	if err != nil {
		t.Fatal(err)
	}
	return avro.NewSerde(cl)
}
