package multiproc

import (
	"context"
	"fmt"
	"runtime"

	"github.com/multiproc/multiproc/internal/handle"
	"github.com/multiproc/multiproc/internal/shmsync"
)

// Semaphore holds n permits (multiprocessing.BoundedSemaphore). Permits held by a process that
// dies are given back (within about 10 ms of the death, once a caller finds none free).
//
// Permits are counted per process: a permit acquired in one process may be released in
// another. At most 240 processes may hold permits of one Semaphore at once.
//
// A Semaphore travels to another process as a task's argument or result (or inside one). Its
// methods are safe for concurrent use.
type Semaphore struct {
	obj *handle.Object
	s   *shmsync.Semaphore
}

// NewSemaphore returns a Semaphore with n permits, all free. n < 0 is an error wrapping
// ErrInvalidOption.
func NewSemaphore(n int) (*Semaphore, error) {
	if n < 0 || n > 1<<31 {
		return nil, invalid("NewSemaphore(%d): the number of permits must be 0 or more", n)
	}
	obj, err := newObject(kindSemaphore, sizeOf[shmsync.Semaphore]())
	if err != nil {
		return nil, err
	}
	s := &Semaphore{}
	s.init(obj)
	s.s.Init(n)
	return s, nil
}

func (s *Semaphore) init(obj *handle.Object) {
	s.obj, s.s = obj, at[shmsync.Semaphore](obj.Mem, 0)
	releaseWhenUnreachable(s, obj)
}

// Acquire takes a permit, waiting until one is free; if ctx ends first it returns ctx.Err().
func (s *Semaphore) Acquire(ctx context.Context) error {
	defer runtime.KeepAlive(s) // the memory stays mapped while it is used
	if err := s.s.Acquire(ctx); err != nil {
		if ctx.Err() == nil {
			return fmt.Errorf("multiproc: Semaphore.Acquire: %w", err)
		}
		return err
	}
	return nil
}

// TryAcquire takes a permit if one is free, and reports whether it did.
func (s *Semaphore) TryAcquire() bool {
	ok, _ := s.s.TryAcquire()
	runtime.KeepAlive(s)
	return ok
}

// Release gives a permit back. It returns an error if every permit is free already.
func (s *Semaphore) Release() error {
	defer runtime.KeepAlive(s)
	if err := s.s.Release(); err != nil {
		return fmt.Errorf("multiproc: Semaphore.Release: %w", err)
	}
	return nil
}

func (s *Semaphore) sharedObject() *handle.Object { return s.obj }

// GobEncode lets the semaphore travel as a task's argument or result.
func (s *Semaphore) GobEncode() ([]byte, error) { return encodeHandle(s.obj, "Semaphore") }

// GobDecode opens a semaphore that travelled.
func (s *Semaphore) GobDecode(b []byte) error {
	obj, err := handle.Open(b, kindSemaphore, "Semaphore")
	if err != nil {
		return err
	}
	s.init(obj)
	return nil
}
