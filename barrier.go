package multiproc

import (
	"context"
	"errors"
	"runtime"

	"github.com/multiproc/multiproc/internal/handle"
	"github.com/multiproc/multiproc/internal/shmsync"
)

// Barrier makes parties processes (or goroutines) wait for each other (multiprocessing.Barrier).
// Once parties have called Wait, all of them return and the barrier is ready for the next
// round.
//
// A Barrier travels to another process as a task's argument or result (or inside one). Its
// methods are safe for concurrent use.
type Barrier struct {
	obj *handle.Object
	b   *shmsync.Barrier
}

// NewBarrier returns a Barrier for parties parties. parties < 1 is an error wrapping
// ErrInvalidOption.
func NewBarrier(parties int) (*Barrier, error) {
	if parties < 1 || parties > 1<<31 {
		return nil, invalid("NewBarrier(%d): the number of parties must be 1 or more", parties)
	}
	obj, err := newObject(kindBarrier, sizeOf[shmsync.Barrier]())
	if err != nil {
		return nil, err
	}
	b := &Barrier{}
	b.init(obj)
	b.b.Init(parties)
	return b, nil
}

func (b *Barrier) init(obj *handle.Object) {
	b.obj, b.b = obj, at[shmsync.Barrier](obj.Mem, 0)
	releaseWhenUnreachable(b, obj)
}

// Wait waits until parties processes are waiting, and returns the caller's arrival index,
// 0 to parties-1. If the barrier is broken (Abort, Reset, or a waiter whose ctx ended) it
// returns ErrBrokenBarrier, and so does every Wait until Reset. If ctx ends first, Wait returns
// ctx.Err() and breaks the barrier for the others.
func (b *Barrier) Wait(ctx context.Context) (int, error) {
	i, err := b.b.Wait(ctx)
	runtime.KeepAlive(b) // the memory stays mapped while it is used
	if errors.Is(err, shmsync.ErrBroken) {
		return i, ErrBrokenBarrier
	}
	return i, err
}

// Abort breaks the barrier: waiters, and every Wait until Reset, get ErrBrokenBarrier.
func (b *Barrier) Abort() { b.b.Abort(); runtime.KeepAlive(b) }

// Reset breaks the barrier for the current waiters (they get ErrBrokenBarrier) and makes it
// whole and empty again.
func (b *Barrier) Reset() { b.b.Reset(); runtime.KeepAlive(b) }

func (b *Barrier) sharedObject() *handle.Object { return b.obj }

// GobEncode lets the barrier travel as a task's argument or result.
func (b *Barrier) GobEncode() ([]byte, error) { return encodeHandle(b.obj, "Barrier") }

// GobDecode opens a barrier that travelled.
func (b *Barrier) GobDecode(bs []byte) error {
	obj, err := handle.Open(bs, kindBarrier, "Barrier")
	if err != nil {
		return err
	}
	b.init(obj)
	return nil
}
