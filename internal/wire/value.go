package wire

import (
	"encoding"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"reflect"
	"unsafe"
)

// Codec moves a run of values of one type through a frame, in one of these ways, chosen once
// per type:
//
//   - []byte: each slice raw, length first; a large one is written from where it is and read
//     without a copy (Encoder.Bytes, Decoder.TakeBytes), or copied straight
//     between the two processes' memory when the parent can reach the worker's
//     (internal/peermem).
//   - numbers and bools: the memory of the whole run, as it is (little endian).
//   - strings, and slices of numbers or bools: the lengths of the run, then the bytes of the
//     small ones together, then each large one (RefMin bytes or more) length first, so
//     that, like a large []byte, it may travel outside the frame.
//   - types of size zero (struct{}): nothing.
//   - anything else: one gob value holding the whole run.
//
// The raw ways cost about a memmove where gob costs tens of nanoseconds a value. They are
// taken only for types gob would send as plain values: a type with GobEncode, MarshalBinary
// or MarshalText (or their decoding halves) goes through gob, which calls them. They decode
// what gob decodes, except that a float32 NaN keeps its payload where gob quiets a signalling
// one. As with gob, an empty slice inside a value arrives as nil, and so does an empty []byte.
//
// A large []byte, string or slice of numbers (RefMin bytes or more) is written from where
// it is when its frame goes out, not copied when it is encoded: like a value sent on a
// channel, a task's input or output must not be changed by its sender once handed over.
type Codec[T any] struct {
	kind  codecKind
	walk  *walkPlan // for gob: how to check a run first for what gob must not be given; nil if nothing
	size  int       // bytes of a value (codecFixed) or of an element (codecSlices)
	align int       // alignment of an element (codecSlices)
	bools bool      // the values or elements are bools: every byte read must be 0 or 1
}

type codecKind uint8

const (
	codecGob codecKind = iota
	codecBytes
	codecEmpty
	codecFixed
	codecStrings
	codecSlices
)

// NewCodec chooses the codec for T (a Func named fn; role says whether T is its input or output) and checks, before anything is sent, that T can travel.
func NewCodec[T any](fn, role string) (Codec[T], error) {
	t := reflect.TypeFor[T]()
	switch {
	case t == reflect.TypeFor[[]byte]():
		return Codec[T]{kind: codecBytes}, nil
	case t.Size() == 0 && t.Kind() != reflect.Interface:
		return Codec[T]{kind: codecEmpty}, nil
	case plain(t) && t.Kind() == reflect.String:
		return Codec[T]{kind: codecStrings}, nil
	case plain(t) && fixedSize(t) && littleEndian:
		return Codec[T]{kind: codecFixed, size: int(t.Size()), bools: t.Kind() == reflect.Bool}, nil
	case plain(t) && t.Kind() == reflect.Slice && plain(t.Elem()) && fixedSize(t.Elem()) && littleEndian:
		e := t.Elem()
		return Codec[T]{kind: codecSlices, size: int(e.Size()), align: e.Align(), bools: e.Kind() == reflect.Bool}, nil
	}
	if err := canTravel(t, t.String(), map[reflect.Type]bool{}); err != nil {
		return Codec[T]{}, fmt.Errorf("multiproc: the %s type %v of %q cannot travel between processes: %w", role, t, fn, err)
	}
	c := Codec[T]{kind: codecGob}
	if needsWalk(t) {
		c.walk = planFor(reflect.TypeFor[[]T]())
	}
	return c, nil
}

// Encode appends vs to the open frame. On error the caller drops the frame (Encoder.Abort).
func (c Codec[T]) Encode(enc *Encoder, vs []T) error {
	switch c.kind {
	case codecEmpty:
		return nil
	case codecBytes:
		for _, v := range any(vs).([][]byte) {
			enc.Bytes(v)
		}
		return nil
	case codecFixed:
		if err := fits[T](enc, len(vs)*c.size); err != nil {
			return err
		}
		enc.Raw(memory(unsafe.Pointer(unsafe.SliceData(vs)), len(vs)*c.size))
		return nil
	case codecStrings:
		ss := unsafe.Slice((*string)(unsafe.Pointer(unsafe.SliceData(vs))), len(vs))
		if err := fits[T](enc, putLengths(enc, len(ss), func(i int) int { return len(ss[i]) })); err != nil {
			return err
		}
		putRun(enc, len(ss), func(i int) []byte {
			return memory(unsafe.Pointer(unsafe.StringData(ss[i])), len(ss[i])) // strings never change
		})
		return nil
	case codecSlices:
		hs := unsafe.Slice((*[]byte)(unsafe.Pointer(unsafe.SliceData(vs))), len(vs)) // lengths in elements
		if err := fits[T](enc, c.size*putLengths(enc, len(hs), func(i int) int { return len(hs[i]) })); err != nil {
			return err
		}
		putRun(enc, len(hs), func(i int) []byte {
			return memory(unsafe.Pointer(unsafe.SliceData(hs[i])), len(hs[i])*c.size)
		})
		return nil
	}
	if c.walk != nil {
		if err := checkWith(reflect.ValueOf(vs), c.walk, enc.Room()); err != nil {
			return fmt.Errorf("multiproc: encoding %T: %w", vs, err)
		}
	}
	if err := enc.Value(vs); err != nil {
		return fmt.Errorf("multiproc: encoding %T: %w", vs, err)
	}
	return nil
}

