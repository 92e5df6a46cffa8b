package multiproc

import (
	"context"
	"runtime"

	"github.com/multiproc/multiproc/internal/handle"
	"github.com/multiproc/multiproc/internal/shmsync"
)

// Event is a flag processes can wait for (multiprocessing.Event). A waiter returns once the
// flag is set, even if it is cleared again before the waiter runs.
//
// An Event travels to another process as a task's argument or result (or inside one). Its
// methods are safe for concurrent use.
type Event struct {
	obj *handle.Object
	e   *shmsync.Event
}

// NewEvent returns an Event whose flag is clear.
func NewEvent() (*Event, error) {
	obj, err := newObject(kindEvent, sizeOf[shmsync.Event]())
	if err != nil {
		return nil, err
	}
	e := &Event{}
	e.init(obj)
	return e, nil
}

func (e *Event) init(obj *handle.Object) {
	e.obj, e.e = obj, at[shmsync.Event](obj.Mem, 0)
	releaseWhenUnreachable(e, obj)
}

// Set sets the flag and wakes every waiter.
func (e *Event) Set() { e.e.Set(); runtime.KeepAlive(e) } // the memory stays mapped while it is used

// Clear clears the flag.
func (e *Event) Clear() { e.e.Clear(); runtime.KeepAlive(e) }

// IsSet reports whether the flag is set.
func (e *Event) IsSet() bool {
	defer runtime.KeepAlive(e)
	return e.e.IsSet()
}

// Wait waits until the flag is set; if ctx ends first it returns ctx.Err().
func (e *Event) Wait(ctx context.Context) error {
	defer runtime.KeepAlive(e)
	return e.e.Wait(ctx)
}

func (e *Event) sharedObject() *handle.Object { return e.obj }

// GobEncode lets the event travel as a task's argument or result.
func (e *Event) GobEncode() ([]byte, error) { return encodeHandle(e.obj, "Event") }

// GobDecode opens an event that travelled.
func (e *Event) GobDecode(b []byte) error {
	obj, err := handle.Open(b, kindEvent, "Event")
	if err != nil {
		return err
	}
	e.init(obj)
	return nil
}
