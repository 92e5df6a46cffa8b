package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"unsafe"
)

// Tests of how large byte slices travel: the Encoder writes them by reference, the Reader
// hands its buffer over to a Decoder that takes them.

// TestEncoderReferencesLargeBytes shows a slice of RefMin bytes or more is written from where
// it is: a change made to it before WriteTo is what goes out. Smaller ones are copied.
func TestEncoderReferencesLargeBytes(t *testing.T) {
	t.Parallel()
	small := bytes.Repeat([]byte{1}, RefMin-1)
	large := bytes.Repeat([]byte{2}, RefMin)
	e := NewEncoder()
	e.Begin(KindOutputs, 0, 1)
	e.Uint32(7)
	e.Bytes(small)
	e.Bytes(large)
	e.Uint32(8)
	e.Bytes(large)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	e.Begin(KindCancel, 0, 2)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	small[0], large[0] = 0xaa, 0xbb
	changed := bytes.Clone(large)
	want := cat(
		goodFrame(KindOutputs, 0, 1, cat(le32(7), le32(RefMin-1), bytes.Repeat([]byte{1}, RefMin-1),
			le32(RefMin), changed, le32(8), le32(RefMin), changed)),
		goodFrame(KindCancel, 0, 2, nil))
	if e.Len() != len(want) {
		t.Errorf("Len = %d, want %d", e.Len(), len(want))
	}
	var out bytes.Buffer
	n, err := e.WriteTo(&out)
	if err != nil || n != int64(len(want)) || !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("WriteTo wrote %d bytes, %v; want %d bytes, nil, and the same bytes: %v",
			n, err, len(want), bytes.Equal(out.Bytes(), want))
	}
	if e.Len() != 0 || len(e.refs) != 0 {
		t.Errorf("after WriteTo: Len %d, %d references kept", e.Len(), len(e.refs))
	}
}

// TestEncoderAbortDropsReferences aborts frames with references, alone and after others.
func TestEncoderAbortDropsReferences(t *testing.T) {
	t.Parallel()
	large := bytes.Repeat([]byte{3}, RefMin+5)
	e := NewEncoder()
	e.Begin(KindOutputs, 0, 1)
	e.Bytes(large)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	kept := e.pending()
	e.Begin(KindOutputs, 0, 2)
	e.Bytes(large)
	e.Bytes(large[:10])
	e.Bytes(large)
	e.Abort()
	if !bytes.Equal(e.pending(), kept) || e.Len() != len(kept) || len(e.refs) != 1 {
		t.Fatalf("after Abort: %d bytes pending, Len %d, %d references; want %d, %d, 1",
			len(e.pending()), e.Len(), len(e.refs), len(kept), len(kept))
	}
	e.Begin(KindExit, 0, 3)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	fs := readFrames(t, e.pending())
	if len(fs) != 2 || fs[0].ID != 1 || !bytes.Equal(fs[0].Payload, cat(le32(RefMin+5), large)) || fs[1].Kind != KindExit {
		t.Fatalf("read %d frames; want the first and the exit", len(fs))
	}
}

// TestEncoderEndOverMaxFrameByReference makes a frame over MaxFrame out of references (the
// memory is never touched, so it costs nothing): End drops it, and the frames before stay.
func TestEncoderEndOverMaxFrameByReference(t *testing.T) {
	t.Parallel()
	huge := make([]byte, MaxFrame/2+1)
	e := NewEncoder()
	e.Begin(KindCancel, 0, 1)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	e.Begin(KindOutputs, 0, 2)
	e.Bytes(huge)
	e.Bytes(huge)
	if err := e.End(); err == nil {
		t.Fatal("End of a frame over MaxFrame succeeded")
	}
	if want := goodFrame(KindCancel, 0, 1, nil); !bytes.Equal(e.pending(), want) || len(e.refs) != 0 {
		t.Fatalf("after the failed End: %x and %d references, want %x and none", e.pending(), len(e.refs), want)
	}
}

// shortWriter accepts limit bytes, then fails.
type shortWriter struct {
	bytes.Buffer
	limit int
}

var errWriteFailed = errors.New("write failed")

func (w *shortWriter) Write(p []byte) (int, error) {
	if room := w.limit - w.Len(); len(p) > room {
		w.Buffer.Write(p[:room])
		return room, errWriteFailed
	}
	return w.Buffer.Write(p)
}

