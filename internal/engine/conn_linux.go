package engine

import (
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/spin"
)

// spinWindow bounds how long a reader polls its worker's socket before it sleeps in the
// runtime's poller. Waking a sleeping thread costs tens of microseconds on a VM, more than the
// rest of a round trip: a result that comes soon is better met by a reader that is awake.
const spinWindow = 100 * time.Microsecond

// spinners counts the readers polling now: one at a time, so that polling never takes more
// than one CPU from the workers.
var spinners atomic.Int32

// socketReader reads a worker's socket, polling for a short while before it sleeps when a
// result is likely to come soon: right after a result (the caller may send the next task at
// once, as sequential Apply calls do) and while the worker runs quick tasks.
type socketReader struct {
	f      *os.File
	rc     syscall.RawConn
	w      *worker
	policy spin.Policy
}

func newSocketReader(f *os.File, w *worker) (*socketReader, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &socketReader{f: f, rc: rc, w: w}, nil
}

func (r *socketReader) Read(p []byte) (int, error) {
	var n int
	var rerr error
	var spinUntil time.Time
	holding := false // this reader holds the one polling token
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			n, rerr = syscall.Read(int(fd), p)
			if rerr == syscall.EINTR {
				continue
			}
			if rerr != syscall.EAGAIN {
				if holding {
					r.policy.Hit()
				}
				return true
			}
			if spinUntil.IsZero() {
				spinUntil = time.Now() // polled once, whatever is decided now
				if !r.w.resultSoon() || !r.policy.Allow() || !spinners.CompareAndSwap(0, 1) {
					return false // sleep until readable
				}
				holding = true
				spinUntil = spinUntil.Add(spinWindow)
			}
			if !holding || time.Now().After(spinUntil) {
				if holding {
					spinners.Store(0)
					holding = false
					r.policy.Miss()
				}
				return false
			}
			runtime.Gosched() // a goroutine this reader made ready (a caller) runs first
		}
	})
	if holding {
		spinners.Store(0)
	}
	if err != nil {
		return 0, err
	}
	if n == 0 && rerr == nil {
		return 0, io.EOF
	}
	if n < 0 {
		n = 0
	}
	return n, rerr
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
