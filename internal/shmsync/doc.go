// Package shmsync holds the synchronisation objects that live in memory shared between
// processes: a mutex that knows which process holds it, and the layouts behind the root
// package's Semaphore, Event, Condition and Barrier. Each type is placed in shared memory (see
// internal/shm) at an 8-byte aligned address; its zero value is ready to use.
//
// # Waiting
//
// A waiter sleeps on a 32-bit word with internal/futex, in slices of at most [Slice], so
// that between slices it can notice an owner that died (see internal/procid) and so that a
// goroutine asleep in the kernel gives its thread back now and then. A context that ends wakes
// its waiter at once (context.AfterFunc wakes every sleeper on the word; the others look and
// sleep again).
//
// # Owners that die
//
// A lock records its holder as a procid.ID: the pid and the process's start time, so that a
// process reusing the pid is not taken for the holder. A waiter checks every [Slice] whether
// the holder is alive; if it is not, the waiter takes the lock over and is told so. A waiter
// that has waited a Slice also watches the holder's pidfd (Linux), which wakes it at the
// holder's death. The kernel's robust futex lists would do without the Slice, but they are
// kept per thread, and a goroutine that locks moves between threads. A check costs a waiter
// about 3 µs (see internal/procid); the uncontended path costs nothing more.
package shmsync

import (
	"context"
	"time"
	"unsafe"

	"github.com/multiproc/multiproc/internal/futex"
)

// Slice is the longest a waiter sleeps before it looks again: how long an owner's death may
// go unnoticed.
const Slice = 10 * time.Millisecond

// spinTries is how many times a contended lock is tried before its caller sleeps: a holder on
// another CPU usually lets go within that, and a sleep and wake-up costs tens of microseconds.
const spinTries = 100

// word returns the address of a 32-bit atomic's value, for futex.
func word[T any](p *T) *uint32 { return (*uint32)(unsafe.Pointer(p)) }

// wakeOnDone wakes every sleeper on w when ctx ends, until the returned stop is called.
func wakeOnDone(ctx context.Context, w *uint32) (stop func() bool) {
	if ctx.Done() == nil {
		return func() bool { return true }
	}
	// A futex wake on memory unmapped meanwhile fails harmlessly (EFAULT).
	return context.AfterFunc(ctx, func() { futex.WakeAll(w) })
}
