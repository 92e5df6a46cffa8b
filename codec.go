package multiproc

import (
	"encoding"
	"encoding/gob"
	"fmt"
	"reflect"

	"github.com/multiproc/multiproc/internal/wire"
)

// codec moves a run of values of one type through a frame. Most types go as one gob value
// holding the whole run; []byte goes raw, and types of size zero (struct{}) not at all.
type codec[T any] struct{ kind codecKind }

type codecKind uint8

const (
	codecGob codecKind = iota
	codecBytes
	codecEmpty
)

// newCodec chooses the codec for T and checks, before anything is sent, that T can travel.
func newCodec[T any](fn, role string) (codec[T], error) {
	t := reflect.TypeFor[T]()
	switch {
	case t == reflect.TypeFor[[]byte]():
		return codec[T]{codecBytes}, nil
	case t.Size() == 0 && t.Kind() != reflect.Interface:
		return codec[T]{codecEmpty}, nil
	}
	if err := canTravel(t, t.String(), map[reflect.Type]bool{}); err != nil {
		return codec[T]{}, fmt.Errorf("multiproc: the %s type %v of %q cannot travel between processes: %w", role, t, fn, err)
	}
	return codec[T]{codecGob}, nil
}

func (c codec[T]) encode(enc *wire.Encoder, vs []T) error {
	switch c.kind {
	case codecEmpty:
		return nil
	case codecBytes:
		for _, v := range any(vs).([][]byte) {
			enc.Bytes(v)
		}
		return nil
	}
	if err := enc.Value(vs); err != nil {
		return fmt.Errorf("multiproc: encoding %T: %w", vs, err)
	}
	return nil
}

// decode fills vs, whose length is the number of values the frame must hold.
func (c codec[T]) decode(dec *wire.Decoder, vs []T) error {
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
	}
	var got []T
	if err := dec.Value(&got); err != nil {
		return err
	}
	if len(got) != len(vs) {
		return fmt.Errorf("%w: %d values where %d were due", wire.ErrProtocol, len(got), len(vs))
	}
	copy(vs, got)
	return nil
}

var (
	gobEncoder    = reflect.TypeFor[gob.GobEncoder]()
	binaryMarshal = reflect.TypeFor[encoding.BinaryMarshaler]()
	textMarshal   = reflect.TypeFor[encoding.TextMarshaler]()
)

// canTravel reports why values of t cannot cross to another process, where encoding/gob would
// fail or silently drop them: funcs, channels and unsafe pointers anywhere in the exported
// structure, and structs with nothing exported.
func canTravel(t reflect.Type, path string, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	for _, m := range []reflect.Type{gobEncoder, binaryMarshal, textMarshal} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return nil
		}
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
