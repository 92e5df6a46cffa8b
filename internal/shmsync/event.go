package shmsync

import (
	"context"
	"sync/atomic"

	"github.com/multiproc/multiproc/internal/futex"
)

// Event is a flag processes wait for. Its zero value is clear. 8 bytes.
//
// state holds the flag in bit 0 and, above it, how many times the flag was set: a waiter
// returns once the flag is set or was set after it started waiting, even if cleared since
// (as Python's Event.wait).
type Event struct {
	state   atomic.Uint32 // futex word
	waiters atomic.Uint32
}

// Set sets the flag and wakes every waiter.
func (e *Event) Set() {
	for {
		s := e.state.Load()
		if s&1 == 1 {
			return
		}
		if e.state.CompareAndSwap(s, (s+2)|1) {
			break
		}
	}
	if e.waiters.Load() > 0 {
		futex.WakeAll(word(&e.state))
	}
}

// Clear clears the flag.
func (e *Event) Clear() {
	for {
		s := e.state.Load()
		if s&1 == 0 || e.state.CompareAndSwap(s, s&^1) {
			return
		}
	}
}

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool { return e.state.Load()&1 == 1 }

// Wait waits until the flag is set, or ctx ends.
func (e *Event) Wait(ctx context.Context) error {
	s := e.state.Load()
	if s&1 == 1 {
		return nil
	}
	e.waiters.Add(1)
	defer e.waiters.Add(^uint32(0))
	stop := wakeOnDone(ctx, word(&e.state))
	defer stop()
	for {
		now := e.state.Load()
		if now&1 == 1 || now>>1 != s>>1 {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		futex.Wait(word(&e.state), now, Slice)
	}
}
