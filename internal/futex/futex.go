// Package futex lets a process sleep until a 32-bit word in memory shared with other
// processes changes, and wakes the processes sleeping on such a word.
//
// On Linux it is the kernel's futex (FUTEX_WAIT and FUTEX_WAKE without FUTEX_PRIVATE_FLAG, so
// that the word may be mapped at different addresses in different processes). Elsewhere, and
// on Linux with the build tag multiproc_portable, a waiter polls the word, sleeping between
// polls for a time that grows from microseconds to a millisecond; Wake then does nothing.
//
// Both spin briefly before sleeping: a word that changes within a few microseconds costs no
// system call and no wake-up of a sleeping thread (tens of microseconds on a VM).
//
// A goroutine asleep in Wait holds its OS thread. Callers wait in slices (a few tens of
// milliseconds at most) and check their context between them.
//
// Wait may return early (spuriously): callers re-check the word and wait again.
package futex

import (
	"sync/atomic"
	"time"
)

// spinLoads is how many times Wait reads the word before it sleeps: about 2 µs.
const spinLoads = 200

// spin reports whether *addr changed from val within spinLoads reads.
func spin(addr *uint32, val uint32) bool {
	for range spinLoads {
		if atomic.LoadUint32(addr) != val {
			return true
		}
	}
	return false
}

// Wait sleeps while *addr == val, for at most timeout (which must be positive), until a Wake
// on addr from any process. It returns early if *addr != val on entry or becomes so.
func Wait(addr *uint32, val uint32, timeout time.Duration) {
	if spin(addr, val) {
		return
	}
	wait(addr, val, timeout)
}

// Wake wakes at most n processes (or threads) sleeping in Wait on addr. Call it after changing
// the word.
func Wake(addr *uint32, n int) { wake(addr, n) }

// WakeAll wakes every waiter on addr.
func WakeAll(addr *uint32) { wake(addr, 1<<30) }
