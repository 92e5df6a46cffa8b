package wire

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"
)

// What encoding/gob cannot be trusted with: gob follows pointers without looking back, so a
// value that refers to itself (a ring of list nodes) recurses until the goroutine's stack
// overflows, which kills the process; and gob builds a whole message in memory before anyone
// can look at its size, so a value of gigabytes costs gigabytes before the frame limit refuses
// it. A value that may hold either is walked before gob sees it: the walk refuses a cycle, a
// nesting deeper than maxDepth, and a value whose bytes alone are more than the frame has
// room for. Types that can hold neither (no pointer, slice, map, string or interface; a
// method that encodes them) are not walked.

// maxDepth bounds the pointers, slices, maps and interfaces gob follows one inside another.
// gob takes about 500 bytes of stack a level and the runtime allows a goroutine 1 GiB: a list
// of 100 000 nodes costs gob some 64 MiB of stack.
const maxDepth = 100_000

// trackFrom is the depth from which the walk remembers what it followed, to see a cycle. A
// cycle nests without end, so it passes that depth too; values nested less deeply, nearly all,
// cost no bookkeeping.
const trackFrom = 64

// valueWalker checks one run of values.
type valueWalker struct {
	room  int // bytes the frame may still take
	size  int // bytes the values need at least, so far
	path  map[walkKey]bool
	depth int
}

// walkKey is a pointer, slice or map on the current path, with its type: an array and its
// first element, or a struct and its first field, share an address.
type walkKey struct {
	p unsafe.Pointer
	t reflect.Type
	n int // a slice's length: a shorter slice of the same array is another value
}

// checkValues walks vs (a slice of values of a type that needsWalk) and reports why gob must
// not encode them into a frame with room bytes left.
func checkValues(vs any, room int) error {
	w := valueWalker{room: room}
	return w.walk(reflect.ValueOf(vs))
}

func (w *valueWalker) walk(v reflect.Value) error {
	t := v.Type()
	if !needsWalk(t) {
		w.size += int(fixedWire(t))
		return w.checkSize()
	}
	switch v.Kind() {
	case reflect.String:
		w.size += v.Len()
		return w.checkSize()
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				if err := w.walk(v.Field(i)); err != nil {
					return err
				}
			}
		}
		return nil
	case reflect.Array:
		return w.elements(v, t)
	}
	// A pointer, slice, map or interface: one level deeper.
	if v.IsNil() {
		return nil
	}
	if w.depth++; w.depth > maxDepth {
		return fmt.Errorf("a %v nests more than %d levels deep, more than gob can encode", t, maxDepth)
	}
	defer func() { w.depth-- }()
	if w.depth >= trackFrom && v.Kind() != reflect.Interface {
		key := walkKey{p: v.UnsafePointer(), t: t}
		if v.Kind() == reflect.Slice {
			key.n = v.Len()
		}
		if w.path[key] {
			return fmt.Errorf("a %v refers to itself, and gob cannot encode a cycle", t)
		}
		if w.path == nil {
			w.path = make(map[walkKey]bool)
		}
		w.path[key] = true
		defer delete(w.path, key)
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return w.walk(v.Elem())
	case reflect.Slice:
		return w.elements(v, t)
	case reflect.Map:
		w.size += v.Len() // a key and a value take a byte at least
		if !needsWalk(t.Key()) && !needsWalk(t.Elem()) {
			w.size += v.Len() * int(fixedWire(t.Key())+fixedWire(t.Elem()))
			return w.checkSize()
		}
		for it := v.MapRange(); it.Next(); {
			if err := w.walk(it.Key()); err != nil {
				return err
			}
			if err := w.walk(it.Value()); err != nil {
				return err
			}
		}
	}
	return nil
}

// elements walks the elements of an array or slice; those of a type that needs no walk only
// count.
func (w *valueWalker) elements(v reflect.Value, t reflect.Type) error {
	if e := t.Elem(); !needsWalk(e) {
		w.size += v.Len() * int(max(1, fixedWire(e))) // gob sends each element, a byte at least
		return w.checkSize()
	}
	for i := range v.Len() {
		if err := w.walk(v.Index(i)); err != nil {
			return err
		}
	}
	return nil
}

func (w *valueWalker) checkSize() error {
	if w.size > w.room {
		return fmt.Errorf("they hold %d bytes or more, %w", w.size, ErrTooLarge)
	}
	return nil
}

// fixedWire is the least gob sends of a value of t, a type that needs no walk: nothing for a
// struct (gob leaves out zero fields), else a byte a number or bool.
func fixedWire(t reflect.Type) uintptr {
	switch t.Kind() {
	case reflect.Struct:
		return 0
	case reflect.Array:
		return uintptr(t.Len()) * max(1, fixedWire(t.Elem()))
	}
	return 1
}

// walkable caches needsWalk by type.
var walkable sync.Map // reflect.Type → bool

// needsWalk reports whether a value of t may hold what gob must not be given unchecked: a
// string, slice or map (whose size the type does not bound), a pointer (which may point back),
// or an interface (which may hold anything). A type that gob encodes with its own method is
// left to that method.
func needsWalk(t reflect.Type) bool {
	if v, ok := walkable.Load(t); ok {
		return v.(bool)
	}
	need := false
	switch {
	case marshals(t):
	case t.Kind() == reflect.Array:
		need = t.Len() > 0 && needsWalk(t.Elem())
	case t.Kind() == reflect.Struct:
		// A struct may contain itself only through a pointer, slice or map: the recursion
		// ends there.
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && needsWalk(f.Type) {
				need = true
				break
			}
		}
	default:
		switch t.Kind() {
		case reflect.String, reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
			need = true
		}
	}
	walkable.Store(t, need)
	return need
}
