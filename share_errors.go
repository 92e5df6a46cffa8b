package multiproc

import "errors"

// The sentinel errors of the objects shared between processes (Queue, Conn, Lock, ...). They
// keep their identity when a task returns them (see RegisterError).
var (
	ErrClosed        = errors.New("multiproc: closed")         // Put on a closed Queue; Get on a closed and drained one; Send on a closed Conn
	ErrFull          = errors.New("multiproc: queue full")     // TryPut on a full Queue
	ErrEmpty         = errors.New("multiproc: queue empty")    // TryGet on an empty Queue
	ErrOwnerDied     = errors.New("multiproc: owner died")     // Lock/Acquire: the holder died holding it; the caller holds it now
	ErrBrokenBarrier = errors.New("multiproc: broken barrier") // Barrier.Wait: the barrier was aborted, or a waiter's ctx ended
)

func init() {
	for _, err := range []error{ErrClosed, ErrFull, ErrEmpty, ErrOwnerDied, ErrBrokenBarrier} {
		RegisterError(err)
	}
}
