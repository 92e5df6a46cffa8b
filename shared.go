package multiproc

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/multiproc/multiproc/internal/handle"
)

// Number is the element type of Value (and any SharedArray of numbers).
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 |
		~uintptr | ~float32 | ~float64
}

// The shared layout of a SharedArray: a header, then the elements from arrayData on.
type arrayHeader struct {
	elemSize uint64
	n        uint64
	typeHash uint64 // of T: a process that opens it as another type is told
}

const arrayData = 64

// SharedArray is n values of T in memory that every process holding it sees
// (multiprocessing.Array, or shared_memory.SharedMemory as SharedArray[byte]). T must hold no
// pointers: numbers, bools, and arrays and structs of them; any other T is an error naming it.
// The memory starts zeroed.
//
// A SharedArray travels to another process as a task's argument or result (or inside one),
// and there it is the same memory: no copy is made. Access to the elements is not
// synchronised: share the work out (disjoint parts for each process), or guard it with a Lock,
// or use the sync/atomic functions on the elements.
//
// The memory is mapped in this process until Close, or until the SharedArray is unreachable:
// keep the SharedArray, not only its Slice, while you use the memory (a deferred Close does).
// A task's argument stays reachable while the task runs.
//
// Its methods are safe for concurrent use.
type SharedArray[T any] struct {
	obj *handle.Object
	s   []T

	mu      sync.Mutex // guards closed
	closed  bool
	cleanup runtime.Cleanup // releases obj if a is dropped unclosed
}

// NewSharedArray returns a SharedArray of n zeroed values. n < 0 and element types that hold
// pointers are errors wrapping ErrInvalidOption.
func NewSharedArray[T any](n int) (*SharedArray[T], error) {
	if n < 0 {
		return nil, invalid("NewSharedArray(%d): the length must not be negative", n)
	}
	if err := plainMemory[T](); err != nil {
		return nil, err
	}
	size := sizeOf[T]()
	if size > 0 && n > (math.MaxInt-arrayData)/size {
		return nil, invalid("NewSharedArray(%d): too large for %v elements", n, reflect.TypeFor[T]())
	}
	obj, err := newObject(kindSharedArray, arrayData+n*size)
	if err != nil {
		return nil, err
	}
	*at[arrayHeader](obj.Mem, 0) = arrayHeader{elemSize: uint64(size), n: uint64(n), typeHash: typeHash[T]()}
	a := &SharedArray[T]{}
	a.init(obj, n)
	return a, nil
}

func (a *SharedArray[T]) init(obj *handle.Object, n int) {
	a.obj = obj
	if n > 0 {
		a.s = unsafe.Slice((*T)(unsafe.Pointer(&obj.Mem[arrayData])), n)
	} else {
		a.s = []T{}
	}
	// Unreachable without Close, it lets go of the shared memory; a slice of it that outlived
	// it faults when used instead of reaching another mapping (see handle.Object.Release).
	a.cleanup = runtime.AddCleanup(a, func(o *handle.Object) { o.Release(true) }, obj)
}

// Slice returns the shared memory itself, valid until Close (or until a is unreachable).
func (a *SharedArray[T]) Slice() []T { return a.s }

// Len returns the number of values.
func (a *SharedArray[T]) Len() int { return len(a.s) }

// Close unmaps the memory in this process (other handles on it in this process keep it);
// other processes keep theirs. Slices of it must not be used afterwards. Closing twice is not
// an error.
func (a *SharedArray[T]) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.obj == nil {
		return nil
	}
	a.closed = true
	a.cleanup.Stop()
	a.obj.Release(false)
	return nil
}

func (a *SharedArray[T]) sharedObject() *handle.Object { return a.obj }

// GobEncode lets the array travel as a task's argument or result; see the package
// documentation.
func (a *SharedArray[T]) GobEncode() ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, fmt.Errorf("multiproc: a closed SharedArray cannot travel")
	}
	return encodeHandle(a.obj, "SharedArray")
}

// GobDecode opens an array that travelled.
func (a *SharedArray[T]) GobDecode(b []byte) error {
	obj, err := handle.Open(b, kindSharedArray, "SharedArray")
	if err != nil {
		return err
	}
	h := at[arrayHeader](obj.Mem, 0)
	if h.typeHash != typeHash[T]() || h.elemSize != uint64(sizeOf[T]()) {
		obj.Release(false)
		return fmt.Errorf("multiproc: a SharedArray of another element type arrived as a SharedArray[%v]", reflect.TypeFor[T]())
	}
	if h.elemSize > 0 && h.n > uint64(len(obj.Mem)-arrayData)/h.elemSize {
		obj.Release(false)
		return fmt.Errorf("multiproc: a SharedArray of %d elements arrived in %d bytes", h.n, len(obj.Mem))
	}
	a.init(obj, int(h.n))
	return nil
}

