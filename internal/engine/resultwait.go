package engine

import (
	"sync/atomic"
	"time"

	"github.com/multiproc/multiproc/internal/spin"
)

// spinWindow bounds how long a reader polls its worker's ring before it sleeps. Waking a
// sleeping thread costs tens of microseconds on a VM, more than the rest of a round trip: a
// result that comes soon is better met by a reader that is awake.
const spinWindow = 100 * time.Microsecond

// spinners counts the readers polling now: one at a time, so that polling never takes more
// than one CPU from the workers.
var spinners atomic.Int32

// resultWaiter has the reader of a worker's results poll its ring for a short while before it
// sleeps when a result is likely to come soon: right after a result (the caller may send the
// next task at once, as sequential Apply calls do) and while the worker runs quick tasks.
type resultWaiter struct {
	w      *worker
	policy spin.Policy
}

func (rw *resultWaiter) Poll() time.Duration {
	if !rw.w.resultSoon() || !rw.policy.Allow() || !spinners.CompareAndSwap(0, 1) {
		return 0
	}
	return spinWindow
}

func (rw *resultWaiter) Polled(hit bool) {
	spinners.Store(0)
	if hit {
		rw.policy.Hit()
	} else {
		rw.policy.Miss()
	}
}

// resultSoon guesses whether the worker will send something within spinWindow: it has just
// finished its work (a caller may send more), or it holds quick tasks.
func (w *worker) resultSoon() bool {
	e := w.e
	last := w.lastResult.Load()
	if last != 0 && time.Now().UnixNano()-last < spinWindow.Nanoseconds() {
		return true
	}
	per := e.itemNanos.Load()
	return w.busySince.Load() != 0 && per > 0 && per < spinWindow.Nanoseconds()
}
