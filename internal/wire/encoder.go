package wire

import (
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"io"
	"slices"
)

// Encoder builds frames, several at a time, for one write. Values travel on one persistent gob
// stream, so a type's description is sent once per connection, not once per message.
//
// Small fields are copied into one buffer. A byte slice of at least RefMin bytes is not: the
// Encoder keeps a reference to it and WriteTo writes it from where it is, because copying
// megabytes costs more than the write itself, and the copy's fresh pages cost more still.
type Encoder struct {
	buf      []byte
	refs     []ref // large slices written by reference, in order
	refBytes int   // their total length
	segs     [][]byte
	start    int // where the open frame begins in buf
	openRef  int // index in refs of the open frame's first reference
	gob      *gob.Encoder
	restart  bool // the next frame starts a new gob stream
	// streamed says the open frame holds gob bytes or starts a new gob stream: dropping it
	// must start the stream anew.
	streamed bool

	// Sharer, if set, passes large slices given to Bytes through the other process's memory
	// instead of the frame (see Sharer).
	Sharer Sharer
	shares []uint64 // the references the open frame holds
	frames uint64   // frames ended so far: the index of the open frame

	// Limit is the most bytes a frame may have after its length; 0 means MaxFrame. Tests
	// lower it to reach the limit without gigabytes.
	Limit int
}

// ref is a slice written by reference: it goes between buf[:at] and buf[at:].
type ref struct {
	at int
	b  []byte
}

// RefMin is the length from which Encoder.Bytes keeps a reference to its argument instead of
// copying it. It is also more than a worker keeps back before it writes (256 KiB), so a
// referenced output goes out before the worker runs another batch.
const RefMin = 256 << 10

// NewEncoder returns an Encoder with an empty buffer.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.gob = gob.NewEncoder((*appender)(e))
	return e
}

type appender Encoder

func (a *appender) Write(p []byte) (int, error) {
	a.buf = append(a.buf, p...)
	return len(p), nil
}

// Begin opens a frame. Every Begin is followed by End or Abort.
func (e *Encoder) Begin(kind Kind, flags uint8, id uint64) {
	e.streamed = e.restart
	if e.restart {
		flags |= FlagRestart
		e.restart = false
	}
	e.start = len(e.buf)
	e.openRef = len(e.refs)
	e.shares = e.shares[:0]
	e.buf = AppendHeader(e.buf, kind, flags, id)
}

// Uint32 appends v to the open frame.
func (e *Encoder) Uint32(v uint32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }

// Uint64 appends v to the open frame.
func (e *Encoder) Uint64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }

// String appends s to the open frame.
func (e *Encoder) String(s string) {
	e.Uint32(uint32(len(s)))
	e.buf = append(e.buf, s...)
}

// Bytes appends b, length first, to the open frame, as Raw does. With a Sharer, a b of
// RefMin bytes or more may instead travel through the other process's memory: the frame
// then holds its length with SharedBit set, and the Sharer's reference.
func (e *Encoder) Bytes(b []byte) {
	if e.Sharer != nil && len(b) >= RefMin && len(b) < SharedBit {
		if ref, ok := e.Sharer.Share(b, e.frames); ok {
			e.Uint32(uint32(len(b)) | SharedBit)
			e.Uint64(ref)
			e.shares = append(e.shares, ref)
			return
		}
	}
	e.Uint32(uint32(len(b)))
	e.Raw(b)
}

// Raw appends b to the open frame as it is. A b of RefMin bytes or more is not copied: it must
// not change until the frames are written (WriteTo) or dropped (Reset, Abort).
func (e *Encoder) Raw(b []byte) {
	if len(b) < RefMin {
		e.buf = append(e.buf, b...)
		return
	}
	e.refs = append(e.refs, ref{at: len(e.buf), b: b})
	e.refBytes += len(b)
}

// Grow makes room for n more bytes in the open frame and returns them, to be filled in
// before anything else is appended.
func (e *Encoder) Grow(n int) []byte {
	e.buf = slices.Grow(e.buf, n)
	at := len(e.buf)
	e.buf = e.buf[:at+n]
	return e.buf[at:]
}

// Value appends v, gob-encoded, to the open frame. On error the frame is dropped (as if
// Aborted) and the gob stream starts anew, because gob may already count as sent a type
// description that the dropped bytes held.
func (e *Encoder) Value(v any) (err error) {
	e.streamed = true
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gob: %v", r)
		}
		if err != nil {
			e.Abort()
		}
	}()
	before := len(e.buf)
	if err := e.gob.Encode(v); err != nil {
		return err
	}
	if len(e.buf)-before > gobKeepMax {
		e.gob = gob.NewEncoder((*appender)(e)) // the Decoder starts anew at the same byte
	}
	return nil
}

