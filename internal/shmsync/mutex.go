package shmsync

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/multiproc/multiproc/internal/futex"
	"github.com/multiproc/multiproc/internal/procid"
)

// ErrNotHeld is returned by Unlock in a process that does not hold the mutex.
var ErrNotHeld = errors.New("the lock is not held by this process")

// Mutex is a mutual-exclusion lock held by a process: any goroutine of the holding process
// may unlock it. Its zero value, in shared memory, is unlocked. 16 bytes.
//
// Invariants: owner is 0 or the ID of the process holding it, and changes only by
// compare-and-swap (0 → a process that locks; a process → 0 when it unlocks; a dead process →
// the process that takes the lock over). seq changes after every unlock, so that a sleeper on
// it whose value it read before the unlock does not sleep.
type Mutex struct {
	owner   atomic.Uint64 // procid.ID of the holder; 0 when free
	seq     atomic.Uint32 // futex word: incremented by every Unlock
	waiters atomic.Uint32 // goroutines of any process asleep or about to sleep on seq
}

// Lock locks m, waiting while another process, or another goroutine of this one, holds it.
// ownerDied reports that its holder died holding it: the caller holds it now. If ctx ends
// first, Lock returns ctx.Err().
func (m *Mutex) Lock(ctx context.Context) (ownerDied bool, err error) {
	me := uint64(procid.Self())
	if m.owner.CompareAndSwap(0, me) {
		return false, nil
	}
	return m.lockSlow(ctx, me)
}

func (m *Mutex) lockSlow(ctx context.Context, me uint64) (bool, error) {
	for range spinTries {
		if m.owner.Load() == 0 && m.owner.CompareAndSwap(0, me) {
			return false, nil
		}
	}
	m.waiters.Add(1)
	defer m.waiters.Add(^uint32(0))
	stop := wakeOnDone(ctx, word(&m.seq))
	defer stop()
	w := ownerWatch{seq: word(&m.seq)}
	defer w.stop()
	checked := time.Now() // a live holder is the common case: the first check waits a Slice
	for {
		seq := m.seq.Load()
		o := m.owner.Load()
		if o == 0 {
			if m.owner.CompareAndSwap(0, me) {
				return false, nil
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if o != me && (time.Since(checked) >= Slice || w.exited(o)) {
			if !procid.Alive(procid.ID(o)) && m.owner.CompareAndSwap(o, me) {
				return true, nil
			}
			checked = time.Now()
			w.watch(o) // a holder held for a Slice: be woken by its death
		}
		futex.Wait(word(&m.seq), seq, Slice)
	}
}

// ownerWatch wakes the sleepers on seq when the process holding a lock ends, so that a
// waiter takes over a dead holder's lock at once rather than at its next look. It is set up
// only once a waiter has waited a Slice: short waits cost nothing more.
type ownerWatch struct {
	seq   *uint32
	owner uint64       // the holder watched, 0 for none
	dead  *atomic.Bool // set when it has ended
	end   func()       // stops the watch
}

// watch watches holder o, unless it is watched already (or cannot be).
func (w *ownerWatch) watch(o uint64) {
	if w.owner == o {
		return
	}
	w.stop()
	dead, seq := new(atomic.Bool), w.seq
	end, ok := procid.OnExit(procid.ID(o), func() {
		dead.Store(true)
		futex.WakeAll(seq) // on memory unmapped meanwhile, a harmless EFAULT
	})
	if !ok {
		return
	}
	w.owner, w.dead, w.end = o, dead, end
}

// exited reports whether the watched holder, o, has ended.
func (w *ownerWatch) exited(o uint64) bool { return w.owner == o && w.dead.Load() }

func (w *ownerWatch) stop() {
	if w.end != nil {
		w.end()
	}
	w.owner, w.dead, w.end = 0, nil, nil
}

// TryLock locks m if it is free, or if its holder has died (then ownerDied is true). It
// returns false if a live process holds it, this one included.
func (m *Mutex) TryLock() (ok, ownerDied bool) {
	me := uint64(procid.Self())
	if m.owner.CompareAndSwap(0, me) {
		return true, false
	}
	o := m.owner.Load()
	switch {
	case o == 0:
		return m.owner.CompareAndSwap(0, me), false
	case o == me || procid.Alive(procid.ID(o)):
		return false, false
	}
	if m.owner.CompareAndSwap(o, me) {
		return true, true
	}
	return false, false
}

// Unlock unlocks m. It returns ErrNotHeld if this process does not hold it.
func (m *Mutex) Unlock() error {
	if !m.owner.CompareAndSwap(uint64(procid.Self()), 0) {
		return ErrNotHeld
	}
	m.seq.Add(1)
	if m.waiters.Load() > 0 {
		futex.Wake(word(&m.seq), 1)
	}
	return nil
}

// HeldBySelf reports whether this process holds m.
func (m *Mutex) HeldBySelf() bool { return m.owner.Load() == uint64(procid.Self()) }

// Owner returns the pid of the process holding m, or 0.
func (m *Mutex) Owner() int { return procid.ID(m.owner.Load()).Pid() }
