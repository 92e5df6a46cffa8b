package wire

import (
	"bytes"
	"errors"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestHelloRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []Hello{
		{},
		{Version: Version, Pid: 4242, Identity: "sha256:0123456789abcdef"},
		{Version: math.MaxUint32, Pid: math.MaxUint32, Identity: "héllo, 世界"},
		{Version: Version, Pid: 1, Identity: strings.Repeat("x", 70000)},
		{Version: Version, Pid: 9, Identity: "id", Token: 0xc000012345, TokenValue: math.MaxUint64},
	}
	for _, want := range tests {
		e := NewEncoder()
		if err := EncodeHello(e, want); err != nil {
			t.Fatal(err)
		}
		f := readOne(t, e.pending())
		if f.Kind != KindHello || f.Flags != 0 || f.ID != 0 {
			t.Errorf("hello frame header %v/%#x/%d, want hello/0/0", f.Kind, f.Flags, f.ID)
		}
		got, err := DecodeHello(NewDecoder(), f)
		if err != nil || got != want {
			t.Errorf("DecodeHello = %+v, %v; want %+v", got, err, want)
		}
	}
}

func TestDecodeHelloErrors(t *testing.T) {
	t.Parallel()
	e := NewEncoder()
	if err := EncodeHello(e, Hello{Version: Version, Pid: 7, Identity: "id"}); err != nil {
		t.Fatal(err)
	}
	f := readOne(t, e.pending())
	for _, kind := range []Kind{KindBatch, KindCancel, KindExit, KindOutputs, KindFailure, 0, 200} {
		wrong := f
		wrong.Kind = kind
		if _, err := DecodeHello(NewDecoder(), wrong); !errors.Is(err, ErrProtocol) {
			t.Errorf("DecodeHello of a %v frame: %v, want an error wrapping ErrProtocol", kind, err)
		}
	}
	for n := range len(f.Payload) {
		short := f
		short.Payload = f.Payload[:n]
		if _, err := DecodeHello(NewDecoder(), short); !errors.Is(err, ErrProtocol) {
			t.Errorf("DecodeHello of %d of %d bytes: %v, want an error wrapping ErrProtocol", n, len(f.Payload), err)
		}
	}
}

func TestBatchHeaderRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id uint64
		h  BatchHeader
	}{
		{0, BatchHeader{}},
		{1, BatchHeader{Func: "main.square", Count: 64, Timeout: 5e9, Attempt: 1}},
		{math.MaxUint64, BatchHeader{Func: "pkg.(*T).Method-fm", Count: math.MaxUint32,
			Timeout: math.MinInt64, Attempt: math.MaxUint32}},
		{7, BatchHeader{Func: "f", Count: 1, Timeout: -1, Attempt: 2}},
	}
	for _, tt := range tests {
		inputs := []point{{1, 2}, {3, 4}}
		e := NewEncoder()
		EncodeBatchHeader(e, tt.id, tt.h)
		if err := e.Value(inputs); err != nil {
			t.Fatal(err)
		}
		if err := e.End(); err != nil {
			t.Fatal(err)
		}
		f := readOne(t, e.pending())
		if f.Kind != KindBatch || f.Flags != 0 || f.ID != tt.id {
			t.Errorf("batch frame header %v/%#x/%d, want batch/0/%d", f.Kind, f.Flags, f.ID, tt.id)
		}
		d := NewDecoder()
		d.Next(f)
		got, err := DecodeBatchHeader(d)
		if err != nil || got != tt.h {
			t.Errorf("DecodeBatchHeader = %+v, %v; want %+v", got, err, tt.h)
		}
		var gotInputs []point
		if err := d.Value(&gotInputs); err != nil || !reflect.DeepEqual(gotInputs, inputs) {
			t.Errorf("inputs after the header = %v, %v; want %v", gotInputs, err, inputs)
		}
	}
}

