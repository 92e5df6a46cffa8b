package wire

import (
	"encoding/binary"
	"encoding/gob"
	"fmt"
)

// Decoder reads the fields and values of one frame at a time.
type Decoder struct {
	// Fetcher, if set, gets the slices that travel outside frames (see Sharer).
	Fetcher Fetcher

	r       payloadReader
	gob     *gob.Decoder
	from    *Reader // the Reader the frame came from, if it may give its payload away
	payload []byte  // the whole payload of the frame
	taken   bool    // the payload's buffer is the Decoder's: TakeBytes may alias it
}

// NewDecoder returns a Decoder; give it frames with Next.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.gob = gob.NewDecoder(&d.r)
	return d
}

// Next makes f the frame to read from.
func (d *Decoder) Next(f Frame) {
	d.r.b = f.Payload
	d.from, d.payload, d.taken = f.r, f.Payload, false
	if f.Flags&FlagRestart != 0 {
		d.gob = gob.NewDecoder(&d.r)
	}
}

// Len is the number of unread bytes of the frame.
func (d *Decoder) Len() int { return len(d.r.b) }

func (d *Decoder) short(what string) error {
	return fmt.Errorf("%w: frame too short for %s", ErrProtocol, what)
}

// Uint32 reads a uint32.
func (d *Decoder) Uint32() (uint32, error) {
	if len(d.r.b) < 4 {
		return 0, d.short("a uint32")
	}
	v := binary.LittleEndian.Uint32(d.r.b)
	d.r.b = d.r.b[4:]
	return v, nil
}

// Uint64 reads a uint64.
func (d *Decoder) Uint64() (uint64, error) {
	if len(d.r.b) < 8 {
		return 0, d.short("a uint64")
	}
	v := binary.LittleEndian.Uint64(d.r.b)
	d.r.b = d.r.b[8:]
	return v, nil
}

// Bytes reads a length-prefixed byte slice; it aliases the frame.
func (d *Decoder) Bytes() ([]byte, error) {
	n, err := d.Uint32()
	if err != nil {
		return nil, err
	}
	return d.Raw(int(n))
}

// Raw reads the next n bytes of the frame; they alias the frame.
func (d *Decoder) Raw(n int) ([]byte, error) {
	if n < 0 || n > len(d.r.b) {
		return nil, d.short(fmt.Sprintf("%d bytes", n))
	}
	b := d.r.b[:n:n]
	d.r.b = d.r.b[n:]
	return b, nil
}

// takeMin is the least length of a slice that TakeBytes may return without copying it. A
// slice aliases the frame only when it makes up a quarter or more of the buffer the frame was
// read into (which may be larger than the frame): whoever keeps the slice keeps the whole
// buffer alive, at most four times the slice's size.
const takeMin = 64 << 10

// TakeBytes reads a length-prefixed byte slice that the caller may keep and change: a large
// one that makes up much of a frame read by a Reader is the frame's own bytes (the Reader
// allocates a new buffer for the next frame), anything else a copy; one that travelled
// through the sender's or this process's memory (see Sharer) is what the Fetcher returns. An
// empty slice is nil. Like any use of a frame's payload, it comes before the Reader's next
// Read.
func (d *Decoder) TakeBytes() ([]byte, error) { return d.takeBytes(-1) }

// TakeBytesOf is TakeBytes for a slice whose length the caller knows already (want): a frame
// that says otherwise is refused before anything is read or fetched.
func (d *Decoder) TakeBytesOf(want int) ([]byte, error) { return d.takeBytes(want) }

func (d *Decoder) takeBytes(want int) ([]byte, error) {
	n, err := d.Uint32()
	if err != nil {
		return nil, err
	}
	if want >= 0 && int(n&^SharedBit) != want {
		return nil, fmt.Errorf("%w: a slice of %d bytes where %d were due", ErrProtocol, n&^SharedBit, want)
	}
	if n&SharedBit != 0 {
		if d.Fetcher == nil {
			return nil, fmt.Errorf("%w: a shared slice where none is expected", ErrProtocol)
		}
		ref, err := d.Uint64()
		if err != nil {
			return nil, err
		}
		n &^= SharedBit
		if n < RefMin {
			return nil, fmt.Errorf("%w: a shared slice of only %d bytes", ErrProtocol, n)
		}
		return d.Fetcher.Fetch(ref, int(n))
	}
	b, err := d.Raw(int(n))
	if err != nil || len(b) == 0 {
		return nil, err
	}
	if d.Fetcher != nil && len(b) >= RefMin {
		d.Fetcher.Inline(len(b))
	}
	if len(b) >= takeMin && 4*len(b) >= cap(d.payload) && (d.taken || d.from != nil) {
		if !d.taken {
			d.from.give(d.payload)
			d.taken = true
		}
		return b, nil
	}
	return append([]byte(nil), b...), nil
}

// String reads a length-prefixed string.
func (d *Decoder) String() (string, error) {
	b, err := d.Bytes()
	return string(b), err
}

// Value decodes the next gob value of the frame into v, a pointer to a fresh variable. Gob's
// own checks bound what it allocates by the frame's size; a panic inside gob on malformed
// bytes is returned as an error.
func (d *Decoder) Value(v any) (err error) {
	if err := checkMessages(d.r.b); err != nil {
		return err
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: gob: %v", ErrProtocol, r)
		}
	}()
	before := len(d.r.b)
	if err := d.gob.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if before-len(d.r.b) > gobKeepMax {
		d.gob = gob.NewDecoder(&d.r) // as the Encoder did after this message
	}
	return nil
}

// Skip reads the next gob value and discards it, learning the types it describes.
func (d *Decoder) Skip() error { return d.Value(nil) }

// payloadReader gives gob the unread part of the current frame. It is an io.ByteReader, so gob
// reads no further than each message and never across frames.
type payloadReader struct{ b []byte }

func (r *payloadReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, errEndOfFrame
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}

func (r *payloadReader) ReadByte() (byte, error) {
	if len(r.b) == 0 {
		return 0, errEndOfFrame
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, nil
}

var errEndOfFrame = fmt.Errorf("%w: value cut short by the end of its frame", ErrProtocol)

// checkMessages checks that the gob messages of the next value, the type descriptions up to
// and including the message that holds the value, each fit in the rest of the frame b: gob
// allocates a message's buffer from its count (up to 10 MiB) before it reads the message.
func checkMessages(b []byte) error {
	for {
		n, w := gobUint(b)
		if w == 0 || n > uint64(len(b)-w) {
			return errEndOfFrame
		}
		msg := b[w : w+int(n)]
		b = b[w+int(n):]
		id, w := gobUint(msg) // a gob int: bit 0 set means negative, a type description
		if w == 0 || id&1 == 0 {
			return nil // the value's message: gob checks the rest against its size
		}
	}
}

// gobUint decodes the gob unsigned integer at the start of b: one byte under 0x80, else the
// negated count (at most 8) of the big-endian bytes that follow. w is 0 if b holds none.
func gobUint(b []byte) (v uint64, w int) {
	if len(b) == 0 {
		return 0, 0
	}
	if b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	n := -int(int8(b[0]))
	if n > 8 || 1+n > len(b) {
		return 0, 0
	}
	for _, c := range b[1 : 1+n] {
		v = v<<8 | uint64(c)
	}
	return v, 1 + n
}

// A Fetcher gets, for a Decoder, the n bytes a Sharer's reference names. Inline is told of a
// slice of RefMin bytes or more that came in the frame instead.
type Fetcher interface {
	Fetch(ref uint64, n int) ([]byte, error)
	Inline(n int)
}
