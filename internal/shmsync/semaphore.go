package shmsync

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/multiproc/multiproc/internal/futex"
	"github.com/multiproc/multiproc/internal/procid"
)

// SemaphoreHolders is how many processes may hold permits of one Semaphore at once.
const SemaphoreHolders = 240

// Errors of Semaphore.
var (
	ErrOverRelease = errors.New("the semaphore would hold more permits than it was made with")
	ErrManyHolders = errors.New("too many processes hold permits of the semaphore")
)

// Semaphore is a bounded counting semaphore whose permits are counted per process, so that
// those of a process that dies come back. Init sets its size; 4 KiB.
//
// Invariants: count = n - the sum of held over the holders, whenever mu is free. mu guards
// count's changes and the holders; count is read without it. A holder slot's id is the
// process whose permits it counts, or 0. A process's permits are given back by whoever finds
// it dead (a caller that finds no permit free, at most once a Slice across all processes; or the
// next to take mu, if it died holding mu): dropping a dead process's slot and counting anew is
// right wherever it stopped.
type Semaphore struct {
	mu      Mutex
	n       atomic.Uint32
	count   atomic.Uint32 // futex word: permits free
	waiters atomic.Uint32
	counted atomic.Int64 // when dead holders were last looked for, in Unix nanoseconds
	holders [SemaphoreHolders]holder
}

type holder struct {
	id   atomic.Uint64 // procid.ID
	held atomic.Uint32
	_    uint32
}

// Init makes s a semaphore of n permits, all free. Call it before s is shared.
func (s *Semaphore) Init(n int) {
	s.n.Store(uint32(n))
	s.count.Store(uint32(n))
}

// lock locks mu, counting anew if its holder died.
func (s *Semaphore) lock() {
	if died, _ := s.mu.Lock(context.Background()); died {
		s.recount()
	}
}

// recount drops the slots of dead processes and counts the free permits anew. mu is held.
func (s *Semaphore) recount() {
	held := uint32(0)
	for i := range s.holders {
		h := &s.holders[i]
		id := procid.ID(h.id.Load())
		if id == 0 {
			continue
		}
		if !procid.Alive(id) {
			h.held.Store(0)
			h.id.Store(0)
			continue
		}
		held += h.held.Load()
	}
	n := s.n.Load()
	before := s.count.Swap(n - min(held, n))
	if s.count.Load() > before && s.waiters.Load() > 0 {
		futex.WakeAll(word(&s.count))
	}
}

// slot returns the slot of id, claiming a free one if create; nil if none. mu is held.
func (s *Semaphore) slot(id procid.ID, create bool) *holder {
	var free *holder
	for i := range s.holders {
		h := &s.holders[i]
		switch h.id.Load() {
		case uint64(id):
			return h
		case 0:
			if free == nil {
				free = h
			}
		}
	}
	if free != nil && create {
		free.id.Store(uint64(id))
	}
	if !create {
		return nil
	}
	return free
}

// recountDue recounts if no process has looked for dead holders for a Slice.
func (s *Semaphore) recountDue() {
	now := time.Now().UnixNano()
	last := s.counted.Load()
	if now-last < int64(Slice) || !s.counted.CompareAndSwap(last, now) {
		return
	}
	s.lock()
	s.recount()
	s.mu.Unlock()
}

// TryAcquire takes a permit if one is free.
func (s *Semaphore) TryAcquire() (bool, error) {
	if s.count.Load() == 0 {
		s.recountDue()
		if s.count.Load() == 0 {
			return false, nil
		}
	}
	s.lock()
	defer s.mu.Unlock()
	if s.count.Load() == 0 {
		return false, nil
	}
	me := procid.Self()
	h := s.slot(me, true)
	if h == nil {
		s.recount()
		if h = s.slot(me, true); h == nil {
			return false, ErrManyHolders
		}
	}
	h.held.Add(1)
	s.count.Add(^uint32(0))
	return true, nil
}

// Acquire takes a permit, waiting until one is free or ctx ends.
func (s *Semaphore) Acquire(ctx context.Context) error {
	if ok, err := s.TryAcquire(); ok || err != nil {
		return err
	}
	s.waiters.Add(1)
	defer s.waiters.Add(^uint32(0))
	stop := wakeOnDone(ctx, word(&s.count))
	defer stop()
	for {
		if ok, err := s.TryAcquire(); ok || err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		futex.Wait(word(&s.count), 0, Slice)
	}
}

// Release gives a permit back: one of this process's, or else one of another live process
// (a semaphore may be acquired in one process and released in another).
func (s *Semaphore) Release() error {
	s.lock()
	defer s.mu.Unlock()
	h := s.slot(procid.Self(), false)
	if h == nil || h.held.Load() == 0 {
		h = nil
		for i := range s.holders {
			if c := &s.holders[i]; c.id.Load() != 0 && c.held.Load() > 0 {
				h = c
				break
			}
		}
	}
	if h == nil || s.count.Load() >= s.n.Load() {
		return ErrOverRelease
	}
	if h.held.Add(^uint32(0)) == 0 {
		h.id.Store(0)
	}
	s.count.Add(1)
	if s.waiters.Load() > 0 {
		futex.Wake(word(&s.count), 1)
	}
	return nil
}

// Free returns the number of free permits.
func (s *Semaphore) Free() int { return int(s.count.Load()) }