func TestDecodeBatchHeaderShort(t *testing.T) {
	t.Parallel()
	e := NewEncoder()
	EncodeBatchHeader(e, 3, BatchHeader{Func: "main.f", Count: 2, Timeout: 1, Attempt: 1})
	if err := e.End(); err != nil {
		t.Fatal(err)
	}
	f := readOne(t, e.pending())
	for n := range len(f.Payload) {
		d := NewDecoder()
		d.Next(Frame{Kind: KindBatch, ID: 3, Payload: f.Payload[:n]})
		if _, err := DecodeBatchHeader(d); !errors.Is(err, ErrProtocol) {
			t.Errorf("DecodeBatchHeader of %d of %d bytes: %v, want an error wrapping ErrProtocol",
				n, len(f.Payload), err)
		}
	}
}

// TestErrorValue sends the failure of a task as it crosses the process boundary.
func TestErrorValue(t *testing.T) {
	t.Parallel()
	tests := []Error{
		{Type: "*fs.PathError", Message: "open x: no such file", Sentinels: []string{"fs.ErrNotExist"}},
		{Type: "string", Message: "boom", Panic: true, Stack: "goroutine 7 [running]:\nmain.f()"},
		{},
	}
	e := NewEncoder()
	for i, want := range tests {
		e.Begin(KindFailure, 0, uint64(i))
		e.Uint32(uint32(i))
		if err := e.Value(&want); err != nil {
			t.Fatal(err)
		}
		if err := e.End(); err != nil {
			t.Fatal(err)
		}
	}
	d := NewDecoder()
	for i, f := range readFrames(t, e.pending()) {
		d.Next(f)
		item, err := d.Uint32()
		if err != nil || item != uint32(i) {
			t.Fatalf("frame %d: item %d, %v", i, item, err)
		}
		var got Error
		if err := d.Value(&got); err != nil || !reflect.DeepEqual(got, tests[i]) {
			t.Errorf("frame %d: %+v, %v; want %+v", i, got, err, tests[i])
		}
	}
}

// Cancel, Exit, Outputs and Failure frames read back as written, byte for byte as the
// package doc lays them out.
func TestControlAndResultFrames(t *testing.T) {
	werr := Error{Type: "*errors.errorString", Message: "boom", Panic: true, Stack: "main.f()"}
	b := frameBytes(t, func(e *Encoder) error {
		EncodeCancel(e, 7)
		EncodeExit(e)
		BeginOutputs(e, 9, FlagLast, 2, 2)
		if err := e.End(); err != nil {
			return err
		}
		return EncodeFailure(e, 9, 3, werr)
	})
	want := cat(goodFrame(KindCancel, 0, 7, nil), goodFrame(KindExit, 0, 0, nil),
		goodFrame(KindOutputs, FlagLast, 9, cat(le32(2), le32(2))))
	if !bytes.HasPrefix(b, want) {
		t.Fatalf("frames\n%x\nwant them to start\n%x", b, want)
	}
	frames, err := readAll(NewReader(bytes.NewReader(b), 0))
	if err != io.EOF || len(frames) != 4 {
		t.Fatalf("%d frames, %v", len(frames), err)
	}
	d := NewDecoder()
	d.Next(frames[2])
	if lo, hi, err := DecodeOutputsRange(d); lo != 2 || hi != 2 || err != nil {
		t.Errorf("DecodeOutputsRange = %d, %d, %v", lo, hi, err)
	}
	d.Next(frames[3])
	if item, got, err := DecodeFailure(d); item != 3 || !reflect.DeepEqual(got, werr) || err != nil {
		t.Errorf("DecodeFailure = %d, %+v, %v", item, got, err)
	}
	d.Next(Frame{Kind: KindOutputs, Payload: cat(le32(5), le32(4))})
	if _, _, err := DecodeOutputsRange(d); !errors.Is(err, ErrProtocol) {
		t.Errorf("outputs 5..4: %v, want ErrProtocol", err)
	}
}
