//go:build !linux

package ner

import "time"

type cpuTimer struct{}

func (cpuTimer) start()             {}
func (cpuTimer) stop()              {}
func (cpuTimer) now() time.Duration { return time.Duration(time.Now().UnixNano()) }
