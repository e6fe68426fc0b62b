package run

import (
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/consentflow/consentflow/pkg/config"
)

// A service binary collects at DefaultGCPercent unless GOGC says otherwise;
// the runtime's own reading of GOGC (at start) and the configuration's agree.
func TestServicesSetTheGCTarget(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	type noConfig struct{}
	for _, c := range []struct {
		gogc string
		set  bool
		want int
	}{{"", false, DefaultGCPercent}, {"", true, DefaultGCPercent}, {"50", true, 50}, {"800", true, 800}, {"OFF", true, -1}} {
		t.Setenv("GOGC", c.gogc)
		if !c.set {
			os.Unsetenv("GOGC")
		}
		debug.SetGCPercent(100) // what the runtime took from an unset GOGC
		if _, err := loadEnv[noConfig]("svc", nil, io.Discard); err != nil {
			t.Fatalf("GOGC=%q (set %v): %v", c.gogc, c.set, err)
		}
		if got := debug.SetGCPercent(100); got != c.want {
			t.Fatalf("GOGC=%q (set %v): GC percent %d, want %d", c.gogc, c.set, got, c.want)
		}
	}
	for _, bad := range []string{"0", "-5", "fast"} {
		t.Setenv("GOGC", bad)
		if _, err := loadEnv[noConfig]("svc", nil, io.Discard); err == nil {
			t.Fatalf("GOGC=%q accepted", bad)
		}
	}
	// The dataset-sink keeps Go's default unless GOGC is set.
	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)
	if _, err := loadEnv[noConfig]("dataset-sink", nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("dataset-sink GC percent %d, want 100", got)
	}
	t.Setenv("GOGC", "300")
	if _, err := loadEnv[noConfig]("dataset-sink", nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(100); got != 300 {
		t.Fatalf("dataset-sink with GOGC=300: GC percent %d", got)
	}
	// The documented defaults (README configuration table) are the ones applied.
	for _, v := range config.Vars(&GC{}) {
		if v.Name == "GOGC" && !strings.Contains(v.Help, "unset: "+strconv.Itoa(DefaultGCPercent)+" (dataset-sink: Go's 100") {
			t.Fatalf("GOGC help %q does not give the applied defaults", v.Help)
		}
	}
}
