package multiproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/spawn"
	"github.com/multiproc/multiproc/internal/wire"
)

// The sentinel errors. Test for them with errors.Is: they are usually wrapped.
var (
	ErrWorkerDied    = errors.New("multiproc: worker died")             // a worker process ended while it held the task
	ErrTimeout       = errors.New("multiproc: task timed out")          // TaskTimeout expired
	ErrMemoryLimit   = errors.New("multiproc: memory limit exceeded")   // MemoryLimit exceeded
	ErrPoolClosed    = errors.New("multiproc: pool closed")             // the pool was closed or terminated
	ErrNotRegistered = errors.New("multiproc: function not registered") // the function is unknown to workers
	ErrInvalidOption = errors.New("multiproc: invalid option")          // an option's value is out of range
)

// TaskError says which input of a Map, Imap or ImapUnordered failed.
type TaskError struct {
	Index int   // the input's position
	Err   error // why it failed
}

func (e *TaskError) Error() string {
	return fmt.Sprintf("multiproc: input %d: %s", e.Index, unprefixed(e.Err))
}
func (e *TaskError) Unwrap() error { return e.Err }

// RemoteError is an error a task returned, as it crossed from the worker. errors.Is matches the
// sentinels registered with RegisterError (and the standard ones) that the original matched.
type RemoteError struct {
	Type    string // the original error's dynamic type, as %T prints it, e.g. "*fs.PathError"
	Message string // the original error's message

	sentinels []string
}

func (e *RemoteError) Error() string { return e.Message }

// Is reports whether the original error matched target, a registered sentinel.
func (e *RemoteError) Is(target error) bool {
	key, ok := sentinelKey(target)
	if !ok {
		return false
	}
	for _, k := range e.sentinels {
		if k == key {
			return true
		}
	}
	return false
}

// PanicError is a task's panic. The worker recovers and goes on with its next task.
type PanicError struct {
	Value string // the panic value, formatted with %v
	Stack string // the stack of the panicking goroutine, in the worker
}

func (e *PanicError) Error() string {
	return "multiproc: task panicked: " + e.Value + "\n\n" + e.Stack
}

// WorkerError says that the worker process running a task ended before the task returned.
// errors.Is(err, ErrWorkerDied) holds.
type WorkerError struct {
	Pid      int
	ExitCode int            // -1 when a signal ended it
	Signal   syscall.Signal // 0 when it exited
	Stderr   string         // the end of what the worker wrote to stderr
	Cause    error          // why the parent ended it, when it did (a worker that sent bad data)
}

func (e *WorkerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "multiproc: worker %d died", e.Pid)
	if e.Signal != 0 {
		fmt.Fprintf(&b, " (signal: %v)", e.Signal)
	} else {
		fmt.Fprintf(&b, " (exit status %d)", e.ExitCode)
	}
	if e.Cause != nil {
		fmt.Fprintf(&b, ": %s", unprefixed(e.Cause))
	}
	if h := spawn.CrashHeadline(e.Stderr); h != "" {
		fmt.Fprintf(&b, "; it crashed: %s", h)
	} else if last := lastLine(e.Stderr); last != "" {
		fmt.Fprintf(&b, "; its stderr ends: %s", last)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrWorkerDied) hold.
func (e *WorkerError) Is(target error) bool { return target == ErrWorkerDied }

// Unwrap returns the cause, if any.
func (e *WorkerError) Unwrap() error { return e.Cause }

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// prefix starts every message of this package's errors, once.
const prefix = "multiproc: "

// unprefixed is err's message without the package's prefix, for a message that has it already.
func unprefixed(err error) string { return strings.TrimPrefix(err.Error(), prefix) }

// contextError says what was under way (what) when err happened.
type contextError struct {
	what string
	err  error
}

func (e *contextError) Error() string { return e.what + ": " + unprefixed(e.err) }
func (e *contextError) Unwrap() error { return e.err }

// timeoutError is the error of a task that ran past its TaskTimeout.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string { return fmt.Sprintf("multiproc: task timed out after %v", e.d) }
func (e *timeoutError) Is(target error) bool {
	return target == ErrTimeout || target == context.DeadlineExceeded
}

// notRegisteredError names the function a worker does not know.
type notRegisteredError struct{ name string }

