package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"testing"
	"testing/iotest"
)

// gobValue is a field written with Encoder.Value and read with Decoder.Value.
type gobValue struct{ v any }

// frameCase is one frame: its header and the fields of its payload, each a uint32, uint64,
// string, []byte or gobValue.
type frameCase struct {
	name   string
	kind   Kind
	flags  uint8
	id     uint64
	fields []any
}

var frameCases = []frameCase{
	{name: "hello", kind: KindHello, fields: []any{uint32(Version), uint32(4242), "binary-identity"}},
	{name: "batch", kind: KindBatch, id: 7, fields: []any{"main.square", uint32(3), uint64(5e9), uint32(1),
		gobValue{[]int{1, 2, 3}}}},
	{name: "cancel", kind: KindCancel, id: math.MaxUint64},
	{name: "exit", kind: KindExit},
	{name: "outputs", kind: KindOutputs, id: 7, fields: []any{uint32(0), uint32(3), gobValue{[]int{1, 4, 9}}}},
	{name: "outputs last", kind: KindOutputs, flags: FlagLast, id: 8, fields: []any{uint32(3), uint32(3)}},
	{name: "failure", kind: KindFailure, id: 9, fields: []any{uint32(2),
		gobValue{Error{Type: "*errors.errorString", Message: "boom", Sentinels: []string{"io.EOF"},
			Panic: true, Stack: "goroutine 1"}}}},
	{name: "every plain field", kind: KindBatch, id: 1 << 40, fields: []any{
		uint32(0), uint32(math.MaxUint32), uint64(0), uint64(math.MaxUint64),
		"", "héllo, 世界", string([]byte{0, 0xff, '\n'}),
		[]byte(nil), []byte{0}, bytes.Repeat([]byte{0xa5}, 1000)}},
	{name: "gob values", kind: KindOutputs, id: 13, fields: []any{
		gobValue{point{-1, 1}}, gobValue{labelled{"a", []string{"x", "y"}, point{3, 4}}},
		gobValue{"text"}, gobValue{int64(math.MinInt64)}, gobValue{[]byte{1, 2, 3}},
		gobValue{map[string]int{"one": 1}}, gobValue{holder{point{5, 6}}}, gobValue{point{7, 8}}}},
	// FlagRestart given to Begin by hand makes the receiver start its gob stream anew while the
	// sender's goes on: these frames come last. (The Encoder's own restarts are tested in
	// codec_test.go.)
	{name: "restart", kind: KindOutputs, flags: FlagRestart, id: 10, fields: []any{uint32(0), uint32(1)}},
	{name: "restart and last", kind: KindOutputs, flags: FlagRestart | FlagLast, id: 11},
	{name: "unknown flags are carried", kind: KindCancel, flags: 0xf0, id: 12},
}

// encode appends c's frame to e.
func (c frameCase) encode(e *Encoder) error {
	e.Begin(c.kind, c.flags, c.id)
	for _, f := range c.fields {
		switch f := f.(type) {
		case uint32:
			e.Uint32(f)
		case uint64:
			e.Uint64(f)
		case string:
			e.String(f)
		case []byte:
			e.Bytes(f)
		case gobValue:
			if err := e.Value(f.v); err != nil {
				return fmt.Errorf("%s: Value(%T): %v", c.name, f.v, err)
			}
		default:
			panic(fmt.Sprintf("frameCase %s: field of type %T", c.name, f))
		}
	}
	return e.End()
}

// plainPayload is the payload c's frame must have if it holds no gob values, built without
// the Encoder; ok is false if it holds some.
func (c frameCase) plainPayload() (payload []byte, ok bool) {
	payload = []byte{}
	for _, f := range c.fields {
		switch f := f.(type) {
		case uint32:
			payload = append(payload, le32(f)...)
		case uint64:
			payload = append(payload, le64(f)...)
		case string:
			payload = append(append(payload, le32(uint32(len(f)))...), f...)
		case []byte:
			payload = append(append(payload, le32(uint32(len(f)))...), f...)
		default:
			return nil, false
		}
	}
	return payload, true
}

