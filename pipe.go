package multiproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"

	"github.com/multiproc/multiproc/internal/handle"
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
	obj   *handle.Object
	e     *shmqueue.End
	items *items[T]
}

// NewPipe returns the two ends of a two-way connection. A T that cannot travel between
// processes is an error naming it.
func NewPipe[T any]() (*Conn[T], *Conn[T], error) {
	it, err := newItems[T]("Pipe")
	if err != nil {
		return nil, nil, err
	}
	obj, err := newObject(kindConn, shmqueue.PipeSize(pipeRing))
	if err != nil {
		return nil, nil, err
	}
	if err := shmqueue.InitPipe(obj.Mem, pipeRing, typeHash[T]()); err != nil {
		obj.Release(false)
		return nil, nil, err
	}
	obj.Retain() // a reference for each end
	var ends [2]*Conn[T]
	for side := range ends {
		ends[side] = &Conn[T]{items: it}
		if err := ends[side].init(obj, side); err != nil {
			return nil, nil, err
		}
	}
	return ends[0], ends[1], nil
}

// init makes c a handle on end side of the pipe in obj, which it releases once c is
// unreachable.
func (c *Conn[T]) init(obj *handle.Object, side int) error {
	e, err := shmqueue.AttachEnd(obj.Mem, side)
	if err != nil {
		obj.Release(false)
		return fmt.Errorf("multiproc: opening a Conn: %w", err)
	}
	if e.Tag() != typeHash[T]() {
		obj.Release(false)
		return fmt.Errorf("multiproc: a Conn of another value type arrived as a Conn[%v]", reflect.TypeFor[T]())
	}
	c.obj, c.e = obj, e
	releaseWhenUnreachable(c, obj)
	return nil
}

func (c *Conn[T]) sharedObject() *handle.Object { return c.obj }

// GobEncode lets the end travel as a task's argument or result: the token of the pipe's
// memory, then the side.
func (c *Conn[T]) GobEncode() ([]byte, error) {
	b, err := encodeHandle(c.obj, "Conn")
	if err != nil {
		return nil, err
	}
	return append(b, byte(c.e.Side())), nil
}

// GobDecode opens an end that travelled: this process owns it from now on.
func (c *Conn[T]) GobDecode(b []byte) error {
	if len(b) == 0 || b[len(b)-1] > 1 {
		return errors.New("multiproc: decoding a Conn: malformed")
	}
	it, err := newItems[T]("Pipe")
	if err != nil {
		return err
	}
	obj, err := handle.Open(b[:len(b)-1], kindConn, "Conn")
	if err != nil {
		return err
	}
	c.items = it
	if err := c.init(obj, int(b[len(b)-1])); err != nil {
		return err
	}
	c.e.Adopt()
	return nil
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
