package shmsync

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/multiproc/multiproc/internal/futex"
	"github.com/multiproc/multiproc/internal/procid"
)

// ConditionWaiters is how many goroutines, in all processes, may wait on one Condition.
const ConditionWaiters = 200

// Errors of Condition.
var (
	ErrNotLocked   = errors.New("Wait called without holding the condition's lock")
	ErrManyWaiters = errors.New("too many waiters on the condition")
)

// Condition is a condition variable on a Mutex. Its zero value has no waiters. 4 KiB.
//
// Each waiter has a slot: it claims a free one (free → claiming), writes its ticket (the order
// of arrival) and becomes waiting, then sleeps on the slot's state until a Signal or Broadcast
// makes it signalled. Signal picks the waiting slot with the lowest ticket, so that it wakes
// exactly one waiter, the longest waiting; it frees, and skips, the slots of waiters whose
// process died. Broadcast makes every waiting slot signalled. A waiter whose ctx ends takes
// itself back (waiting → free); if a Signal picked it meanwhile, it passes it on.
type Condition struct {
	tickets atomic.Uint32
	_       uint32
	slots   [ConditionWaiters]condSlot
}

const (
	slotFree = iota
	slotClaiming
	slotWaiting
	slotSignalled
)

type condSlot struct {
	state  atomic.Uint32 // futex word
	ticket atomic.Uint32
	owner  atomic.Uint64 // procid.ID of the waiter, for sweeping dead ones
}

// claim returns a free slot, made waiting; nil if there is none.
func (c *Condition) claim() *condSlot {
	for pass := 0; pass < 2; pass++ {
		for i := range c.slots {
			s := &c.slots[i]
			if s.state.Load() == slotFree && s.state.CompareAndSwap(slotFree, slotClaiming) {
				s.ticket.Store(c.tickets.Add(1))
				s.owner.Store(uint64(procid.Self()))
				s.state.Store(slotWaiting)
				return s
			}
		}
		// Full: free the slots of waiters that died.
		for i := range c.slots {
			s := &c.slots[i]
			if s.state.Load() == slotWaiting && !procid.Alive(procid.ID(s.owner.Load())) {
				s.state.CompareAndSwap(slotWaiting, slotFree)
			}
		}
	}
	return nil
}

// Wait unlocks m, waits for Signal or Broadcast (or for ctx to end), and locks m again, whatever
// it returns. ownerDied reports that m's holder died while this waiter had let go of it.
func (c *Condition) Wait(ctx context.Context, m *Mutex) (ownerDied bool, err error) {
	if !m.HeldBySelf() {
		return false, ErrNotLocked
	}
	s := c.claim()
	if s == nil {
		return false, ErrManyWaiters
	}
	m.Unlock()
	err = c.sleep(ctx, s)
	ownerDied, _ = m.Lock(context.Background())
	return ownerDied, err
}

func (c *Condition) sleep(ctx context.Context, s *condSlot) error {
	stop := wakeOnDone(ctx, word(&s.state))
	defer stop()
	for {
		if s.state.Load() == slotSignalled {
			s.state.Store(slotFree)
			return nil
		}
		if err := ctx.Err(); err != nil {
			if s.state.CompareAndSwap(slotWaiting, slotFree) {
				return err
			}
			s.state.Store(slotFree) // signalled meanwhile: pass it on
			c.Signal()
			return err
		}
		futex.Wait(word(&s.state), slotWaiting, Slice)
	}
}

// Signal wakes the longest-waiting waiter, if any.
func (c *Condition) Signal() {
	for {
		var pick *condSlot
		var ticket uint32
		for i := range c.slots {
			s := &c.slots[i]
			if s.state.Load() != slotWaiting {
				continue
			}
			// Tickets wrap: compare their distance.
			if t := s.ticket.Load(); pick == nil || int32(t-ticket) < 0 {
				pick, ticket = s, t
			}
		}
		if pick == nil {
			return
		}
		// A waiter whose process died would take the signal with it: free its slot instead.
		if o := procid.ID(pick.owner.Load()); o != procid.Self() && !procid.Alive(o) {
			pick.state.CompareAndSwap(slotWaiting, slotFree)
			continue
		}
		if pick.state.CompareAndSwap(slotWaiting, slotSignalled) {
			futex.Wake(word(&pick.state), 1)
			return
		}
	}
}

// Broadcast wakes every waiter waiting now.
func (c *Condition) Broadcast() {
	for i := range c.slots {
		s := &c.slots[i]
		if s.state.Load() == slotWaiting && s.state.CompareAndSwap(slotWaiting, slotSignalled) {
			futex.Wake(word(&s.state), 1)
		}
	}
}
