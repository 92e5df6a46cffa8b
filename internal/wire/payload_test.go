package wire

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"weak"
)

func TestDecoderShortFrames(t *testing.T) {
	t.Parallel()
	readUint32 := func(d *Decoder) error { _, err := d.Uint32(); return err }
	readUint64 := func(d *Decoder) error { _, err := d.Uint64(); return err }
	readBytes := func(d *Decoder) error { _, err := d.Bytes(); return err }
	readString := func(d *Decoder) error { _, err := d.String(); return err }
	tests := []struct {
		name    string
		payload []byte
		read    func(*Decoder) error
	}{
		{"uint32 of nothing", nil, readUint32},
		{"uint32 of 3 bytes", []byte{1, 2, 3}, readUint32},
		{"uint64 of 7 bytes", []byte{1, 2, 3, 4, 5, 6, 7}, readUint64},
		{"bytes without their length", []byte{5, 0}, readBytes},
		{"bytes longer than the frame", cat(le32(5), []byte("abcd")), readBytes},
		{"bytes of length 2^32-1", cat(le32(1<<32-1), []byte("ab")), readBytes},
		{"string longer than the frame", cat(le32(100), []byte("short")), readString},
		{"string without its length", nil, readString},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := NewDecoder()
			d.Next(Frame{Kind: KindBatch, Payload: tt.payload})
			if err := tt.read(d); !errors.Is(err, ErrProtocol) {
				t.Errorf("got %v, want an error wrapping ErrProtocol", err)
			}
		})
	}
}

func TestDecoderBytesAliasesFrame(t *testing.T) {
	t.Parallel()
	payload := cat(le32(2), []byte("ab"), le32(2), []byte("cd"))
	d := NewDecoder()
	d.Next(Frame{Kind: KindBatch, Payload: payload})
	if d.Len() != len(payload) {
		t.Fatalf("Len = %d, want %d", d.Len(), len(payload))
	}
	first, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if cap(first) != len(first) {
		t.Errorf("Bytes returned cap %d > len %d: an append would write over the frame", cap(first), len(first))
	}
	_ = append(first, "XXXXXX"...)
	second, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if string(first) != "ab" || string(second) != "cd" || d.Len() != 0 {
		t.Errorf("read %q, %q with %d bytes left; want \"ab\", \"cd\", 0", first, second, d.Len())
	}
}

// TestGobStreamAcrossFrames shows the gob stream is one per connection: a type described in
// one frame decodes in the next, which does not describe it again, also after Reset.
func TestGobStreamAcrossFrames(t *testing.T) {
	t.Parallel()
	values := []labelled{
		{"first", []string{"a"}, point{1, 2}},
		{"second", []string{"b", "c"}, point{3, 4}},
		{"after reset", []string{"d"}, point{5, 6}},
	}
	e := NewEncoder()
	var frames []Frame
	for i, v := range values {
		e.Begin(KindOutputs, 0, uint64(i))
		if err := e.Value(v); err != nil {
			t.Fatal(err)
		}
		if err := e.End(); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			frames = append(frames, readFrames(t, e.pending())...)
			e.Reset()
		}
	}
	frames = append(frames, readFrames(t, e.pending())...)

	if a, b := len(frames[0].Payload), len(frames[1].Payload); b >= a {
		t.Errorf("the second frame (%d bytes) is not smaller than the first (%d): types sent twice?", b, a)
	}
	d := NewDecoder()
	for i, f := range frames {
		d.Next(f)
		var got labelled
		if err := d.Value(&got); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !reflect.DeepEqual(got, values[i]) {
			t.Errorf("frame %d: got %+v, want %+v", i, got, values[i])
		}
	}
	fresh := NewDecoder()
	fresh.Next(frames[1])
	var got labelled
	if err := fresh.Value(&got); !errors.Is(err, ErrProtocol) {
		t.Errorf("the second frame alone decoded (%v): it should need the first's type description", err)
	}
}