// gobKeepMax is the largest gob message after which both ends keep their gob stream. After a
// larger one, the Encoder and the Decoder each start a new stream, at the same byte and
// without a word between them: gob keeps the buffer of its last message, and an idle
// process must not keep a copy of a large value it has long handed over. The next message
// describes its types again, a few hundred bytes beside more than a megabyte.
const gobKeepMax = 1 << 20

// Abort drops the open frame. If the frame held gob values or began a new gob stream, the
// stream starts anew with the next frame: the dropped bytes may have held type descriptions
// that gob counts as sent, or the FlagRestart the receiver needed.
func (e *Encoder) Abort() {
	for _, ref := range e.shares {
		e.Sharer.Unshare(ref)
	}
	e.shares = e.shares[:0]
	e.buf = e.buf[:e.start]
	e.refBytes -= e.openRefBytes()
	clear(e.refs[e.openRef:])
	e.refs = e.refs[:e.openRef]
	if e.streamed {
		e.gob = gob.NewEncoder((*appender)(e))
		e.restart = true
		e.streamed = false
	}
}

// openRefBytes is the length of the slices the open frame references.
func (e *Encoder) openRefBytes() int {
	n := 0
	for _, r := range e.refs[e.openRef:] {
		n += len(r.b)
	}
	return n
}

// limit is the most bytes a frame may have after its length.
func (e *Encoder) limit() int {
	if e.Limit > 0 {
		return e.Limit
	}
	return MaxFrame
}

// Room is how many more bytes the open frame may take: what encodes a large value checks it
// first, so that a value too large for any frame is refused before it is copied.
func (e *Encoder) Room() int {
	return e.limit() - (len(e.buf) - e.start - 4 + e.openRefBytes())
}

// End closes the open frame. A frame over the limit (MaxFrame) is dropped with an error
// wrapping ErrTooLarge.
func (e *Encoder) End() error {
	if err := putLength(e.buf[e.start:], len(e.buf)-e.start-4+e.openRefBytes(), e.limit()); err != nil {
		e.Abort()
		return err
	}
	e.shares = e.shares[:0]
	e.frames++
	return nil
}

// Len is the number of bytes of the frames built since the last Reset.
func (e *Encoder) Len() int { return len(e.buf) + e.refBytes }

// WriteTo writes the frames built so far to w and resets the Encoder, whether or not the
// write succeeded. Referenced slices are written from where they are, one Write each (a
// writev would save a system call per RefMin bytes or more: nothing to measure).
func (e *Encoder) WriteTo(w io.Writer) (int64, error) {
	defer e.Reset()
	if len(e.refs) == 0 {
		n, err := w.Write(e.buf)
		return int64(n), err
	}
	var total int64
	for _, s := range e.segments() {
		n, err := w.Write(s)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// segments are the frames built so far as the pieces to write in order.
func (e *Encoder) segments() [][]byte {
	segs := e.segs[:0]
	at := 0
	for _, r := range e.refs {
		if r.at > at {
			segs = append(segs, e.buf[at:r.at])
		}
		segs = append(segs, r.b)
		at = r.at
	}
	if at < len(e.buf) {
		segs = append(segs, e.buf[at:])
	}
	e.segs = segs
	return segs
}

// Reset drops the frames built so far, keeping a moderate buffer for reuse and no reference.
func (e *Encoder) Reset() {
	if cap(e.buf) > 4<<20 {
		e.buf = nil
	}
	e.buf = e.buf[:0]
	clear(e.refs)
	e.refs = e.refs[:0]
	clear(e.segs)
	e.segs = e.segs[:0]
	e.refBytes = 0
	e.start = 0
	e.openRef = 0
}

// SharedBit, set in the length of a slice in a frame, says that the slice travels outside the
// frame: a reference follows instead of its bytes.
const SharedBit = 1 << 31

// A Sharer passes large slices between the two processes' memory, outside the frames, for an
// Encoder. Share returns the reference the receiver's Fetcher will be given, or ok false for
// the slice to go in the frame; frame is the index of the frame that will hold the reference
// (frames are counted from 0 by the Encoder, as Reader.Frames counts them). Unshare is called
// when that frame is dropped instead of sent.
type Sharer interface {
	Share(b []byte, frame uint64) (ref uint64, ok bool)
	Unshare(ref uint64)
}