// TestEncoderWriteToFails cuts the write inside and after a reference: WriteTo reports the
// bytes written and the error, and the Encoder is empty afterwards.
func TestEncoderWriteToFails(t *testing.T) {
	t.Parallel()
	large := bytes.Repeat([]byte{4}, RefMin)
	for _, limit := range []int{0, 10, 4 + headerSize + 4 + 100, 4 + headerSize + 4 + RefMin + 2} {
		e := NewEncoder()
		e.Begin(KindOutputs, 0, 1)
		e.Bytes(large)
		e.Uint32(9)
		if err := e.End(); err != nil {
			t.Fatal(err)
		}
		w := &shortWriter{limit: limit}
		n, err := e.WriteTo(w)
		if err != errWriteFailed || n != int64(limit) || w.Len() != limit {
			t.Errorf("limit %d: WriteTo = %d, %v (%d bytes arrived); want %d, %v", limit, n, err, w.Len(), limit, errWriteFailed)
		}
		if e.Len() != 0 || len(e.refs) != 0 {
			t.Errorf("limit %d: after a failed WriteTo: Len %d, %d references", limit, e.Len(), len(e.refs))
		}
	}
}

// TestTakeBytes reads large and small slices from frames a Reader read: a large slice that
// makes up a quarter of its frame or more is the frame's own memory and outlives the next
// Read; anything else is a copy; an empty one is nil.
func TestTakeBytes(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte{5}, 3*takeMin)
	quarter := bytes.Repeat([]byte{6}, takeMin)
	tests := []struct {
		name    string
		items   [][]byte
		aliased []bool
	}{
		{"one large", [][]byte{big}, []bool{true}},
		{"large and small", [][]byte{big, []byte("small")}, []bool{true, false}},
		{"a quarter", [][]byte{quarter, quarter, quarter, quarter[:takeMin-100]}, []bool{true, true, true, false}},
		{"under a quarter", [][]byte{quarter, quarter, quarter, quarter, quarter}, []bool{false, false, false, false, false}},
		{"under takeMin", [][]byte{quarter[:takeMin-1]}, []bool{false}},
		{"empty", [][]byte{{}, nil, big}, []bool{false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := NewEncoder()
			for id := range uint64(2) {
				e.Begin(KindOutputs, 0, id)
				for _, b := range tt.items {
					e.Bytes(b)
				}
				if err := e.End(); err != nil {
					t.Fatal(err)
				}
			}
			r := NewReader(bytes.NewReader(e.pending()), 0)
			d := NewDecoder()
			var got [][]byte
			for range 2 {
				f, err := r.Read()
				if err != nil {
					t.Fatal(err)
				}
				d.Next(f)
				for i, want := range tt.items {
					b, err := d.TakeBytes()
					if err != nil {
						t.Fatal(err)
					}
					if len(want) == 0 && b != nil {
						t.Errorf("item %d: empty slice read as %#v, want nil", i, b)
					}
					if aliased := len(b) > 0 && within(b, f.Payload); aliased != tt.aliased[i] {
						t.Errorf("item %d of %d bytes: aliases the frame %v, want %v", i, len(b), aliased, tt.aliased[i])
					}
					if within(b, f.Payload) && cap(b) != len(b) {
						t.Errorf("item %d: cap %d > len %d: an append would write over the frame", i, cap(b), len(b))
					}
					got = append(got, b)
				}
			}
			if _, err := r.Read(); err != io.EOF {
				t.Fatalf("Read after the frames: %v", err)
			}
			for i, b := range got {
				if want := tt.items[i%len(tt.items)]; !bytes.Equal(b, want) {
					t.Errorf("item %d changed after later reads", i)
				}
			}
		})
	}
}

// TestTakeBytesInALargerBuffer reads a frame into the buffer a larger frame left: a slice that
// makes up the frame but not a quarter of the buffer is copied, so that keeping it does not
// keep the whole buffer.
func TestTakeBytesInALargerBuffer(t *testing.T) {
	t.Parallel()
	large := bytes.Repeat([]byte{8}, 8*takeMin)
	small := bytes.Repeat([]byte{9}, takeMin)
	e := NewEncoder()
	for id, b := range [][]byte{large, small} {
		e.Begin(KindOutputs, 0, uint64(id))
		e.Bytes(b)
		if err := e.End(); err != nil {
			t.Fatal(err)
		}
	}
	r, d := NewReader(bytes.NewReader(e.pending()), 0), NewDecoder()
	f, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	d.Next(f)
	if _, err := d.Bytes(); err != nil { // read, not taken: the buffer stays the Reader's
		t.Fatal(err)
	}
	if f, err = r.Read(); err != nil {
		t.Fatal(err)
	}
	if cap(f.Payload) < len(large) {
		t.Fatalf("the second frame is in a buffer of %d bytes; want the first frame's", cap(f.Payload))
	}
	d.Next(f)
	b, err := d.TakeBytes()
	if err != nil || !bytes.Equal(b, small) || within(b, f.Payload) {
		t.Fatalf("TakeBytes = %d bytes, %v, aliasing %v; want a copy of %d bytes", len(b), err, within(b, f.Payload), len(small))
	}
}