// fits refuses n bytes of values of type T that the open frame has no room for, before they
// are copied. The caller drops the frame.
func fits[T any](enc *Encoder, n int) error {
	if n > enc.Room() {
		return fmt.Errorf("multiproc: encoding %v values of %d bytes, %w", reflect.TypeFor[T](), n, ErrTooLarge)
	}
	return nil
}

// Decode fills vs, whose length is the number of values the frame must hold.
func (c Codec[T]) Decode(dec *Decoder, vs []T) error {
	switch c.kind {
	case codecEmpty:
		return nil
	case codecBytes:
		bs := any(vs).([][]byte)
		for i := range bs {
			b, err := dec.TakeBytes()
			if err != nil {
				return err
			}
			bs[i] = b
		}
		return nil
	case codecFixed:
		b, err := dec.Raw(len(vs) * c.size)
		if err != nil {
			return err
		}
		if c.bools {
			if err := checkBools(b); err != nil {
				return err
			}
		}
		copy(memory(unsafe.Pointer(unsafe.SliceData(vs)), len(b)), b)
		return nil
	case codecStrings:
		return decodeStrings(dec, unsafe.Slice((*string)(unsafe.Pointer(unsafe.SliceData(vs))), len(vs)))
	case codecSlices:
		return c.decodeSlices(dec, vs)
	}
	var got []T
	if err := dec.Value(&got); err != nil {
		return err
	}
	if len(got) != len(vs) {
		return fmt.Errorf("%w: %d values where %d were due", ErrProtocol, len(got), len(vs))
	}
	copy(vs, got)
	return nil
}

// memory is the n bytes at p.
func memory(p unsafe.Pointer, n int) []byte { return unsafe.Slice((*byte)(p), n) }

// putLengths appends the n lengths that length gives as uint32s, and returns their sum.
func putLengths(enc *Encoder, n int, length func(i int) int) int {
	b := enc.Grow(4 * n)
	sum := 0
	for i := range n {
		l := length(i)
		sum += l
		binary.LittleEndian.PutUint32(b[4*i:], uint32(l))
	}
	return sum
}

// putRun appends the memory of n values after their lengths: the small ones together, then
// each large one (RefMin bytes or more) on its own, length first (Encoder.Bytes),
// so that it may travel outside the frame.
func putRun(enc *Encoder, n int, mem func(i int) []byte) {
	for i := range n {
		if b := mem(i); len(b) < RefMin {
			enc.Raw(b)
		}
	}
	for i := range n {
		if b := mem(i); len(b) >= RefMin {
			enc.Bytes(b)
		}
	}
}

// getLengths reads n lengths and returns them with the number of bytes the small values (see
// putRun) add up to once multiplied by size, after checking that the frame holds that many.
func getLengths(dec *Decoder, n, size int) (lens []byte, small int, err error) {
	if lens, err = dec.Raw(4 * n); err != nil {
		return nil, 0, err
	}
	left := uint64(dec.Len())
	sum := uint64(0)
	for i := 0; i < len(lens); i += 4 {
		// Each term is under 2^36 and the sum stops growing past the frame: no overflow.
		if b := uint64(binary.LittleEndian.Uint32(lens[i:])) * uint64(size); b < RefMin {
			if sum += b; sum > left {
				return nil, 0, fmt.Errorf("%w: values of %d bytes or more in a frame with %d left", ErrProtocol, sum, left)
			}
		}
	}
	return lens, int(sum), nil
}

func decodeStrings(dec *Decoder, ss []string) error {
	lens, total, err := getLengths(dec, len(ss), 1)
	if err != nil {
		return err
	}
	data, err := dec.Raw(total)
	if err != nil {
		return err
	}
	for i := range ss {
		n := int(binary.LittleEndian.Uint32(lens[4*i:]))
		if n < RefMin {
			ss[i], data = string(data[:n]), data[n:] // a copy each: a kept string keeps only itself
		}
	}
	for i := range ss {
		if n := int(binary.LittleEndian.Uint32(lens[4*i:])); n >= RefMin {
			b, err := dec.TakeBytesOf(n) // the string's own memory: nothing else holds it
			if err != nil {
				return err
			}
			ss[i] = unsafe.String(unsafe.SliceData(b), n)
		}
	}
	return nil
}