// TestGobStreamRestartsAfterLargeMessage checks that after a gob message over gobKeepMax both
// ends start a new gob stream at the same byte, so that neither keeps the large message's
// buffer: values before, between and after large ones, in one frame and across frames, decode;
// and the Decoder and Encoder that held the large message become garbage.
func TestGobStreamRestartsAfterLargeMessage(t *testing.T) {
	t.Parallel()
	large := labelled{Name: strings.Repeat("x", gobKeepMax+1), Tags: []string{"large"}}
	values := [][]labelled{
		{{"small", []string{"a"}, point{1, 2}}, large, {"same frame", nil, point{3, 4}}},
		{large},
		{{"next frame", []string{"b"}, point{5, 6}}},
	}
	e := NewEncoder()
	encGob := weak.Make(e.gob)
	for i, frame := range values {
		e.Begin(KindOutputs, 0, uint64(i))
		for _, v := range frame {
			if err := e.Value(v); err != nil {
				t.Fatal(err)
			}
		}
		if err := e.End(); err != nil {
			t.Fatal(err)
		}
	}
	frames := readFrames(t, e.pending())
	d := NewDecoder()
	decGob := weak.Make(d.gob)
	for i, f := range frames {
		d.Next(f)
		for j, want := range values[i] {
			var got labelled
			if err := d.Value(&got); err != nil {
				t.Fatalf("frame %d, value %d: %v", i, j, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("frame %d, value %d: got %.40q, want %.40q", i, j, got.Name, want.Name)
			}
		}
	}
	runtime.GC()
	if encGob.Value() != nil || decGob.Value() != nil {
		t.Errorf("a gob encoder or decoder that carried a large message is still reachable (encoder %v, decoder %v)",
			encGob.Value() != nil, decGob.Value() != nil)
	}
	runtime.KeepAlive(e) // the ends themselves live on, as they do on a connection
	runtime.KeepAlive(d)
}

// readFrames reads every frame of b, which must be well formed.
func readFrames(t testing.TB, b []byte) []Frame {
	t.Helper()
	fs, err := readAll(NewReader(bytes.NewReader(b), 0))
	if err != io.EOF {
		t.Fatalf("reading frames: %v", err)
	}
	return fs
}

// TestEncodeErrorRestartsStream checks the mechanism that keeps the gob stream in step: a value
// that fails to encode drops its frame, whose bytes may have held type descriptions gob now
// counts as sent; the next frame carries FlagRestart and decodes on a Decoder that got the
// frames before.
func TestEncodeErrorRestartsStream(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		bad     any
		wantErr error // matched with errors.Is if not nil
	}{
		{"interface holding an unregistered type", holder{unregistered{1}}, nil},
		{"GobEncode fails", refusing{1}, errRefused},
		{"GobEncode fails inside a struct", struct{ R refusing }{refusing{2}}, errRefused},
		{"GobEncode panics", exploding{3}, nil},
		{"channel", make(chan int), nil},
		{"func", func() {}, nil},
		{"nil", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := NewEncoder()
			e.Begin(KindOutputs, 0, 1)
			if err := e.Value(point{1, 2}); err != nil {
				t.Fatal(err)
			}
			if err := e.End(); err != nil {
				t.Fatal(err)
			}
			before := bytes.Clone(e.pending())

			e.Begin(KindOutputs, FlagLast, 2)
			e.Uint32(7)
			if err := e.Value(labelled{"dropped", []string{"x"}, point{0, 0}}); err != nil {
				t.Fatal(err)
			}
			err := e.Value(tt.bad)
			if err == nil {
				t.Fatalf("Value(%T) succeeded", tt.bad)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Value(%T) = %v, want an error wrapping %v", tt.bad, err, tt.wantErr)
			}
			if !bytes.Equal(e.pending(), before) {
				t.Fatalf("the failed frame was not dropped: %d bytes pending, want %d", len(e.pending()), len(before))
			}

			e.Begin(KindOutputs, FlagLast, 3)
			wantL, wantP := labelled{"kept", []string{"y"}, point{3, 4}}, point{5, 6}
			if err := e.Value(wantL); err != nil {
				t.Fatal(err)
			}
			if err := e.Value(wantP); err != nil {
				t.Fatal(err)
			}
			if err := e.End(); err != nil {
				t.Fatal(err)
			}
			e.Begin(KindOutputs, 0, 4)
			if err := e.Value(point{7, 8}); err != nil {
				t.Fatal(err)
			}
			if err := e.End(); err != nil {
				t.Fatal(err)
			}

			fs := readFrames(t, e.pending())
			if len(fs) != 3 {
				t.Fatalf("%d frames, want 3", len(fs))
			}
			if fs[1].ID != 3 || fs[1].Flags != FlagLast|FlagRestart {
				t.Errorf("frame after the error: id %d flags %#x, want id 3 flags %#x",
					fs[1].ID, fs[1].Flags, FlagLast|FlagRestart)
			}
			if fs[2].Flags != 0 {
				t.Errorf("second frame after the error: flags %#x, want 0", fs[2].Flags)
			}

			d := NewDecoder()
			var p point
			var l labelled
			d.Next(fs[0])
			if err := d.Value(&p); err != nil || p != (point{1, 2}) {
				t.Fatalf("frame 1: %+v, %v", p, err)
			}
			d.Next(fs[1])
			if err := d.Value(&l); err != nil || !reflect.DeepEqual(l, wantL) {
				t.Fatalf("frame 3: %+v, %v; want %+v", l, err, wantL)
			}
			if err := d.Value(&p); err != nil || p != wantP {
				t.Fatalf("frame 3: %+v, %v; want %+v", p, err, wantP)
			}
			d.Next(fs[2])
			if err := d.Value(&p); err != nil || p != (point{7, 8}) {
				t.Fatalf("frame 4: %+v, %v", p, err)
			}

			// Without the flag the old decoder hears point described a second time.
			old := NewDecoder()
			old.Next(fs[0])
			if err := old.Value(&p); err != nil {
				t.Fatal(err)
			}
			unflagged := fs[1]
			unflagged.Flags &^= FlagRestart
			old.Next(unflagged)
			err1, err2 := old.Value(&l), old.Value(&p)
			if err1 == nil && err2 == nil {
				t.Error("the frame after the error decoded without FlagRestart: the test shows nothing")
			}
		})
	}
}

