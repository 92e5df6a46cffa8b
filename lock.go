package multiproc

import (
	"context"
	"fmt"
	"runtime"

	"github.com/multiproc/multiproc/internal/handle"
	"github.com/multiproc/multiproc/internal/shmsync"
)

// Lock is a mutual-exclusion lock held by a process (multiprocessing.Lock); any goroutine of the
// holding process may Unlock it, as with sync.Mutex. If its holder dies holding it, the next Lock
// or TryLock gets it with ErrOwnerDied: the caller decides whether what it guards is consistent.
//
// It is not reentrant: a second Lock in the holding process waits (Python's RLock has no
// counterpart; keep the lock in one place). A waiter notices a holder's death within 10 ms, and
// at once on Linux once it has waited that long (see internal/shmsync). An uncontended Lock and
// Unlock are an atomic operation each; waiting costs no CPU.
//
// A Lock travels to another process as a task's argument or result (or inside one). Its
// methods are safe for concurrent use.
type Lock struct {
	obj *handle.Object
	m   *shmsync.Mutex
}

// NewLock returns an unlocked Lock.
func NewLock() (*Lock, error) {
	obj, err := newObject(kindLock, sizeOf[shmsync.Mutex]())
	if err != nil {
		return nil, err
	}
	l := &Lock{}
	l.init(obj)
	return l, nil
}

func (l *Lock) init(obj *handle.Object) {
	l.obj, l.m = obj, at[shmsync.Mutex](obj.Mem, 0)
	releaseWhenUnreachable(l, obj)
}

// Lock locks l, waiting while another process, or another goroutine of this one, holds it. It
// returns ErrOwnerDied, holding the lock, if its holder died holding it, and ctx.Err(), not
// holding it, if ctx ends first.
func (l *Lock) Lock(ctx context.Context) error {
	died, err := l.m.Lock(ctx)
	runtime.KeepAlive(l) // the memory stays mapped while it is used
	if died {
		return fmt.Errorf("%w (process that held the Lock ended)", ErrOwnerDied)
	}
	return err
}

// TryLock locks l if it is free: (true, nil); or if its holder died: (true, ErrOwnerDied). If
// a live process holds it, this one included, it returns (false, nil).
func (l *Lock) TryLock() (bool, error) {
	ok, died := l.m.TryLock()
	runtime.KeepAlive(l)
	if died {
		return true, fmt.Errorf("%w (process that held the Lock ended)", ErrOwnerDied)
	}
	return ok, nil
}

// Unlock unlocks l. It returns an error if this process does not hold it.
func (l *Lock) Unlock() error {
	defer runtime.KeepAlive(l)
	if err := l.m.Unlock(); err != nil {
		return fmt.Errorf("multiproc: Unlock of a Lock %s", lockHolder(l.m))
	}
	return nil
}

// lockHolder says who holds m, for Unlock's error.
func lockHolder(m *shmsync.Mutex) string {
	if pid := m.Owner(); pid != 0 {
		return fmt.Sprintf("held by another process (pid %d)", pid)
	}
	return "that is not locked"
}

func (l *Lock) sharedObject() *handle.Object { return l.obj }

// GobEncode lets the lock travel as a task's argument or result.
func (l *Lock) GobEncode() ([]byte, error) { return encodeHandle(l.obj, "Lock") }

// GobDecode opens a lock that travelled.
func (l *Lock) GobDecode(b []byte) error {
	obj, err := handle.Open(b, kindLock, "Lock")
	if err != nil {
		return err
	}
	l.init(obj)
	return nil
}