func (e *notRegisteredError) Error() string {
	return fmt.Sprintf("multiproc: function %q is not registered in worker processes "+
		"(register it at package level, before multiproc.Main runs)", e.name)
}
func (e *notRegisteredError) Is(target error) bool { return target == ErrNotRegistered }

// The sentinels whose identity crosses the process boundary, by key.
var sentinels = struct {
	sync.RWMutex
	list []error
}{list: []error{io.EOF, io.ErrUnexpectedEOF, fs.ErrNotExist, fs.ErrExist, fs.ErrPermission,
	context.Canceled, context.DeadlineExceeded, ErrWorkerDied, ErrTimeout, ErrMemoryLimit,
	ErrPoolClosed, ErrNotRegistered, ErrInvalidOption}}

// RegisterError makes errors.Is(err, target) hold for an error that crossed from a worker when
// it held for the original. Register at package level, so that workers have it too. Common
// standard sentinels are registered already: io.EOF, io.ErrUnexpectedEOF, fs.ErrNotExist,
// fs.ErrExist, fs.ErrPermission, context.Canceled, context.DeadlineExceeded, and this package's.
func RegisterError(target error) {
	if target == nil {
		return
	}
	sentinels.Lock()
	defer sentinels.Unlock()
	for _, s := range sentinels.list {
		if s == target {
			return
		}
	}
	sentinels.list = append(sentinels.list, target)
}

// sentinelKey identifies a registered sentinel in both processes: its type and message.
func sentinelKey(target error) (string, bool) {
	sentinels.RLock()
	defer sentinels.RUnlock()
	for _, s := range sentinels.list {
		if s == target {
			return fmt.Sprintf("%T:%s", s, s.Error()), true
		}
	}
	return "", false
}

// describe is a task's error as it travels.
func describe(err error) wire.Error {
	we := wire.Error{Type: fmt.Sprintf("%T", err), Message: err.Error()}
	sentinels.RLock()
	list := sentinels.list
	sentinels.RUnlock()
	for _, s := range list {
		if errors.Is(err, s) {
			we.Sentinels = append(we.Sentinels, fmt.Sprintf("%T:%s", s, s.Error()))
		}
	}
	return we
}

// remote is the error a caller sees for a task's error that travelled.
func remote(we wire.Error) error {
	if we.Panic {
		return &PanicError{Value: we.Message, Stack: we.Stack}
	}
	return &RemoteError{Type: we.Type, Message: we.Message, sentinels: we.Sentinels}
}

// fromBackend is the error a caller sees for a failure a backend reports: the one place where
// the backend's terms (internal/backend) become this package's errors. Other errors (a
// context's, an input that could not be encoded) pass as they are.
func fromBackend(err error) error {
	if err == backend.ErrClosed {
		return ErrPoolClosed
	}
	switch e := err.(type) {
	case *backend.DiedError:
		return workerError(e.Death, fromBackend(e.Death.Cause))
	case *backend.TimeoutError:
		return &timeoutError{e.After}
	case *backend.MemoryError:
		return workerError(e.Death, fmt.Errorf("%w (%d bytes)", ErrMemoryLimit, e.Limit))
	case *backend.RemoteError:
		return remote(e.Err)
	case *backend.InitError:
		return &contextError{"initializer failed", fromBackend(e.Err)}
	case *backend.StartError:
		var we error = fromBackend(e.Err)
		if e.Death.Pid != 0 { // a process was started, and ended
			we = workerError(e.Death, we)
		}
		switch {
		case e.Death.ExitCode == spawn.ExitNoMain || strings.Contains(e.Death.Stderr, spawn.ErrorNoMain):
			return &contextError{"multiproc: a worker could not start because the program does not " +
				"call multiproc.Main() first in main (or TestMain)", we}
		case e.Lasting > 0:
			return &contextError{fmt.Sprintf("multiproc: no worker could be started for %v", e.Lasting), we}
		case e.Death.Pid == 0 && strings.HasPrefix(unprefixed(we), "starting a worker"):
			return we // spawn said so already
		}
		return &contextError{"multiproc: starting a worker", we}
	}
	return err
}

// workerError is the *WorkerError of a worker's death.
func workerError(d backend.Death, cause error) *WorkerError {
	return &WorkerError{Pid: d.Pid, ExitCode: d.ExitCode, Signal: d.Signal, Stderr: d.Stderr, Cause: cause}
}
