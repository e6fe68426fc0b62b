package ner

import (
	"time"

	"github.com/consentflow/consentflow/pkg/internal/threadcpu"
)

// cpuTimer is the CPU time of the calling thread (pkg/internal/threadcpu),
// under the names this package's benchmarks and timing tests use.
type cpuTimer struct{}

func (cpuTimer) start()             { threadcpu.Lock() }
func (cpuTimer) stop()              { threadcpu.Unlock() }
func (cpuTimer) now() time.Duration { return threadcpu.Now() }
