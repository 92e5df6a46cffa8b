package wire

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

// fakePeer stands for both processes of a Sharer and its Fetcher: shared slices are kept in
// a map by reference.
type fakePeer struct {
	refuse   bool // Share says no
	next     uint64
	shared   map[uint64][]byte
	frames   []uint64 // the frame index given to each Share
	unshared []uint64
	inline   []int
}

func newFakePeer() *fakePeer { return &fakePeer{next: 100, shared: map[uint64][]byte{}} }

func (p *fakePeer) Share(b []byte, frame uint64) (uint64, bool) {
	if p.refuse {
		return 0, false
	}
	p.next++
	p.shared[p.next] = b
	p.frames = append(p.frames, frame)
	return p.next, true
}

func (p *fakePeer) Unshare(ref uint64) {
	p.unshared = append(p.unshared, ref)
	delete(p.shared, ref)
}

func (p *fakePeer) Fetch(ref uint64, n int) ([]byte, error) {
	b, ok := p.shared[ref]
	if !ok || len(b) != n {
		return nil, errors.New("no such shared slice")
	}
	return bytes.Clone(b), nil
}

func (p *fakePeer) Inline(n int) { p.inline = append(p.inline, n) }

func bigSlice(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%251)
	}
	return b
}

// A large slice given to Bytes travels by reference when the Sharer takes it: the frame
// holds a few bytes, and TakeBytes gets the slice from the Fetcher.
func TestSharedBytesRoundTrip(t *testing.T) {
	t.Parallel()
	p := newFakePeer()
	e := NewEncoder()
	e.Sharer = p
	big, small := bigSlice(RefMin, 1), []byte("small")
	e.Begin(KindOutputs, 0, 1)
	e.Bytes(big)
	e.Bytes(small)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	frame := e.pending()
	if len(frame) > 64 {
		t.Fatalf("frame of %d bytes: the large slice was not shared", len(frame))
	}
	d := NewDecoder()
	d.Fetcher = p
	d.Next(readOne(t, frame))
	got, err := d.TakeBytes()
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("TakeBytes of the shared slice: %d bytes, %v", len(got), err)
	}
	if got, err := d.TakeBytes(); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("TakeBytes of the small slice: %q, %v", got, err)
	}
	if len(p.inline) != 0 {
		t.Errorf("Inline called for %v", p.inline)
	}
}

// Share is given the index of the frame that holds the reference, counted as a Reader counts
// frames; a dropped frame is not counted, and its references are given back.
func TestShareFramesAndAbort(t *testing.T) {
	t.Parallel()
	p := newFakePeer()
	e := NewEncoder()
	e.Sharer = p
	send := func(id uint64) {
		e.Begin(KindOutputs, 0, id)
		e.Bytes(bigSlice(RefMin, byte(id)))
		if err := e.End(); err != nil {
			t.Fatal(err)
		}
	}
	send(1)
	e.Begin(KindOutputs, 0, 2)
	e.Bytes(bigSlice(RefMin, 2))
	e.Bytes(bigSlice(RefMin+1, 3))
	e.Abort()
	send(3)
	if want := []uint64{0, 1, 1, 1}; !slices.Equal(p.frames, want) {
		t.Errorf("Share frames %v, want %v", p.frames, want)
	}
	if want := []uint64{102, 103}; !slices.Equal(p.unshared, want) {
		t.Errorf("Unshare after Abort: %v, want %v", p.unshared, want)
	}
	r := NewReader(bytes.NewReader(e.pending()), 0)
	fs, _ := readAll(r)
	if len(fs) != 2 || fs[1].ID != 3 || r.Frames() != 2 {
		t.Fatalf("read %d frames (Frames %d), want 2 ending with batch 3", len(fs), r.Frames())
	}
}

// A slice the Sharer refuses, or below RefMin, goes in the frame; the Fetcher hears of the
// large ones that did.
func TestShareRefusedGoesInline(t *testing.T) {
	t.Parallel()
	p := newFakePeer()
	p.refuse = true
	e := NewEncoder()
	e.Sharer = p
	big := bigSlice(RefMin+7, 9)
	e.Begin(KindOutputs, 0, 1)
	e.Bytes(big)
	e.Bytes(bigSlice(RefMin-1, 4))
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder()
	d.Fetcher = p
	d.Next(readOne(t, e.pending()))
	if got, err := d.TakeBytes(); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("TakeBytes: %d bytes, %v", len(got), err)
	}
	if _, err := d.TakeBytes(); err != nil {
		t.Fatal(err)
	}
	if len(p.inline) != 1 || p.inline[0] != len(big) {
		t.Errorf("Inline told of %v, want [%d]", p.inline, len(big))
	}
}

// A reference where the receiver has no Fetcher, or one naming fewer than RefMin bytes, is a
// protocol error; so is an error from the Fetcher passed on.
func TestSharedBytesErrors(t *testing.T) {
	t.Parallel()
	frame := func(length uint32, ref uint64) Frame {
		return readOne(t, goodFrame(KindOutputs, 0, 1, cat(le32(length), le64(ref))))
	}
	d := NewDecoder()
	d.Next(frame(RefMin|SharedBit, 5))
	if _, err := d.TakeBytes(); !errors.Is(err, ErrProtocol) {
		t.Errorf("shared slice without a Fetcher: %v, want ErrProtocol", err)
	}
	d.Fetcher = newFakePeer()
	d.Next(frame(10|SharedBit, 5))
	if _, err := d.TakeBytes(); !errors.Is(err, ErrProtocol) {
		t.Errorf("shared slice of 10 bytes: %v, want ErrProtocol", err)
	}
	d.Next(readOne(t, goodFrame(KindOutputs, 0, 1, le32(RefMin|SharedBit))))
	if _, err := d.TakeBytes(); !errors.Is(err, ErrProtocol) {
		t.Errorf("shared slice without its reference: %v, want ErrProtocol", err)
	}
	d.Next(frame(RefMin|SharedBit, 5))
	if _, err := d.TakeBytes(); err == nil {
		t.Error("a reference the Fetcher does not know: no error")
	}
	// Bytes, which aliases the frame, never takes a shared slice.
	d.Next(frame(RefMin|SharedBit, 5))
	if _, err := d.Bytes(); !errors.Is(err, ErrProtocol) {
		t.Errorf("Bytes of a shared slice: %v, want ErrProtocol", err)
	}
}