// TestAbortKeepsStreamInStep drops frames after they took gob values. Gob counts the types
// those values described as sent, so a dropped frame must restart the stream just as a failed
// Value does. Encoder.End drops a frame over MaxFrame with Abort, so it shares the bug.
func TestAbortKeepsStreamInStep(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		drop func(t *testing.T, e *Encoder) // opens a frame and drops it
	}{
		{"Abort after a value", func(t *testing.T, e *Encoder) {
			e.Begin(KindBatch, 0, 2)
			if err := e.Value(labelled{"dropped", []string{"x"}, point{9, 9}}); err != nil {
				t.Fatal(err)
			}
			e.Abort()
		}},
		{"End over MaxFrame after a value", func(t *testing.T, e *Encoder) {
			e.Begin(KindBatch, 0, 2)
			if err := e.Value(labelled{"dropped", []string{"x"}, point{9, 9}}); err != nil {
				t.Fatal(err)
			}
			// Grow the open frame past MaxFrame without touching a GiB of memory: a fresh large
			// allocation is zero pages until written.
			big := make([]byte, len(e.buf), len(e.buf)+MaxFrame+1)
			copy(big, e.buf)
			e.buf = big[:cap(big)]
			if err := e.End(); err == nil {
				t.Fatal("End accepted a frame over MaxFrame")
			}
		}},
		{"Abort of the frame that restarts the stream", func(t *testing.T, e *Encoder) {
			e.Begin(KindBatch, 0, 2)
			if err := e.Value(holder{unregistered{1}}); err == nil {
				t.Fatal("Value of an unregistered type succeeded")
			}
			e.Begin(KindBatch, 0, 3) // carries FlagRestart, and is dropped
			if err := e.Value(labelled{"dropped", []string{"x"}, point{9, 9}}); err != nil {
				t.Fatal(err)
			}
			e.Abort()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := NewEncoder()
			e.Begin(KindBatch, 0, 1)
			if err := e.Value(point{1, 2}); err != nil {
				t.Fatal(err)
			}
			if err := e.End(); err != nil {
				t.Fatal(err)
			}
			tt.drop(t, e)
			want := labelled{"sent", []string{"y"}, point{3, 4}}
			e.Begin(KindBatch, 0, 4)
			if err := e.Value(want); err != nil {
				t.Fatal(err)
			}
			if err := e.End(); err != nil {
				t.Fatal(err)
			}
			fs := readFrames(t, e.pending())
			e.Reset()
			if len(fs) != 2 {
				t.Fatalf("%d frames, want 2", len(fs))
			}
			d := NewDecoder()
			d.Next(fs[0])
			var p point
			if err := d.Value(&p); err != nil {
				t.Fatal(err)
			}
			d.Next(fs[1])
			var got labelled
			if err := d.Value(&got); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("the frame after the dropped one: %+v, %v; want %+v (flags %#x)", got, err, want, fs[1].Flags)
			}
		})
	}
}

