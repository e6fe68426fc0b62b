// Package threadcpu is a clock for benchmarks and timing tests on a shared
// machine: the CPU time of the calling thread, so that other processes (and
// this process's other threads) do not count. Lock the goroutine to its
// thread for the whole measurement:
//
//	threadcpu.Lock()
//	defer threadcpu.Unlock()
//	t0 := threadcpu.Now()
//	... work ...
//	used := threadcpu.Now() - t0
//
// On systems without a per-thread CPU clock (anything but Linux here) Now is
// the wall clock.
package threadcpu

import "runtime"

// Lock locks the calling goroutine to its thread, whose CPU time Now reads.
func Lock() { runtime.LockOSThread() }

// Unlock undoes Lock.
func Unlock() { runtime.UnlockOSThread() }
