package shmqueue

import (
	"context"
	"runtime"
	"time"
)

// lockCheck is how long a locker sleeps before it looks whether the holder is still alive: a
// process killed holding a lock does not wake anyone.
const lockCheck = 10 * time.Millisecond

// lockSpins is how many times a locker looks at a held lock before it sleeps: a holder copies
// an item or two, well under a microsecond, before it lets go.
const lockSpins = 200

// acquire takes l for the process me. It reports tookOver when the previous holder died
// holding it: the caller then repairs what the dead holder left half done. It fails only when
// ctx ends first.
func (l *lock) acquire(ctx context.Context, me uint32) (tookOver bool, err error) {
	if l.owner.CompareAndSwap(0, me) {
		return false, nil
	}
	for i := 0; i < lockSpins; i++ {
		if i%16 == 15 {
			runtime.Gosched()
		}
		if l.owner.Load() == 0 && l.owner.CompareAndSwap(0, me) {
			return false, nil
		}
	}
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		o := l.owner.Load()
		if o == 0 {
			if l.owner.CompareAndSwap(0, me) {
				return false, nil
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if stop == nil && ctx.Done() != nil {
			// Wake this process's lockers when ctx ends; they look at their ctx and go on
			// waiting if it is not theirs.
			stop = context.AfterFunc(ctx, func() { futexWake(&l.owner, 1<<30) })
		}
		l.waiters.Add(1)
		slept := futexWait(&l.owner, o, lockCheck)
		l.waiters.Add(^uint32(0))
		if !slept && o != me && l.owner.Load() == o && !alive(o) {
			if l.owner.CompareAndSwap(o, me) {
				return true, nil
			}
		}
	}
}

// release lets l go and wakes a sleeping locker.
func (l *lock) release() {
	l.owner.Swap(0)
	if l.waiters.Load() != 0 {
		futexWake(&l.owner, 1)
	}
}