// check reads f, read from c's frame, with d and compares it to c.
func (c frameCase) check(t *testing.T, d *Decoder, f Frame) {
	t.Helper()
	if f.Kind != c.kind || f.Flags != c.flags || f.ID != c.id {
		t.Errorf("%s: header %v/%#x/%d, want %v/%#x/%d", c.name, f.Kind, f.Flags, f.ID, c.kind, c.flags, c.id)
	}
	if want, ok := c.plainPayload(); ok && !bytes.Equal(f.Payload, want) {
		t.Errorf("%s: payload\n%x, want\n%x", c.name, f.Payload, want)
	}
	d.Next(f)
	for i, field := range c.fields {
		var got, want any = nil, field
		var err error
		switch field := field.(type) {
		case uint32:
			got, err = d.Uint32()
		case uint64:
			got, err = d.Uint64()
		case string:
			got, err = d.String()
		case []byte:
			var b []byte
			b, err = d.Bytes()
			got, want = string(b), string(field)
		case gobValue:
			p := reflect.New(reflect.TypeOf(field.v))
			err = d.Value(p.Interface())
			got, want = p.Elem().Interface(), field.v
		}
		if err != nil {
			t.Errorf("%s: field %d (%T): %v", c.name, i, field, err)
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: field %d = %#v, want %#v", c.name, i, got, want)
		}
	}
	if d.Len() != 0 {
		t.Errorf("%s: %d bytes left after the last field", c.name, d.Len())
	}
}

func TestReaderRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range frameCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := frameBytes(t, c.encode)
			c.check(t, NewDecoder(), readOne(t, b))
		})
	}
}

// TestReaderSeveralFrames reads every case from one buffer, through readers that return
// bytes in odd amounts, with one Decoder: the gob stream runs across the frames.
func TestReaderSeveralFrames(t *testing.T) {
	t.Parallel()
	all := frameBytes(t, func(e *Encoder) error {
		for _, c := range frameCases {
			if err := c.encode(e); err != nil {
				return err
			}
		}
		return nil
	})
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
	}
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(rd.wrap(bytes.NewReader(all)), 0)
			d := NewDecoder()
			for _, c := range frameCases {
				f, err := r.Read()
				if err != nil {
					t.Fatalf("reading %s: %v", c.name, err)
				}
				c.check(t, d, f)
			}
			for range 2 {
				if _, err := r.Read(); err != io.EOF {
					t.Fatalf("Read after the last frame: got %v, want io.EOF", err)
				}
			}
		})
	}
}

func TestAppendHeaderFinishFrame(t *testing.T) {
	t.Parallel()
	b := []byte("prefix")
	start := len(b)
	b = AppendHeader(b, KindOutputs, FlagLast, 0x0102030405060708)
	b = append(b, "payload"...)
	if err := FinishFrame(b, start); err != nil {
		t.Fatal(err)
	}
	want := cat([]byte("prefix"), le32(headerSize+7), []byte{byte(KindOutputs), FlagLast},
		[]byte{8, 7, 6, 5, 4, 3, 2, 1}, []byte("payload"))
	if !bytes.Equal(b, want) {
		t.Fatalf("frame\n%x, want\n%x", b, want)
	}
}

func TestFinishFrameOverMaxFrame(t *testing.T) {
	t.Parallel()
	// A fresh large allocation is zero pages the test never touches: it costs address
	// space, not memory.
	b := make([]byte, 4+MaxFrame+1)
	if err := FinishFrame(b, 0); err == nil {
		t.Fatal("FinishFrame accepted a frame over MaxFrame")
	}
	if err := FinishFrame(b[:4+MaxFrame], 0); err != nil {
		t.Fatalf("FinishFrame of a frame of exactly MaxFrame: %v", err)
	}
}

func TestKindString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		k    Kind
		want string
	}{
		{0, "?"}, {KindHello, "hello"}, {KindBatch, "batch"}, {KindCancel, "cancel"},
		{KindExit, "exit"}, {KindOutputs, "outputs"}, {KindFailure, "failure"},
		{kindEnd, "kind(7)"}, {255, "kind(255)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(tt.k), got, tt.want)
		}
	}
}

func TestEncoderPendingAbortReset(t *testing.T) {
	t.Parallel()
	e := NewEncoder()
	if n := len(e.pending()); n != 0 {
		t.Fatalf("a new Encoder has %d bytes pending", n)
	}
	e.Begin(KindCancel, 0, 1)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	first := bytes.Clone(e.pending())
	if want := goodFrame(KindCancel, 0, 1, nil); !bytes.Equal(first, want) {
		t.Fatalf("Pending = %x, want %x", first, want)
	}

	e.Begin(KindOutputs, 0, 2)
	e.Uint32(1)
	e.String("dropped")
	e.Abort()
	if !bytes.Equal(e.pending(), first) {
		t.Fatalf("after Abort Pending = %x, want the frames before it, %x", e.pending(), first)
	}

	e.Begin(KindExit, 0, 3)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	if want := cat(first, goodFrame(KindExit, 0, 3, nil)); !bytes.Equal(e.pending(), want) {
		t.Fatalf("Pending = %x, want %x", e.pending(), want)
	}

	capBefore := cap(e.buf)
	e.Reset()
	if n := len(e.pending()); n != 0 {
		t.Fatalf("after Reset %d bytes are pending", n)
	}
	if c := cap(e.buf); c != capBefore {
		t.Errorf("Reset of a small buffer: capacity %d, want it kept (%d)", c, capBefore)
	}
	e.Begin(KindCancel, 0, 4)
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	if want := goodFrame(KindCancel, 0, 4, nil); !bytes.Equal(e.pending(), want) {
		t.Fatalf("after Reset Pending = %x, want %x", e.pending(), want)
	}

	e.Begin(KindOutputs, 0, 5)
	e.Bytes(make([]byte, 5<<20))
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	e.Reset()
	if c := cap(e.buf); c > 4<<20 {
		t.Errorf("Reset after a 5 MiB frame kept a buffer of %d bytes", c)
	}
}

