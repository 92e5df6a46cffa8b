package multiproc

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"runtime"
	"sync"
	"unsafe"

	"github.com/multiproc/multiproc/internal/handle"
	"github.com/multiproc/multiproc/internal/shmqueue"
	"github.com/multiproc/multiproc/internal/wire"
)

// Queue is a FIFO shared by any number of producer and consumer processes
// (multiprocessing.Queue and JoinableQueue). It holds at most its capacity of items.
//
// The items live in shared memory (internal/shmqueue): Put copies an encoded value in, Get
// copies it out, and neither makes a system call while the other side is busy; a side with
// nothing to do polls for a few microseconds, then sleeps on a futex until woken. Values
// travel as task arguments do, with the same codec: []byte, numbers, bools, strings and
// slices of numbers raw; anything else with encoding/gob, each item on its own (a gob item
// costs tens of microseconds more than a raw one). An item larger than half the queue's
// ring (1 MiB, or 64 bytes an item of capacity, up to 64 MiB) streams through it in pieces.
// Besides capacity items, the queue is also full when its ring is.
//
// A process killed using the queue does not wedge it: a lock it held is taken over by the
// next process that needs it, an item it was putting is there whole or not at all, and an
// item it was taking is left in the queue, unless the item was larger than half the ring (512
// KiB for most queues), which travels in pieces, and the process had begun to take it. The same holds for a Put or Get whose ctx ends.
//
// Methods are safe for concurrent use by goroutines and processes. Every process holding
// the queue sees the same items; Close closes it for all of them.
type Queue[T any] struct {
	obj   *handle.Object
	q     *shmqueue.Queue
	items *items[T]
}

// NewQueue makes a queue of at most capacity items (at least 1, else an error wrapping
// ErrInvalidOption). A T that cannot travel between processes is an error naming it.
func NewQueue[T any](capacity int) (*Queue[T], error) {
	if capacity < 1 || capacity > shmqueue.MaxCapacity {
		return nil, fmt.Errorf("%w: NewQueue(%d): the capacity must be in [1, %d]", ErrInvalidOption, capacity, shmqueue.MaxCapacity)
	}
	it, err := newItems[T]("Queue")
	if err != nil {
		return nil, err
	}
	ringSize := queueRing(capacity)
	obj, err := newObject(kindQueue, shmqueue.Size(ringSize))
	if err != nil {
		return nil, err
	}
	if err := shmqueue.Init(obj.Mem, ringSize, capacity, typeHash[T]()); err != nil {
		obj.Release(false)
		return nil, err
	}
	q := &Queue[T]{items: it}
	if err := q.init(obj); err != nil {
		return nil, err
	}
	return q, nil
}

// init makes q a handle on the queue in obj, which it releases once q is unreachable.
func (q *Queue[T]) init(obj *handle.Object) error {
	sq, err := shmqueue.Attach(obj.Mem)
	if err != nil {
		obj.Release(false)
		return fmt.Errorf("multiproc: opening a Queue: %w", err)
	}
	if sq.Tag() != typeHash[T]() {
		obj.Release(false)
		return fmt.Errorf("multiproc: a Queue of another item type arrived as a Queue[%v]", reflect.TypeFor[T]())
	}
	q.obj, q.q = obj, sq
	releaseWhenUnreachable(q, obj)
	return nil
}

func (q *Queue[T]) sharedObject() *handle.Object { return q.obj }

// GobEncode lets the queue travel as a task's argument or result.
func (q *Queue[T]) GobEncode() ([]byte, error) { return encodeHandle(q.obj, "Queue") }

// GobDecode opens a queue that travelled.
func (q *Queue[T]) GobDecode(b []byte) error {
	it, err := newItems[T]("Queue")
	if err != nil {
		return err
	}
	obj, err := handle.Open(b, kindQueue, "Queue")
	if err != nil {
		return err
	}
	q.items = it
	return q.init(obj)
}

