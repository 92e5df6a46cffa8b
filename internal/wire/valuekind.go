package wire

// How a Codec moves its values, for the Queue and Pipe of the root package: they carry one
// value per item, and take the raw ways without an Encoder.

// IsBytes reports whether T is []byte: an item is the slice's bytes.
func (c Codec[T]) IsBytes() bool { return c.kind == codecBytes }

// FixedSize returns the size of T when a value of T is its own memory (a number; for a
// bool, Decode checks it): an item is those bytes.
func (c Codec[T]) FixedSize() (size int, ok bool) {
	return c.size, c.kind == codecFixed && !c.bools
}

// UsesGob reports whether values of T travel with gob: a stream that a decoder must read
// from its start.
func (c Codec[T]) UsesGob() bool { return c.kind == codecGob }
