package wire

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"io"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The types below are the values the tests send on the gob stream.

type point struct{ X, Y int }

type labelled struct {
	Name string
	Tags []string
	At   point
}

// holder carries an interface: gob needs its concrete type registered.
type holder struct{ V any }

// unregistered is never given to gob.Register, so a holder of one cannot be encoded, but only
// after gob has written holder's type description.
type unregistered struct{ N int }

var errRefused = errors.New("refused to encode")

// refusing is a type whose GobEncode fails.
type refusing struct{ N int }

func (refusing) GobEncode() ([]byte, error) { return nil, errRefused }
func (*refusing) GobDecode([]byte) error    { return nil }

// exploding is a type whose GobEncode panics; Encoder.Value must turn that into an error.
type exploding struct{ N int }

func (exploding) GobEncode() ([]byte, error) { panic("exploding.GobEncode") }
func (*exploding) GobDecode([]byte) error    { return nil }

func init() {
	gob.Register(point{})
	gob.Register(labelled{})
}

// frameBytes returns the frames that build makes with a fresh Encoder.
func frameBytes(t testing.TB, build func(e *Encoder) error) []byte {
	t.Helper()
	e := NewEncoder()
	if err := build(e); err != nil {
		t.Fatalf("building frames: %v", err)
	}
	return bytes.Clone(e.pending())
}

// readAll reads frames until an error, copying each payload, and returns them with the error
// that ended the stream.
func readAll(r *Reader) ([]Frame, error) {
	var fs []Frame
	for {
		f, err := r.Read()
		if err != nil {
			return fs, err
		}
		f.Payload = bytes.Clone(f.Payload)
		fs = append(fs, f)
	}
}

// readOne reads the single frame in b.
func readOne(t testing.TB, b []byte) Frame {
	t.Helper()
	r := NewReader(bytes.NewReader(b), 0)
	f, err := r.Read()
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("Read after the only frame: got %v, want io.EOF", err)
	}
	return f
}

// rawFrame builds a frame by hand, with whatever length field it is given: the Encoder only
// makes well-formed frames.
func rawFrame(length uint32, kind Kind, flags uint8, id uint64, payload []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, length)
	b = append(b, byte(kind), flags)
	b = binary.LittleEndian.AppendUint64(b, id)
	return append(b, payload...)
}

// goodFrame builds a well-formed frame by hand.
func goodFrame(kind Kind, flags uint8, id uint64, payload []byte) []byte {
	return rawFrame(uint32(headerSize+len(payload)), kind, flags, id, payload)
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

// pending returns the frames e has built, in one slice, without writing them.
func (e *Encoder) pending() []byte {
	var b bytes.Buffer
	for _, s := range e.segments() {
		b.Write(s)
	}
	return b.Bytes()
}
