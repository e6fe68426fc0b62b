package client

import (
	"os/exec"
	"strings"
	"testing"
)

// TestClientLinksNothingOfTheServer: a program that only pulls snapshots must not
// link the sink's Kafka client, Parquet library or AWS SDK (`go list -deps`).
func TestClientLinksNothingOfTheServer(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("implausible dependency list: %q", deps)
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/segmentio/kafka-go", "github.com/parquet-go/", "github.com/aws/",
			"github.com/consentflow/consentflow/services/dataset-sink/internal/"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("client depends on %s", d)
			}
		}
	}
}