func (c Codec[T]) decodeSlices(dec *Decoder, vs []T) error {
	lens, total, err := getLengths(dec, len(vs), c.size)
	if err != nil {
		return err
	}
	data, err := dec.Raw(total)
	if err != nil {
		return err
	}
	if c.bools {
		if err := checkBools(data); err != nil {
			return err
		}
	}
	for i := range vs {
		n := int(binary.LittleEndian.Uint32(lens[4*i:]))
		if n == 0 || n*c.size >= RefMin {
			continue // nil, as gob decodes an empty slice; or large, below
		}
		p := c.alloc(n * c.size)
		copy(memory(p, n*c.size), data)
		data = data[n*c.size:]
		*(*[]byte)(unsafe.Pointer(&vs[i])) = unsafe.Slice((*byte)(p), n) // n elements
	}
	for i := range vs {
		n := int(binary.LittleEndian.Uint32(lens[4*i:]))
		if n*c.size < RefMin {
			continue
		}
		b, err := dec.TakeBytesOf(n * c.size)
		if err != nil {
			return err
		}
		if c.bools {
			if err := checkBools(b); err != nil {
				return err
			}
		}
		p := unsafe.Pointer(unsafe.SliceData(b))
		if uintptr(p)%uintptr(c.align) != 0 {
			// Taken from within a frame at an odd place: elements need their alignment.
			p = c.alloc(n * c.size)
			copy(memory(p, n*c.size), b)
		}
		// b holds no pointers, nor do the elements: its memory may hold them.
		*(*[]byte)(unsafe.Pointer(&vs[i])) = unsafe.Slice((*byte)(p), n) // n elements
	}
	return nil
}

// alloc allocates the memory of n bytes of elements: words of the elements' alignment, which
// hold no pointers, as the elements do not, so that the memory may hold the elements (and
// costs one allocation, where reflect.MakeSlice costs two).
func (c Codec[T]) alloc(n int) unsafe.Pointer {
	switch c.align {
	case 8:
		return unsafe.Pointer(unsafe.SliceData(make([]uint64, n/8)))
	case 4:
		return unsafe.Pointer(unsafe.SliceData(make([]uint32, n/4)))
	case 2:
		return unsafe.Pointer(unsafe.SliceData(make([]uint16, n/2)))
	}
	return unsafe.Pointer(unsafe.SliceData(make([]byte, n)))
}

// checkBools refuses bytes other than 0 and 1: any other value in a bool's memory is not a
// bool Go knows.
func checkBools(b []byte) error {
	for _, x := range b {
		if x > 1 {
			return fmt.Errorf("%w: a bool of value %d", ErrProtocol, x)
		}
	}
	return nil
}

// littleEndian says whether values in memory are already in the byte order the wire uses.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// fixedSize reports whether t is a number or bool, whose memory is its value.
func fixedSize(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	}
	return false
}

var (
	gobEncoder      = reflect.TypeFor[gob.GobEncoder]()
	gobDecoder      = reflect.TypeFor[gob.GobDecoder]()
	binaryMarshal   = reflect.TypeFor[encoding.BinaryMarshaler]()
	binaryUnmarshal = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	textMarshal     = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshal   = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// marshals reports whether gob would encode t with one of its methods.
func marshals(t reflect.Type) bool {
	for _, m := range []reflect.Type{gobEncoder, binaryMarshal, textMarshal} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return true
		}
	}
	return false
}

// plain reports whether gob would send t as its value, without calling a method of t.
func plain(t reflect.Type) bool {
	if marshals(t) {
		return false
	}
	for _, m := range []reflect.Type{gobDecoder, binaryUnmarshal, textUnmarshal} {
		if reflect.PointerTo(t).Implements(m) {
			return false
		}
	}
	return true
}

// canTravel reports why values of t cannot cross to another process, where encoding/gob would
// fail or silently drop them: funcs, channels and unsafe pointers anywhere in the exported
// structure, and structs with nothing exported.
func canTravel(t reflect.Type, path string, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	if marshals(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return fmt.Errorf("%s is a %v", path, t)
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return canTravel(t.Elem(), path+"'s elements", seen)
	case reflect.Map:
		if err := canTravel(t.Key(), path+"'s keys", seen); err != nil {
			return err
		}
		return canTravel(t.Elem(), path+"'s values", seen)
	case reflect.Struct:
		exported := 0
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			exported++
			if err := canTravel(f.Type, fmt.Sprintf("field %s of %v", f.Name, t), seen); err != nil {
				return err
			}
		}
		if exported == 0 {
			return fmt.Errorf("%v has no exported fields (encoding/gob sends only those)", t)
		}
	}
	return nil
}