// TestSkipLearnsTypes skips values whose types the stream describes; later values of those
// types decode.
func TestSkipLearnsTypes(t *testing.T) {
	t.Parallel()
	want := []any{labelled{"b", []string{"y"}, point{3, 4}}, point{5, 6}, holder{point{7, 8}}}
	b := frameBytes(t, func(e *Encoder) error {
		e.Begin(KindOutputs, 0, 1)
		for _, v := range []any{labelled{"a", []string{"x"}, point{1, 2}}, point{1, 2}, holder{point{0, 1}}} {
			if err := e.Value(v); err != nil {
				return err
			}
		}
		if err := e.End(); err != nil {
			return err
		}
		e.Begin(KindOutputs, 0, 2)
		for _, v := range want {
			if err := e.Value(v); err != nil {
				return err
			}
		}
		return e.End()
	})
	fs := readFrames(t, b)
	d := NewDecoder()
	d.Next(fs[0])
	for i := range 3 {
		if err := d.Skip(); err != nil {
			t.Fatalf("Skip %d: %v", i, err)
		}
	}
	if d.Len() != 0 {
		t.Fatalf("%d bytes left after skipping every value", d.Len())
	}
	if err := d.Skip(); !errors.Is(err, ErrProtocol) {
		t.Errorf("Skip past the last value: %v, want an error wrapping ErrProtocol", err)
	}
	d.Next(fs[1])
	for i, w := range want {
		p := reflect.New(reflect.TypeOf(w))
		if err := d.Value(p.Interface()); err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		if got := p.Elem().Interface(); !reflect.DeepEqual(got, w) {
			t.Errorf("value %d = %+v, want %+v", i, got, w)
		}
	}
}

// garbageTargets are what the garbage tests decode into; nil is Skip.
func garbageTargets() []any {
	return []any{nil, new(int), new(string), new([]byte), new(point), new(labelled), new([]labelled),
		new(map[string]int), new(holder), new(any), new(Error)}
}

