package producer

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestGCDefaultsUnlessTheEnvironmentSetsThem: SetGCDefaults sets the
// collector's target and the soft memory limit, and leaves each alone when
// GOGC or GOMEMLIMIT is set.
func TestGCDefaultsUnlessTheEnvironmentSetsThem(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(gc); debug.SetMemoryLimit(limit) })
	read := func() (int, int64) {
		g := debug.SetGCPercent(-1)
		debug.SetGCPercent(g)
		return g, debug.SetMemoryLimit(-1) // a negative limit only reads it
	}

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	SetGCDefaults()
	g, l := read()
	assert.Equal(t, DefaultGCPercent, g)
	assert.EqualValues(t, DefaultMemoryLimit, l)

	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOGC", "100")
	t.Setenv("GOMEMLIMIT", "1GiB")
	SetGCDefaults()
	g, l = read()
	assert.Equal(t, 100, g, "GOGC set: left alone")
	assert.EqualValues(t, int64(math.MaxInt64), l, "GOMEMLIMIT set: left alone")
}