// TestReaderMalformed covers each way a stream can go wrong: the frames before the fault are
// read, then the fault's error.
func TestReaderMalformed(t *testing.T) {
	t.Parallel()
	good := goodFrame(KindOutputs, FlagLast, 1, []byte("ok"))
	type malformed struct {
		name       string
		max        int
		in         []byte
		wantFrames int
		wantErr    error // io.EOF, io.ErrUnexpectedEOF or ErrProtocol
	}
	tests := []malformed{
		{"empty stream", 0, nil, 0, io.EOF},
		{"clean end between frames", 0, cat(good, good), 2, io.EOF},
		{"empty payload", 0, rawFrame(headerSize, KindExit, 0, 0, nil), 1, io.EOF},
		{"one byte", 0, []byte{14}, 0, io.ErrUnexpectedEOF},
		{"header cut short", 0, good[:4+headerSize-1], 0, io.ErrUnexpectedEOF},
		{"payload cut short", 0, good[:len(good)-1], 0, io.ErrUnexpectedEOF},
		{"second frame cut short", 0, cat(good, good[:7]), 1, io.ErrUnexpectedEOF},
		{"length at max", 64, rawFrame(64, KindBatch, 0, 0, make([]byte, 64-headerSize)), 1, io.EOF},
		{"length over max", 64, rawFrame(65, KindBatch, 0, 0, make([]byte, 65-headerSize)), 0, ErrProtocol},
		{"length over max after a good frame", 64, cat(good, rawFrame(1000, KindBatch, 0, 0, nil)), 1, ErrProtocol},
		{"length over MaxFrame, max 0", 0, rawFrame(MaxFrame+1, KindBatch, 0, 0, nil), 0, ErrProtocol},
		{"length over MaxFrame, max -1", -1, rawFrame(MaxFrame+1, KindBatch, 0, 0, nil), 0, ErrProtocol},
		{"length 2^32-1", 0, rawFrame(math.MaxUint32, KindBatch, 0, 0, nil), 0, ErrProtocol},
		{"kind 0", 0, goodFrame(0, 0, 0, nil), 0, ErrProtocol},
		{"kind one past the last", 0, goodFrame(kindEnd, 0, 0, nil), 0, ErrProtocol},
		{"kind 255", 0, goodFrame(255, 0, 0, nil), 0, ErrProtocol},
		{"unknown kind after a good frame", 0, cat(good, goodFrame(200, 0, 0, nil)), 1, ErrProtocol},
		{"bad length and bad kind", 0, rawFrame(3, 0, 0, 0, nil), 0, ErrProtocol},
	}
	for n := range uint32(headerSize) {
		tests = append(tests, malformed{fmt.Sprintf("length %d under the header", n), 0,
			rawFrame(n, KindExit, 0, 0, make([]byte, 16)), 0, ErrProtocol})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs, err := readAll(NewReader(bytes.NewReader(tt.in), tt.max))
			if len(fs) != tt.wantFrames {
				t.Errorf("read %d frames, want %d", len(fs), tt.wantFrames)
			}
			switch tt.wantErr {
			case ErrProtocol:
				if !errors.Is(err, ErrProtocol) {
					t.Errorf("error %v, want one wrapping ErrProtocol", err)
				}
			default:
				if err != tt.wantErr {
					t.Errorf("error %v, want %v", err, tt.wantErr)
				}
			}
		})
	}
}