// TestDecoderValueGarbage feeds Value malformed bytes: it returns nil or an error wrapping
// ErrProtocol, and never panics.
func TestDecoderValueGarbage(t *testing.T) {
	t.Parallel()
	valid := readFrames(t, frameBytes(t, func(e *Encoder) error {
		e.Begin(KindOutputs, 0, 1)
		if err := e.Value([]labelled{{"a", []string{"x", "y"}, point{1, -2}}}); err != nil {
			return err
		}
		if err := e.Value(holder{labelled{"b", nil, point{3, 4}}}); err != nil {
			return err
		}
		return e.End()
	}))[0].Payload

	var payloads [][]byte
	payloads = append(payloads, nil, []byte{0}, []byte{0x80}, []byte{0xff},
		[]byte{0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, // a count of 2^64-1
		[]byte{0xf7, 1, 2, 3}, // a count of nine bytes
		gobCount(1<<33),       // a count at gob's limit on 64 bits
		[]byte{3, 0xff, 0xff, 0xff},
	)
	for c := range 256 {
		payloads = append(payloads, []byte{byte(c)}, []byte{2, byte(c), 0})
	}
	for n := range len(valid) {
		payloads = append(payloads, valid[:n])
	}
	for i := range valid {
		flipped := bytes.Clone(valid)
		flipped[i] ^= 0xff
		payloads = append(payloads, flipped)
		bumped := bytes.Clone(valid)
		bumped[i]++
		payloads = append(payloads, bumped)
	}
	rng := rand.New(rand.NewChaCha8([32]byte{2}))
	for range 500 {
		p := make([]byte, rng.IntN(64))
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		payloads = append(payloads, p)
	}

	for i, p := range payloads {
		for _, target := range garbageTargets() {
			d := NewDecoder()
			d.Next(Frame{Kind: KindOutputs, Payload: p})
			for n := 0; n < 4; n++ {
				err := d.Value(target)
				if err != nil {
					if !errors.Is(err, ErrProtocol) {
						t.Errorf("payload %d %x into %T: %v, want an error wrapping ErrProtocol", i, p, target, err)
					}
					break
				}
			}
		}
	}
	// Every cut of the valid payload short of its end fails.
	for n := range len(valid) {
		d := NewDecoder()
		d.Next(Frame{Kind: KindOutputs, Payload: valid[:n]})
		var ls []labelled
		var h holder
		err := d.Value(&ls)
		if err == nil {
			err = d.Value(&h)
		}
		if !errors.Is(err, ErrProtocol) {
			t.Errorf("the valid payload cut at %d of %d: %v, want an error wrapping ErrProtocol", n, len(valid), err)
		}
	}
}

// TestDecoderValueAllocation sends a value whose gob count claims more than its frame holds.
// Value's doc says gob's checks bound what it allocates by the frame's size; gob allocates a
// message's buffer, up to 10 MiB, from the count before reading it. The test measures the
// process's allocations, so it does not run in parallel.
func TestDecoderValueAllocation(t *testing.T) {
	tests := []struct {
		name  string
		count uint64
	}{
		{"1 MiB", 1 << 20},
		{"10 MiB - 1", 10<<20 - 1},
		{"100 MiB", 100 << 20},
		{"4 GiB", 4 << 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := append(gobCount(tt.count), 1, 2, 3)
			for _, target := range []any{new(int), nil} {
				d := NewDecoder()
				d.Next(Frame{Kind: KindOutputs, Payload: payload})
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				err := d.Value(target)
				runtime.ReadMemStats(&after)
				if !errors.Is(err, ErrProtocol) {
					t.Errorf("Value(%T): %v, want an error wrapping ErrProtocol", target, err)
				}
				if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
					t.Errorf("Value(%T) allocated %d bytes for a %d-byte frame", target, n, len(payload))
				}
			}
		})
	}
}

// gobCount encodes v as gob encodes an unsigned integer: one byte under 128, else the negated
// number of big-endian bytes that follow.
func gobCount(v uint64) []byte {
	if v < 0x80 {
		return []byte{byte(v)}
	}
	var be []byte
	for ; v > 0; v >>= 8 {
		be = append([]byte{byte(v)}, be...)
	}
	return append([]byte{byte(-len(be))}, be...)
}
