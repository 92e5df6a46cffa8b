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

// walkPlan is what the walk does with a value of one type, worked out once per type so that
// the walk itself costs a few reflect calls a value.
type walkPlan struct {
	t      reflect.Type
	need   bool        // the value must be walked (needsWalk)
	fixed  int         // if not: the least bytes gob sends of it (fixedWire)
	fields []fieldPlan // a struct's exported fields that must be walked
	elem   *walkPlan   // what an array, slice or map holds, or a pointer points to
	key    *walkPlan   // a map's keys
}

type fieldPlan struct {
	index int
	plan  *walkPlan
}

// plans caches the plan of the types of the values walked, and of those found in interfaces.
var plans sync.Map // reflect.Type → *walkPlan

// planFor returns the plan for values of t.
func planFor(t reflect.Type) *walkPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*walkPlan)
	}
	p, _ := plans.LoadOrStore(t, buildPlan(t, map[reflect.Type]*walkPlan{}))
	return p.(*walkPlan)
}

// buildPlan makes the plan for t; building holds the plans under way, which a recursive type
// comes back to.
func buildPlan(t reflect.Type, building map[reflect.Type]*walkPlan) *walkPlan {
	if p, ok := building[t]; ok {
		return p
	}
	p := &walkPlan{t: t, need: needsWalk(t)}
	building[t] = p
	if !p.need {
		p.fixed = int(fixedWire(t))
		return p
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && needsWalk(f.Type) {
				p.fields = append(p.fields, fieldPlan{i, buildPlan(f.Type, building)})
			}
		}
	case reflect.Array, reflect.Slice, reflect.Pointer:
		p.elem = buildPlan(t.Elem(), building)
	case reflect.Map:
		p.key, p.elem = buildPlan(t.Key(), building), buildPlan(t.Elem(), building)
	}
	return p
}

// checkValues walks vs (a slice of values) and reports why gob must not encode them into a
// frame with room bytes left.
func checkValues(vs any, room int) error {
	v := reflect.ValueOf(vs)
	return checkWith(v, planFor(v.Type()), room)
}

// checkWith is checkValues for v, a slice of values whose plan is p.
func checkWith(v reflect.Value, p *walkPlan, room int) error {
	w := valueWalker{room: room}
	return w.walk(v, p)
}

func (w *valueWalker) walk(v reflect.Value, p *walkPlan) error {
	if !p.need {
		w.size += p.fixed
		return w.checkSize()
	}
	switch p.t.Kind() {
	case reflect.String:
		w.size += v.Len()
		return w.checkSize()
	case reflect.Struct:
		for _, f := range p.fields {
			if err := w.walk(v.Field(f.index), f.plan); err != nil {
				return err
			}
		}
		return nil
	case reflect.Array:
		return w.elements(v, p)
	}
	// A pointer, slice, map or interface: one level deeper.
	if v.IsNil() {
		return nil
	}
	if w.depth++; w.depth > maxDepth {
		return fmt.Errorf("a %v nests more than %d levels deep, more than gob can encode", p.t, maxDepth)
	}
	var key walkKey
	tracked := w.depth >= trackFrom && p.t.Kind() != reflect.Interface
	if tracked {
		key = walkKey{p: v.UnsafePointer(), t: p.t}
		if p.t.Kind() == reflect.Slice {
			key.n = v.Len()
		}
		if w.path[key] {
			return fmt.Errorf("a %v refers to itself, and gob cannot encode a cycle", p.t)
		}
		if w.path == nil {
			w.path = make(map[walkKey]bool)
		}
		w.path[key] = true
	}
	var err error
	switch p.t.Kind() {
	case reflect.Pointer:
		err = w.walk(v.Elem(), p.elem)
	case reflect.Interface:
		e := v.Elem()
		err = w.walk(e, planFor(e.Type()))
	case reflect.Slice:
		err = w.elements(v, p)
	case reflect.Map:
		err = w.entries(v, p)
	}
	if tracked {
		delete(w.path, key)
	}
	w.depth--
	return err
}

// elements walks the elements of an array or slice; those of a type that needs no walk only
// count.
func (w *valueWalker) elements(v reflect.Value, p *walkPlan) error {
	if !p.elem.need {
		w.size += v.Len() * max(1, p.elem.fixed) // gob sends each element, a byte at least
		return w.checkSize()
	}
	for i := range v.Len() {
		if err := w.walk(v.Index(i), p.elem); err != nil {
			return err
		}
	}
	return nil
}

// entries walks the keys and values of a map.
func (w *valueWalker) entries(v reflect.Value, p *walkPlan) error {
	w.size += v.Len() // a key and a value take a byte at least
	if !p.key.need && !p.elem.need {
		w.size += v.Len() * (p.key.fixed + p.elem.fixed)
		return w.checkSize()
	}
	for it := v.MapRange(); it.Next(); {
		if err := w.walk(it.Key(), p.key); err != nil {
			return err
		}
		if err := w.walk(it.Value(), p.elem); err != nil {
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
