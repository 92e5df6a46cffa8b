package multiproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/multiproc/multiproc/internal/shmqueue"
)

// pipeRing is the size of each of a pipe's two rings.
const pipeRing = 1 << 20

// Conn is one end of a two-way connection made by NewPipe (multiprocessing.Pipe()): what
// one end sends, the other receives, in order. Values travel as a Queue's items do, through
// shared memory, with no system call while both sides are busy.
//
// An end belongs to one process: the one that made it, until the end is passed to another
// process (as a task's argument or result), which owns it from then on; the process that
// passed it on can no longer use its copy. When the process owning an end dies, the other
// end reads what was sent before, then io.EOF, and its Send fails with ErrClosed: the
// death is noticed within about 20ms by an end that waits.
//
// Methods are safe for concurrent use by goroutines of the owning process.
type Conn[T any] struct {
	e     *shmqueue.End
	mem   *sharedMemory
	items *items[T]
}

// NewPipe returns the two ends of a two-way connection. A T that cannot travel between
// processes is an error naming it.
func NewPipe[T any]() (*Conn[T], *Conn[T], error) {
	it, err := newItems[T]("Pipe")
	if err != nil {
		return nil, nil, err
	}
	mem, err := newSharedMemory(shmqueue.PipeSize(pipeRing))
	if err != nil {
		return nil, nil, err
	}
	if err := shmqueue.InitPipe(mem.r.Mem, pipeRing); err != nil {
		return nil, nil, err
	}
	var ends [2]*Conn[T]
	for side := range ends {
		e, err := shmqueue.AttachEnd(mem.r.Mem, side)
		if err != nil {
			return nil, nil, err
		}
		ends[side] = &Conn[T]{e: e, mem: mem, items: it}
	}
	return ends[0], ends[1], nil
}

// Send sends v to the other end, waiting while its ring is full. It fails with ErrClosed once
// either end is closed or the other end's process has died, and with ctx.Err() if ctx ends
// first.
func (c *Conn[T]) Send(ctx context.Context, v T) error {
	err := c.items.send(v, func(segs [][]byte) error { return c.e.Send(ctx, segs) })
	runtime.KeepAlive(c)
	return c.connErr(err)
}

// Recv receives the next value from the other end, waiting until there is one. Once the
// other end is closed, or its process has died, and everything it sent has been received,
// Recv returns io.EOF. It returns ctx.Err() if ctx ends first.
func (c *Conn[T]) Recv(ctx context.Context) (T, error) {
	var v T
	var derr error
	err := c.e.Recv(ctx, func(b []byte, owned bool) error {
		v, derr = c.items.take(b, owned)
		return nil
	})
	runtime.KeepAlive(c)
	if errors.Is(err, shmqueue.ErrClosed) {
		return v, io.EOF
	}
	if err == nil {
		err = derr
	}
	return v, c.connErr(err)
}

// Close closes the connection: the other end receives what was sent before, then io.EOF, and
// its Send fails with ErrClosed. Closing an end this process passed on to another does
// nothing. Closing a closed end does nothing.
func (c *Conn[T]) Close() error {
	c.e.Close()
	runtime.KeepAlive(c)
	return nil
}

func (c *Conn[T]) connErr(err error) error {
	if errors.Is(err, shmqueue.ErrNotOwner) {
		return fmt.Errorf("multiproc: this end of the pipe was passed on: it belongs to process %d", c.e.Owner())
	}
	return queueErr(err)
}
