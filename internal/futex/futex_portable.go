//go:build !linux || multiproc_portable

package futex

import (
	"sync/atomic"
	"time"
)

// Mechanism names the implementation in force.
const Mechanism = "poll"

// The sleeps between polls start at minSleep and double up to maxSleep: a word that changes
// soon is seen soon, and one that does not costs about a thousand polls a second.
const (
	minSleep = 5 * time.Microsecond
	maxSleep = time.Millisecond
)

func wait(addr *uint32, val uint32, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for sleep := minSleep; ; sleep = min(2*sleep, maxSleep) {
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		time.Sleep(min(sleep, left))
		if atomic.LoadUint32(addr) != val {
			return
		}
	}
}

func wake(addr *uint32, n int) {}