// queueRing is the ring of a queue of capacity items: room for 64 bytes an item, at least
// 1 MiB, at most 64 MiB.
func queueRing(capacity int) int {
	n := 1 << 20
	for n < 64<<20 && n/64 < capacity {
		n <<= 1
	}
	return n
}

// Put appends v, waiting while the queue is full. It fails with ErrClosed once the queue is
// closed, and with ctx.Err() if ctx ends first.
func (q *Queue[T]) Put(ctx context.Context, v T) error {
	err := q.items.send(v, func(segs [][]byte) error { return q.q.Put(ctx, segs, true) })
	runtime.KeepAlive(q)
	return queueErr(err)
}

// TryPut is Put that fails with ErrFull instead of waiting.
func (q *Queue[T]) TryPut(v T) error {
	err := q.items.send(v, func(segs [][]byte) error { return q.q.Put(context.Background(), segs, false) })
	runtime.KeepAlive(q)
	return queueErr(err)
}

// Get takes the oldest item, waiting while the queue is empty. Once the queue is closed and
// drained it returns ErrClosed; it returns ctx.Err() if ctx ends first, leaving the item it
// was waiting for in the queue, unless that item is larger than half the ring and Get has
// begun to take it: Get then takes it to its end, as fast as its producer writes it.
func (q *Queue[T]) Get(ctx context.Context) (T, error) { return q.get(ctx, true) }

// TryGet is Get that fails with ErrEmpty instead of waiting (with ErrClosed once the queue is
// closed and drained).
func (q *Queue[T]) TryGet() (T, error) { return q.get(context.Background(), false) }

func (q *Queue[T]) get(ctx context.Context, block bool) (T, error) {
	var v T
	var derr error
	err := q.q.Get(ctx, block, func(b []byte, owned bool) error {
		v, derr = q.items.take(b, owned)
		return nil
	})
	runtime.KeepAlive(q)
	if err == nil {
		err = derr
	}
	return v, queueErr(err)
}

// All yields the items as Get takes them until the queue is closed and drained, then ends.
// If ctx ends first, it yields ctx.Err() once and ends. An item that cannot be decoded is
// yielded as an error, and All goes on.
func (q *Queue[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			v, err := q.Get(ctx)
			switch {
			case errors.Is(err, ErrClosed):
				return
			case err != nil && ctx.Err() != nil:
				var zero T
				yield(zero, ctx.Err())
				return
			}
			if !yield(v, err) {
				return
			}
		}
	}
}

// Len is the number of items in the queue now.
func (q *Queue[T]) Len() int {
	defer runtime.KeepAlive(q)
	return q.q.Len()
}

// Cap is the capacity the queue was made with.
func (q *Queue[T]) Cap() int {
	defer runtime.KeepAlive(q)
	return q.q.Cap()
}

// Close closes the queue for every process, as close does a channel: Put fails with
// ErrClosed from then on, and Get returns what is left, then ErrClosed. Every Put and Get
// waiting, in any process, wakes. Closing a closed queue does nothing.
func (q *Queue[T]) Close() error {
	q.q.Close()
	runtime.KeepAlive(q)
	return nil
}

// TaskDone marks one item put as done (JoinableQueue.task_done): a consumer calls it once
// it has handled an item it took. Calling it more often than items were put is an error.
func (q *Queue[T]) TaskDone() error {
	err := q.q.TaskDone()
	runtime.KeepAlive(q)
	if errors.Is(err, shmqueue.ErrTaskDone) {
		return errTaskDone
	}
	return err
}

// Join waits until every item put has had its TaskDone (JoinableQueue.join), or ctx ends.
func (q *Queue[T]) Join(ctx context.Context) error {
	err := q.q.Join(ctx)
	runtime.KeepAlive(q)
	return err
}

var errTaskDone = errors.New("multiproc: Queue.TaskDone called more times than items were put")

