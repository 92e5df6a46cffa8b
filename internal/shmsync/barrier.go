package shmsync

import (
	"context"
	"encoding/binary"
	"errors"
	"sync/atomic"
	"unsafe"

	"github.com/multiproc/multiproc/internal/futex"
)

// ErrBroken is returned by Barrier.Wait when the barrier is broken.
var ErrBroken = errors.New("broken barrier")

// Barrier makes a number of parties wait for each other. Init sets the number. 16 bytes.
//
// state packs, so that one compare-and-swap changes them together:
//
//	bits  0-31 count:   parties arrived in this generation
//	bit  32    broken:  Abort, or a waiter's ctx, broke this generation
//	bits 33-40 history: bit i says generation gen-1-i ended broken (a Reset)
//	bits 41-63 gen:     the generation, counted modulo 2^23
//
// Bits 32-63 change at every change a waiter waits for: waiters sleep on that half.
type Barrier struct {
	state   atomic.Uint64
	parties atomic.Uint32
	_       uint32
}

const (
	brokenBit  = 1 << 32
	historyLSB = 33
	genLSB     = 41
	countMask  = 1<<32 - 1
)

func gen(s uint64) uint64 { return s >> genLSB }

// next is the state that starts the generation after s; broken says s's ended broken.
func next(s uint64, broken bool) uint64 {
	h := (s >> historyLSB & 0xff) << 1 & 0xff
	if broken {
		h |= 1
	}
	return (gen(s)+1)<<genLSB | h<<historyLSB
}

// Init makes b a barrier for parties parties. Call it before b is shared.
func (b *Barrier) Init(parties int) { b.parties.Store(uint32(parties)) }

// high is the futex word: the upper half of state.
func (b *Barrier) high() *uint32 {
	p := unsafe.Pointer(&b.state)
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 {
		p = unsafe.Add(p, 4)
	}
	return (*uint32)(p)
}

// Wait arrives at the barrier and waits for the others. index is the order of arrival,
// 0 to parties-1.
func (b *Barrier) Wait(ctx context.Context) (index int, err error) {
	var s uint64
	for {
		s = b.state.Load()
		if s&brokenBit != 0 {
			return 0, ErrBroken
		}
		count := s & countMask
		if count+1 == uint64(b.parties.Load()) {
			if b.state.CompareAndSwap(s, next(s, false)) {
				futex.WakeAll(b.high())
				return int(count), nil
			}
			continue
		}
		if b.state.CompareAndSwap(s, s+1) {
			index = int(count)
			break
		}
	}
	g := gen(s)
	stop := wakeOnDone(ctx, b.high())
	defer stop()
	for {
		now := b.state.Load()
		if d := (gen(now) - g) & (1<<23 - 1); d != 0 {
			// The generation ended: released, unless history says it was reset.
			if d <= 8 && now>>(historyLSB+d-1)&1 == 1 {
				return index, ErrBroken
			}
			return index, nil
		}
		if now&brokenBit != 0 {
			return index, ErrBroken
		}
		if err := ctx.Err(); err != nil {
			if !b.state.CompareAndSwap(now, now|brokenBit) {
				continue // the state moved under us: look again
			}
			futex.WakeAll(b.high())
			return index, err
		}
		futex.Wait(b.high(), uint32(now>>32), Slice)
	}
}

// Abort breaks the barrier: waiters, and every Wait until Reset, fail with ErrBroken.
func (b *Barrier) Abort() {
	for {
		s := b.state.Load()
		if s&brokenBit != 0 || b.state.CompareAndSwap(s, s|brokenBit) {
			break
		}
	}
	futex.WakeAll(b.high())
}

// Reset breaks the barrier for its current waiters and makes it whole and empty again.
func (b *Barrier) Reset() {
	for {
		s := b.state.Load()
		if b.state.CompareAndSwap(s, next(s, true)) {
			break
		}
	}
	futex.WakeAll(b.high())
}

// Waiting returns the number of parties waiting now.
func (b *Barrier) Waiting() int { return int(b.state.Load() & countMask) }