// TestTakeBytesCopiesUnreadFrames: a Frame not read by a Reader is not the Decoder's to take.
func TestTakeBytesCopiesUnreadFrames(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte{7}, 2*takeMin)
	payload := cat(le32(uint32(len(big))), big)
	d := NewDecoder()
	d.Next(Frame{Kind: KindOutputs, Payload: payload})
	b, err := d.TakeBytes()
	if err != nil || !bytes.Equal(b, big) || within(b, payload) {
		t.Fatalf("TakeBytes = %d bytes, %v, aliasing %v; want a copy", len(b), err, within(b, payload))
	}
}

// within reports whether b's memory is inside p's.
func within(b, p []byte) bool {
	if len(b) == 0 || len(p) == 0 {
		return false
	}
	pb, pp := uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&p[0]))
	return pb >= pp && pb+uintptr(len(b)) <= pp+uintptr(len(p))
}

// TestPrefaultKeepsContents advises slices at every alignment: their bytes, and those around
// them, stay as they were.
func TestPrefaultKeepsContents(t *testing.T) {
	t.Parallel()
	buf := make([]byte, 5*4096)
	for i := range buf {
		buf[i] = byte(i*7 + 1)
	}
	want := bytes.Clone(buf)
	for _, lo := range []int{0, 1, 4095, 4096, 5000} {
		for _, n := range []int{0, 1, 4095, 4096, 8192, 3*4096 + 17} {
			if lo+n <= len(buf) {
				prefault(buf[lo : lo+n])
			}
		}
	}
	if !bytes.Equal(buf, want) {
		t.Fatal("prefault changed memory")
	}
	fresh := make([]byte, 3<<20)
	prefault(fresh)
	if !bytes.Equal(fresh, make([]byte, len(fresh))) {
		t.Fatal("prefault of fresh memory left it not zero")
	}
}

// sinkBuffers keeps the benchmarks' buffers alive to the end, so that each iteration gets
// memory the process has not used before.
var sinkBuffers [][]byte

// sinkBuffer keeps only the latest buffer alive, so that the heap reuses the others.
var sinkBuffer []byte

// BenchmarkFreshBuffer fills 8 MiB buffers of memory the process has not touched before, as
// the Reader does with a payload it hands over, page fault by page fault or prefaulted first.
// Run it with -benchtime 32x: each iteration keeps its 8 MiB.
func BenchmarkFreshBuffer(b *testing.B) {
	src := bytes.Repeat([]byte{1}, 8<<20)
	for _, tc := range []struct {
		name string
		prep func([]byte)
	}{
		{"faults", func([]byte) {}},
		{"prefaulted", prefault},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				buf := make([]byte, len(src))
				tc.prep(buf)
				copy(buf, src)
				sinkBuffers = append(sinkBuffers, buf)
			}
		})
		// The steady state of a receiver that drops what it got: the heap hands out the
		// same memory again, resident and zeroed, and prefault must cost next to nothing.
		b.Run("reused/"+tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				buf := make([]byte, len(src))
				tc.prep(buf)
				copy(buf, src)
				sinkBuffer = buf
			}
		})
	}
}

// BenchmarkReadPayload reads 8 MiB frames and takes each payload, so that every frame needs a
// new buffer: the Reader's path for large []byte values. The frames come from memory, not a
// socket, so the numbers are the Reader's own costs.
func BenchmarkReadPayload(b *testing.B) {
	payload := bytes.Repeat([]byte{9}, 8<<20)
	frame := goodFrame(KindOutputs, 0, 1, cat(le32(uint32(len(payload))), payload))
	src := bytes.NewReader(frame)
	r, d := NewReader(src, 0), NewDecoder()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		src.Reset(frame)
		f, err := r.Read()
		if err != nil {
			b.Fatal(err)
		}
		d.Next(f)
		if got, err := d.TakeBytes(); err != nil || len(got) != len(payload) {
			b.Fatal(len(got), err)
		}
	}
}