// TestReaderTruncatedAnywhere cuts a stream at every byte: the whole frames before the cut
// are read, then io.EOF if the cut falls between frames, else io.ErrUnexpectedEOF.
func TestReaderTruncatedAnywhere(t *testing.T) {
	t.Parallel()
	var stream []byte
	var ends []int // where each frame ends
	e := NewEncoder()
	for _, c := range frameCases {
		if err := c.encode(e); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, len(e.pending()))
	}
	stream = e.pending()
	for cut := 0; cut <= len(stream); cut++ {
		fs, err := readAll(NewReader(bytes.NewReader(stream[:cut]), 0))
		whole, atBoundary := 0, cut == 0
		for _, end := range ends {
			if end <= cut {
				whole++
			}
			atBoundary = atBoundary || end == cut
		}
		want := io.ErrUnexpectedEOF
		if atBoundary {
			want = io.EOF
		}
		if len(fs) != whole || err != want {
			t.Fatalf("cut at %d of %d: read %d frames and %v, want %d and %v",
				cut, len(stream), len(fs), err, whole, want)
		}
	}
}

// TestReaderLargePayloads reads payloads around and over the size the reader grows its buffer
// by, in an order that makes it both reuse and outgrow its buffer.
func TestReaderLargePayloads(t *testing.T) {
	t.Parallel()
	sizes := []int{1 << 20, 1<<20 + 1, 3<<20 + 5, 2 << 20, 5 << 20, 100, 2 << 20}
	if !testing.Short() {
		sizes = append(sizes, 64<<20+1, 3<<20) // over the size the reader keeps
	}
	rng := rand.NewChaCha8([32]byte{1})
	e := NewEncoder()
	var payloads [][]byte
	for i, n := range sizes {
		p := make([]byte, n)
		rng.Read(p)
		payloads = append(payloads, p)
		e.Begin(KindOutputs, 0, uint64(i))
		e.Bytes(p)
		if err := e.End(); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(bytes.NewReader(e.pending()), 0)
	for i, want := range payloads {
		f, err := r.Read()
		if err != nil {
			t.Fatalf("frame %d (%d bytes): %v", i, len(want), err)
		}
		if f.ID != uint64(i) || len(f.Payload) != 4+len(want) || !bytes.Equal(f.Payload[4:], want) {
			t.Fatalf("frame %d (%d bytes): id %d, payload of %d bytes differs", i, len(want), f.ID, len(f.Payload))
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Fatalf("Read after the last frame: %v, want io.EOF", err)
	}
}

// TestReaderLyingLength sends headers that claim far more than follows: the reader must fail
// with io.ErrUnexpectedEOF having allocated about what arrived, not what was claimed.
// It measures the process's allocations, so it does not run in parallel.
func TestReaderLyingLength(t *testing.T) {
	tests := []struct {
		name  string
		claim uint32
		sent  int
		limit uint64 // bytes the reader may allocate, bufio's 64 KiB included
	}{
		{"900 MiB claimed, 10 bytes sent", 900 << 20, 10, 4 << 20},
		{"MaxFrame claimed, 10 bytes sent", MaxFrame, 10, 4 << 20},
		{"1 MiB + 1 claimed, nothing sent", 1<<20 + 1, 0, 4 << 20},
		{"900 MiB claimed, 3 MiB sent", 900 << 20, 3 << 20, 16 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := rawFrame(tt.claim, KindOutputs, 0, 1, make([]byte, tt.sent))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := NewReader(bytes.NewReader(in), MaxFrame)
			_, err := r.Read()
			runtime.ReadMemStats(&after)
			if err != io.ErrUnexpectedEOF {
				t.Errorf("Read: %v, want io.ErrUnexpectedEOF", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > tt.limit {
				t.Errorf("Read allocated %d bytes for a frame claiming %d with %d sent; want at most %d",
					n, tt.claim, tt.sent, tt.limit)
			}
		})
	}
}

var errReadFailed = errors.New("read failed")

// TestReaderKeepsReadError gives the reader a connection that fails with its own error (as
// os.ErrClosed or a deadline would): Read must return that error, not pass it off as the
// peer's io.ErrUnexpectedEOF. The engine's reader loop relies on it: it tells a connection
// it closed itself (errors.Is(err, os.ErrClosed)) from a worker that sent bad data.
func TestReaderKeepsReadError(t *testing.T) {
	t.Parallel()
	good := goodFrame(KindOutputs, 0, 1, []byte("payload"))
	tests := []struct {
		name       string
		in         []byte
		wantFrames int
	}{
		{"before any frame", nil, 0},
		{"between frames", good, 1},
		{"in a header", good[:5], 0},
		{"in a payload", good[:len(good)-2], 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn := io.MultiReader(bytes.NewReader(tt.in), iotest.ErrReader(errReadFailed))
			fs, err := readAll(NewReader(conn, 0))
			if len(fs) != tt.wantFrames {
				t.Errorf("read %d frames, want %d", len(fs), tt.wantFrames)
			}
			if !errors.Is(err, errReadFailed) {
				t.Errorf("Read returned %v, want the connection's error %q", err, errReadFailed)
			}
		})
	}
}
