package shmqueue

import (
	"context"
	"runtime"
	"time"

	"github.com/multiproc/multiproc/internal/futex"
	"github.com/multiproc/multiproc/internal/spin"
)

// sleepMax bounds every sleep: a process killed between publishing something and waking
// its sleepers leaves them asleep, and they then look again after this long.
const sleepMax = 100 * time.Millisecond

// spinFor is how long a waiter polls before it sleeps: a process that is working answers in
// microseconds, and waking one that sleeps costs tens of microseconds (ANCHORS: ~30 µs).
const spinFor = 50 * time.Microsecond

// wake tells the sleepers of w, if any, that something changed. The caller has published
// the change with a full barrier (an atomic swap or add) before.
//
// The waker that finds sleepers counts them out: the next waker makes no system call unless
// someone went to sleep since. Sleepers never count themselves out: one that wakes by its
// timeout, or was killed asleep, costs the next waker one needless wake-up, no more.
func wake(w *waitWord) {
	if w.sleepers.Load() != 0 && w.sleepers.Swap(0) != 0 {
		w.seq.Add(1)
		futex.WakeAll(w.word())
	}
}

// wakeAll tells every sleeper of w to look again, whether it is counted or not.
func wakeAll(w *waitWord) {
	w.seq.Add(1)
	futex.WakeAll(w.word())
}

// waiter waits on one waitWord for one handle. Its policy, kept across waits, stops polling
// when polling has not paid lately. An eager waiter always polls: it waits, in the middle of
// an item, for a process that is copying the next piece of it.
type waiter struct {
	policy spin.Policy
	eager  bool
}

// wait returns once ready reports true, or ctx ends (with ctx.Err()). It polls for a while
// when polling has been paying, then sleeps on w. Every sleep ends after at most period, and
// then check, if set, runs (it may make ready true; it runs in the waiting goroutine).
func (wt *waiter) wait(ctx context.Context, w *waitWord, ready func() bool, period time.Duration, check func()) error {
	if ready() {
		return nil
	}
	if wt.eager || wt.policy.Allow() {
		deadline := time.Now().Add(spinFor)
		for i := 1; ; i++ {
			if ready() {
				wt.policy.Hit()
				return nil
			}
			if i%64 == 0 {
				if time.Now().After(deadline) {
					break
				}
				runtime.Gosched()
			}
		}
		wt.policy.Miss()
	}
	var stop func() bool
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	checked := time.Now()
	for {
		seq := w.seq.Load()
		w.sleepers.Add(1)
		if ready() {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if stop == nil && ctx.Done() != nil {
			stop = context.AfterFunc(ctx, func() { wakeAll(w) })
		}
		futex.Wait(w.word(), seq, period)
		if check != nil && time.Since(checked) >= period {
			check()
			checked = time.Now()
		}
	}
}
