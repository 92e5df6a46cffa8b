package multiproc

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"runtime"
	"sync"
	"unsafe"

	"github.com/multiproc/multiproc/internal/handle"
)

// Every sharing handle (SharedArray, Value, Lock, Semaphore, Event, Condition, Barrier, Queue,
// Conn) is a *handle.Object: shared memory that this process has mapped, and that travels to a
// child or the parent as a token (its GobEncode), from which the other process obtains the
// memory's descriptor (see internal/handle). The kinds below tell the objects apart.
const (
	kindSharedArray handle.Kind = 1 + iota
	kindValue
	kindLock
	kindSemaphore
	kindEvent
	kindCondition
	kindBarrier
	kindQueue
	kindConn
)

// newObject makes the shared memory of a new handle of kind, size bytes, zeroed.
func newObject(kind handle.Kind, size int) (*handle.Object, error) {
	if err := sharingUnsupported(); err != nil {
		return nil, err
	}
	return handle.Create(kind, size)
}

// releaseWhenUnreachable lets go of obj's memory in this process once h is garbage: the
// handles with no Close (all but SharedArray, Queue and Conn) end that way. A handle can be
// garbage while one of its own methods runs, once the method has loaded what it needs from it:
// every method that uses the memory keeps its handle alive to the end (runtime.KeepAlive).
func releaseWhenUnreachable[H any](h *H, obj *handle.Object) {
	runtime.AddCleanup(h, func(o *handle.Object) { o.Release(false) }, obj)
}

// encodeHandle is the GobEncode of a handle of type name.
func encodeHandle(obj *handle.Object, name string) ([]byte, error) {
	if obj == nil {
		return nil, fmt.Errorf("multiproc: a %s that was not made with New%s cannot travel", name, name)
	}
	return obj.Token(), nil
}

// at returns the value of type T at off in mem.
func at[T any](mem []byte, off int) *T { return (*T)(unsafe.Pointer(&mem[off])) }

// sizeOf is the size of T's shared layout, in bytes.
func sizeOf[T any]() int {
	var x T
	return int(unsafe.Sizeof(x))
}

// typeHash names T in the shared memory of a generic handle, so that a process that opens it
// as another type is told.
func typeHash[T any]() uint64 {
	h := fnv.New64a()
	h.Write([]byte(reflect.TypeFor[T]().String()))
	return h.Sum64()
}

// handleType is what every handle type implements; refuseHandles looks for it.
type sharingHandle interface{ sharedObject() *handle.Object }

var sharingHandleType = reflect.TypeFor[sharingHandle]()

// refuseHandles returns an error naming the first handle found in v: a handle travels as a
// task's argument or result, not through a Queue or a Pipe. Queue.Put and Conn.Send call it.
// Types that cannot hold one cost a cached look-up.
func refuseHandles(v any) error {
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	if !mayHoldHandle(rv.Type()) {
		return nil
	}
	if t := findHandle(rv, map[uintptr]bool{}); t != nil {
		return fmt.Errorf("multiproc: a %v cannot travel through a Queue or Pipe: pass it to the "+
			"processes that use it as a task's argument (Start, Apply, Map, Initializer, ...)", t)
	}
	return nil
}

// holdsCache remembers mayHoldHandle's answer per type.
var holdsCache sync.Map // reflect.Type → bool

// mayHoldHandle reports whether a value of t may hold a handle: t is or holds a handle type,
// or an interface.
func mayHoldHandle(t reflect.Type) bool {
	if v, ok := holdsCache.Load(t); ok {
		return v.(bool)
	}
	v := mayHold(t, map[reflect.Type]bool{})
	holdsCache.Store(t, v)
	return v
}

func mayHold(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if t.Implements(sharingHandleType) || reflect.PointerTo(t).Implements(sharingHandleType) {
		return true
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return mayHold(t.Elem(), seen)
	case reflect.Map:
		return mayHold(t.Key(), seen) || mayHold(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() && mayHold(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// findHandle returns the type of a handle v holds, or nil.
func findHandle(v reflect.Value, seen map[uintptr]bool) reflect.Type {
	if !v.IsValid() {
		return nil
	}
	t := v.Type()
	if t.Implements(sharingHandleType) && (t.Kind() != reflect.Pointer || !v.IsNil()) {
		return t
	}
	switch t.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return findHandle(v.Elem(), seen)
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return nil
		}
		seen[v.Pointer()] = true
		if reflect.PointerTo(t.Elem()).Implements(sharingHandleType) {
			return t
		}
		return findHandle(v.Elem(), seen)
	case reflect.Slice, reflect.Array:
		if !mayHoldHandle(t.Elem()) {
			return nil
		}
		for i := range v.Len() {
			if h := findHandle(v.Index(i), seen); h != nil {
				return h
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if h := findHandle(it.Key(), seen); h != nil {
				return h
			}
			if h := findHandle(it.Value(), seen); h != nil {
				return h
			}
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				if h := findHandle(v.Field(i), seen); h != nil {
					return h
				}
			}
		}
	}
	return nil
}
