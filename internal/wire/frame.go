package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version; the handshake refuses a peer with another one.
const Version = 1

// MaxFrame bounds a frame's length. A value larger than this cannot travel in one task.
const MaxFrame = 1 << 30

// headerSize is kind + flags + id, the part of a frame's length that is not payload.
const headerSize = 1 + 1 + 8

// Kind says what a frame carries.
type Kind uint8

// The frame kinds. Parent to worker: Batch, Cancel, Exit. Worker to parent: Hello, Outputs,
// Failure.
const (
	KindHello   Kind = iota + 1 // the worker's handshake
	KindBatch                   // inputs of a batch to run
	KindCancel                  // stop the batch with this id
	KindExit                    // finish what is queued, then exit
	KindOutputs                 // outputs of a range of a batch's items
	KindFailure                 // one item of a batch failed
	kindEnd
)

func (k Kind) String() string {
	names := [...]string{"?", "hello", "batch", "cancel", "exit", "outputs", "failure"}
	if k < kindEnd {
		return names[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Flags modify a frame.
const (
	// FlagRestart says the sender's gob stream starts anew with this frame: the receiver must
	// use a fresh decoder. Sent after an encoding error left the old stream unusable.
	FlagRestart uint8 = 1 << iota
	// FlagLast marks the last frame a worker sends about a batch.
	FlagLast
)

// ErrProtocol is wrapped by every error about a malformed frame.
var ErrProtocol = errors.New("multiproc: protocol error")

// Frame is one frame read from a connection. Payload is valid until the next read, unless a
// Decoder takes it (Decoder.TakeBytes).
type Frame struct {
	Kind    Kind
	Flags   uint8
	ID      uint64
	Payload []byte

	r *Reader // the Reader whose buffer Payload is in, which a Decoder may take from it
}

// Reader reads frames.
type Reader struct {
	r       *bufio.Reader
	buf     []byte // the last payload's buffer, reused unless a Decoder took it
	scratch []byte // the first step of a payload that outgrows buf
	max     int
	frames  uint64 // frames read so far
}

// Frames is the number of frames read so far.
func (r *Reader) Frames() uint64 { return r.frames }

// NewReader returns a Reader of frames from r whose length is at most max (MaxFrame if 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = MaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// Read reads the next frame. io.EOF means the peer closed cleanly between frames; a frame
// cut short is io.ErrUnexpectedEOF; a malformed one wraps ErrProtocol; any other error is the
// underlying reader's.
func (r *Reader) Read() (Frame, error) {
	var head [4 + headerSize]byte
	if _, err := io.ReadFull(r.r, head[:]); err != nil {
		return Frame{}, err // io.EOF only if no byte of the header came
	}
	n := binary.LittleEndian.Uint32(head[:4])
	f := Frame{Kind: Kind(head[4]), Flags: head[5], ID: binary.LittleEndian.Uint64(head[6:]), r: r}
	if n < headerSize || int64(n) > int64(r.max) {
		return Frame{}, fmt.Errorf("%w: frame length %d outside [%d, %d]", ErrProtocol, n, headerSize, r.max)
	}
	if f.Kind == 0 || f.Kind >= kindEnd {
		return Frame{}, fmt.Errorf("%w: unknown frame kind %d", ErrProtocol, head[4])
	}
	payload, err := r.readPayload(int(n) - headerSize)
	if err != nil {
		return Frame{}, err
	}
	f.Payload = payload
	r.frames++
	return f, nil
}

// Sizes of payload buffers.
const (
	// readStep is what a payload may take before its bytes arrive. A payload over it is read
	// into scratch first, then into a buffer at most growFactor times what has arrived plus
	// readStep: a lying length costs a few times what the peer really sends, not what it
	// claims, and a payload of up to 9 MiB needs one allocation, not a series of copies.
	readStep   = 1 << 20
	growFactor = 8
	// keepMax bounds the buffer kept for the next frame: a process idle after a large
	// frame must not keep its size for ever, and a larger payload's decoding costs more
	// than its new buffer.
	keepMax = 4 << 20
)

// readPayload reads n bytes into the reused buffer, growing it only as bytes arrive.
func (r *Reader) readPayload(n int) ([]byte, error) {
	if n <= cap(r.buf) || n <= readStep {
		if cap(r.buf) < n {
			r.buf = make([]byte, n)
		}
		b := r.buf[:n]
		if _, err := io.ReadFull(r.r, b); err != nil {
			return nil, unexpected(err)
		}
		return b, nil
	}
	if r.scratch == nil {
		r.scratch = make([]byte, readStep)
	}
	b := r.scratch
	if _, err := io.ReadFull(r.r, b); err != nil {
		return nil, unexpected(err)
	}
	for len(b) < n {
		have := len(b)
		next := NewBuffer(min(n, growFactor*have+readStep))
		copy(next, b)
		b = next
		if _, err := io.ReadFull(r.r, b[have:]); err != nil {
			return nil, unexpected(err)
		}
	}
	if n <= keepMax {
		r.buf = b
	}
	return b, nil
}

// give hands the buffer that payload is in over to the caller: the Reader will not reuse it.
func (r *Reader) give(payload []byte) {
	if cap(payload) > 0 && cap(r.buf) > 0 && &payload[:1][0] == &r.buf[:1][0] {
		r.buf = nil
	}
}

// unexpected is err from reading a payload: the end of input there cuts a frame short.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendHeader starts a frame in b: the length is filled in by FinishFrame.
func AppendHeader(b []byte, kind Kind, flags uint8, id uint64) []byte {
	b = append(b, 0, 0, 0, 0, byte(kind), flags)
	return binary.LittleEndian.AppendUint64(b, id)
}

// FinishFrame writes the length of the frame that starts at b[start:].
func FinishFrame(b []byte, start int) error {
	return putLength(b[start:], len(b)-start-4, MaxFrame)
}

// ErrTooLarge is wrapped by the error about a frame, or a value, over the limit of a frame.
var ErrTooLarge = errors.New("over the 1 GiB a message may hold")

// putLength writes n, the length of the frame that starts at b, or refuses it over limit.
func putLength(b []byte, n, limit int) error {
	if n > limit {
		return fmt.Errorf("multiproc: a message of %d bytes, %w", n, ErrTooLarge)
	}
	binary.LittleEndian.PutUint32(b, uint32(n))
	return nil
}