// queueErr gives the errors of internal/shmqueue their public names.
func queueErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, shmqueue.ErrClosed):
		return ErrClosed
	case errors.Is(err, shmqueue.ErrFull):
		return ErrFull
	case errors.Is(err, shmqueue.ErrEmpty):
		return ErrEmpty
	case errors.Is(err, shmqueue.ErrCorrupt):
		return fmt.Errorf("multiproc: %w", err)
	}
	return err
}

// items moves values of T in and out of the records of a queue or pipe, with the codec of
// task arguments. An item encoded with gob is a gob stream of its own, since any process may
// take it.
type items[T any] struct {
	c       wire.Codec[T]
	mayHold bool      // a T may hold a handle, which cannot travel this way
	encs    sync.Pool // *encoder, for the kinds without gob
	decs    sync.Pool // *wire.Decoder, likewise
}

func newItems[T any](what string) (*items[T], error) {
	c, err := wire.NewCodec[T](what, "item")
	if err != nil {
		return nil, err
	}
	return &items[T]{c: c, mayHold: mayHoldHandle(reflect.TypeFor[T]())}, nil
}

// encoder is an Encoder with the list of pieces it last wrote, kept for reuse.
type encoder struct {
	enc  *wire.Encoder
	segs segWriter
}

// segWriter collects the pieces an Encoder writes, without copying them.
type segWriter struct{ segs [][]byte }

func (w *segWriter) Write(p []byte) (int, error) {
	w.segs = append(w.segs, p)
	return len(p), nil
}

// send encodes v and gives its bytes, in pieces, to put. A []byte, a number or a bool is its
// own memory, as the codec writes it, with no Encoder.
func (it *items[T]) send(v T, put func(segs [][]byte) error) error {
	if it.mayHold {
		if err := refuseHandles(v); err != nil {
			return err
		}
	}
	if it.c.IsBytes() {
		seg := [1][]byte{*(*[]byte)(unsafe.Pointer(&v))}
		return put(seg[:])
	}
	if size, ok := it.c.FixedSize(); ok {
		seg := [1][]byte{unsafe.Slice((*byte)(unsafe.Pointer(&v)), size)}
		return put(seg[:])
	}
	e, ok := it.encs.Get().(*encoder)
	if !ok || it.c.UsesGob() {
		e = &encoder{enc: wire.NewEncoder()} // gob: a stream of its own per item
	}
	if err := it.c.Encode(e.enc, unsafe.Slice(&v, 1)); err != nil {
		e.enc.Reset()
		return err
	}
	e.segs.segs = e.segs.segs[:0]
	e.enc.WriteTo(&e.segs) // resets the Encoder, whose buffer keeps the bytes until its next use
	err := put(e.segs.segs)
	clear(e.segs.segs) // holds no caller's slice
	if !it.c.UsesGob() {
		it.encs.Put(e)
	}
	return err
}

// take decodes an item from b; owned says whether b is the caller's to keep.
func (it *items[T]) take(b []byte, owned bool) (T, error) {
	var v T
	if it.c.IsBytes() {
		if len(b) > 0 && !owned {
			b = append([]byte(nil), b...)
		}
		if len(b) == 0 {
			b = nil // as gob decodes an empty slice
		}
		*(*[]byte)(unsafe.Pointer(&v)) = b
		return v, nil
	}
	if size, ok := it.c.FixedSize(); ok && len(b) == size {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&v)), size), b)
		return v, nil
	}
	var dec *wire.Decoder
	if it.c.UsesGob() {
		dec = wire.NewDecoder()
	} else if d, ok := it.decs.Get().(*wire.Decoder); ok {
		dec = d
	} else {
		dec = new(wire.Decoder)
	}
	dec.Next(wire.Frame{Payload: b})
	err := it.c.Decode(dec, unsafe.Slice(&v, 1))
	if err == nil && dec.Len() != 0 {
		err = fmt.Errorf("%w: %d bytes left after an item", wire.ErrProtocol, dec.Len())
	}
	if !it.c.UsesGob() {
		dec.Next(wire.Frame{})
		it.decs.Put(dec)
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("multiproc: decoding an item of type %T: %w", v, err)
	}
	return v, nil
}
