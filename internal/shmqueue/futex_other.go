//go:build !linux

package shmqueue

import (
	"sync/atomic"
	"time"
)

// futexWait polls *addr until it is not val, at most d: systems without a futex shared
// between processes pay with latency.
func futexWait(addr *atomic.Uint32, val uint32, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for addr.Load() == val {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Microsecond)
	}
	return true
}

func futexWake(addr *atomic.Uint32, n int) {}
