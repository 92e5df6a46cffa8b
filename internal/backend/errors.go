package backend

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/wire"
)

// The failures a backend reports to Work.Finish (and from NewJob and its Factory). The root
// package converts each to the error its callers see, in one place (errors.go); their own
// messages are for logs and tests.

// ErrClosed is the failure of work given to, or left in, a closed backend.
var ErrClosed = errors.New("pool closed")

// Death describes how a worker process ended.
type Death struct {
	Pid      int
	ExitCode int            // -1 when a signal ended it
	Signal   syscall.Signal // 0 when it exited
	Stderr   string         // the end of its standard error
	Cause    error          // why the backend ended it, if it did (it sent bad data, say)
}

func (d Death) String() string {
	s := fmt.Sprintf("worker %d", d.Pid)
	if d.Signal != 0 {
		s += fmt.Sprintf(" (signal: %v)", d.Signal)
	} else {
		s += fmt.Sprintf(" (exit status %d)", d.ExitCode)
	}
	if d.Cause != nil {
		s += ": " + d.Cause.Error()
	}
	return s
}

// DiedError: the worker running the task ended before the task returned.
type DiedError struct{ Death Death }

func (e *DiedError) Error() string { return e.Death.String() + " died" }

// TimeoutError: the task ran past its timeout.
type TimeoutError struct{ After time.Duration }

func (e *TimeoutError) Error() string { return fmt.Sprintf("task timed out after %v", e.After) }

// MemoryError: the worker running the task went over its memory limit and was killed.
type MemoryError struct {
	Death Death
	Limit int64 // bytes
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("%v went over its memory limit of %d bytes", e.Death, e.Limit)
}

// RemoteError: the task returned an error or panicked, as the error crossed from the worker.
type RemoteError struct{ Err wire.Error }

func (e *RemoteError) Error() string { return e.Err.Message }

// StartError: a worker could not be started (it died before or during its handshake, or its
// initializer failed). Lasting, set when no worker could be started for that long: the backend
// gave up and failed the work waiting for one.
type StartError struct {
	Death   Death
	Err     error // what went wrong; an *InitError when the initializer failed
	Lasting time.Duration
}

func (e *StartError) Error() string {
	s := "starting a worker: "
	if e.Lasting > 0 {
		s = fmt.Sprintf("no worker could be started for %v: ", e.Lasting)
	}
	return s + e.Death.String() + ": " + e.Err.Error()
}

func (e *StartError) Unwrap() error { return e.Err }

// InitError: a worker's initializer failed with Err (a RemoteError, typically).
type InitError struct{ Err error }

func (e *InitError) Error() string { return "initializer failed: " + e.Err.Error() }
func (e *InitError) Unwrap() error { return e.Err }