// plainMemory returns an error naming T unless T holds no pointers.
func plainMemory[T any]() error {
	t := reflect.TypeFor[T]()
	if why := pointerIn(t, t.String()); why != "" {
		return invalid("SharedArray[%v]: %s; the elements must hold no pointers (numbers, bools, and arrays and structs of them)", t, why)
	}
	return nil
}

// pointerIn says where t holds something other than numbers and bools, or "".
func pointerIn(t reflect.Type, path string) string {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return ""
	case reflect.Array:
		return pointerIn(t.Elem(), path+"'s elements")
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if why := pointerIn(f.Type, fmt.Sprintf("field %s of %v", f.Name, t)); why != "" {
				return why
			}
		}
		return ""
	}
	return fmt.Sprintf("%s is a %v", path, t)
}

// The shared layout of a Value: the value's bits (see Value) on a cache line of their own.
type valueLayout struct {
	bits     atomic.Uint64
	_        [56]byte
	typeHash uint64
}

// Value is one number shared by processes, with atomic operations (multiprocessing.Value).
// It needs no lock: Add from several processes is exact. A Value travels to another process as
// a task's argument or result (or inside one).
//
// Its methods are safe for concurrent use.
type Value[T Number] struct {
	obj  *handle.Object
	v    *valueLayout
	kind reflect.Kind
}

// The bits of a value: a signed integer sign-extended to 64 bits, an unsigned one
// zero-extended (Add may carry past its width: reading truncates, which is its wrap-around), a
// float its IEEE 754 bits.

// NewValue returns a Value holding v.
func NewValue[T Number](v T) (*Value[T], error) {
	obj, err := newObject(kindValue, sizeOf[valueLayout]())
	if err != nil {
		return nil, err
	}
	val := &Value[T]{}
	val.init(obj)
	val.v.typeHash = typeHash[T]()
	val.Store(v)
	return val, nil
}

func (v *Value[T]) init(obj *handle.Object) {
	v.obj, v.v, v.kind = obj, at[valueLayout](obj.Mem, 0), reflect.TypeFor[T]().Kind()
	releaseWhenUnreachable(v, obj)
}

func (v *Value[T]) bits(x T) uint64 {
	switch v.kind {
	case reflect.Float32:
		return uint64(math.Float32bits(float32(x)))
	case reflect.Float64:
		return math.Float64bits(float64(x))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return uint64(int64(x))
	}
	return uint64(x)
}

func (v *Value[T]) value(b uint64) T {
	switch v.kind {
	case reflect.Float32:
		return T(math.Float32frombits(uint32(b)))
	case reflect.Float64:
		return T(math.Float64frombits(b))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return T(int64(b))
	}
	return T(b)
}

func (v *Value[T]) float() bool { return v.kind == reflect.Float32 || v.kind == reflect.Float64 }

// Load returns the value.
func (v *Value[T]) Load() T {
	defer runtime.KeepAlive(v) // the memory stays mapped while it is used
	return v.value(v.v.bits.Load())
}

// Store sets the value to x.
func (v *Value[T]) Store(x T) {
	v.v.bits.Store(v.bits(x))
	runtime.KeepAlive(v)
}

// Add adds delta and returns the new value. On integers it is one atomic addition; on floats
// a compare-and-swap loop.
func (v *Value[T]) Add(delta T) T {
	defer runtime.KeepAlive(v)
	if !v.float() {
		return v.value(v.v.bits.Add(v.bits(delta)))
	}
	for {
		old := v.v.bits.Load()
		n := v.value(old) + delta
		if v.v.bits.CompareAndSwap(old, v.bits(n)) {
			return n
		}
	}
}

// Swap sets the value to x and returns the old one.
func (v *Value[T]) Swap(x T) T {
	defer runtime.KeepAlive(v)
	return v.value(v.v.bits.Swap(v.bits(x)))
}

// CompareAndSwap sets the value to new if it equals old (as == compares them), and reports
// whether it did.
func (v *Value[T]) CompareAndSwap(old, new T) bool {
	defer runtime.KeepAlive(v)
	for {
		cur := v.v.bits.Load()
		if v.value(cur) != old {
			return false
		}
		if v.v.bits.CompareAndSwap(cur, v.bits(new)) {
			return true
		}
	}
}

func (v *Value[T]) sharedObject() *handle.Object { return v.obj }

// GobEncode lets the value travel as a task's argument or result.
func (v *Value[T]) GobEncode() ([]byte, error) { return encodeHandle(v.obj, "Value") }

// GobDecode opens a value that travelled.
func (v *Value[T]) GobDecode(b []byte) error {
	obj, err := handle.Open(b, kindValue, "Value")
	if err != nil {
		return err
	}
	if at[valueLayout](obj.Mem, 0).typeHash != typeHash[T]() {
		obj.Release(false)
		return fmt.Errorf("multiproc: a Value of another type arrived as a Value[%v]", reflect.TypeFor[T]())
	}
	v.init(obj)
	return nil
}
