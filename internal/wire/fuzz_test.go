package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fuzzMax is the frame limit the fuzzed reader is given.
const fuzzMax = 1 << 20

// fuzzTargets are the types the fuzzers decode gob values into; nil is Skip.
var fuzzTargets = []reflect.Type{
	nil,
	reflect.TypeFor[int64](),
	reflect.TypeFor[string](),
	reflect.TypeFor[[]byte](),
	reflect.TypeFor[point](),
	reflect.TypeFor[labelled](),
	reflect.TypeFor[[]labelled](),
	reflect.TypeFor[map[string]int](),
	reflect.TypeFor[Error](),
	reflect.TypeFor[holder](),
	reflect.TypeFor[any](),
}

// Indexes of some fuzzTargets, for the seeds.
const (
	targetPoint    = 4
	targetLabelled = 5
	targetError    = 8
	targetHolder   = 9
)

// fuzzTarget returns a pointer to a fresh variable of the type k picks, or nil for Skip.
func fuzzTarget(k uint64) any {
	typ := fuzzTargets[k%uint64(len(fuzzTargets))]
	if typ == nil {
		return nil
	}
	return reflect.New(typ).Interface()
}

// FuzzReader reads frames from arbitrary bytes and decodes their payloads every way the
// package can: nothing may panic or hang, every error is io.EOF, io.ErrUnexpectedEOF or wraps
// ErrProtocol, and the frames read are exactly the bytes they came from.
func FuzzReader(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), fuzzMax)
		fields, values := NewDecoder(), NewDecoder()
		var again []byte // the frames read, encoded again
		var taken, copies [][]byte
		for {
			fr, err := r.Read()
			if err != nil {
				checkReadEnd(t, data[len(again):], err)
				for i, b := range taken {
					if !bytes.Equal(b, copies[i]) {
						t.Fatalf("a slice TakeBytes returned changed when later frames were read")
					}
				}
				return
			}
			if fr.Kind == 0 || fr.Kind >= kindEnd || headerSize+len(fr.Payload) > fuzzMax {
				t.Fatalf("Read returned a frame of kind %d with %d bytes of payload", fr.Kind, len(fr.Payload))
			}
			start := len(again)
			again = append(AppendHeader(again, fr.Kind, fr.Flags, fr.ID), fr.Payload...)
			if err := FinishFrame(again, start); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, again) {
				t.Fatalf("frame %v/%#x/%d encodes again as bytes that differ from the input", fr.Kind, fr.Flags, fr.ID)
			}
			for _, b := range fuzzFields(t, fields, fr) {
				taken, copies = append(taken, b), append(copies, bytes.Clone(b))
			}
			fuzzValues(t, values, fr)
		}
	})
}

// checkReadEnd checks the error that ended a stream against rest, the bytes after the last
// frame read.
func checkReadEnd(t *testing.T, rest []byte, err error) {
	t.Helper()
	switch {
	case err == io.EOF:
		if len(rest) != 0 {
			t.Fatalf("io.EOF with %d bytes unread", len(rest))
		}
	case err == io.ErrUnexpectedEOF:
		if len(rest) == 0 {
			t.Fatal("io.ErrUnexpectedEOF at a clean end")
		}
		if len(rest) >= 4+headerSize {
			if n := binary.LittleEndian.Uint32(rest); 4+uint64(n) <= uint64(len(rest)) {
				t.Fatalf("io.ErrUnexpectedEOF, but the frame of length %d is whole in %d bytes", n, len(rest))
			}
		}
	case errors.Is(err, ErrProtocol):
		if len(rest) < 4+headerSize {
			t.Fatalf("%v with only %d bytes left: a cut header is io.ErrUnexpectedEOF", err, len(rest))
		}
		n, kind := binary.LittleEndian.Uint32(rest), Kind(rest[4])
		if n >= headerSize && n <= fuzzMax && kind != 0 && kind < kindEnd {
			t.Fatalf("%v for a header of length %d and kind %d", err, n, kind)
		}
	default:
		t.Fatalf("Read returned %v (%T): not io.EOF, io.ErrUnexpectedEOF or ErrProtocol", err, err)
	}
}

// fuzzFields reads fr's payload as plain fields, then as a hello and as a batch header. It
// returns the slices TakeBytes gave it.
func fuzzFields(t *testing.T, d *Decoder, fr Frame) (taken [][]byte) {
	t.Helper()
	d.Next(fr)
	for i := fr.ID % 6; d.Len() > 0; i++ {
		before := d.Len()
		var err error
		switch i % 6 {
		case 0:
			_, err = d.Uint32()
		case 1:
			_, err = d.Uint64()
		case 2:
			_, err = d.String()
		case 3:
			var b []byte
			b, err = d.Bytes()
			if err == nil && cap(b) != len(b) {
				t.Fatalf("Bytes returned len %d cap %d", len(b), cap(b))
			}
		case 4:
			var b []byte
			b, err = d.TakeBytes()
			if err == nil && len(b) == 0 && b != nil {
				t.Fatalf("TakeBytes returned an empty slice that is not nil")
			}
			if err == nil && len(b) > 0 {
				taken = append(taken, b)
			}
		case 5:
			var b []byte
			n := int(fr.ID>>8%64) + 1
			b, err = d.Raw(n)
			if err == nil && (len(b) != n || cap(b) != n) {
				t.Fatalf("Raw(%d) returned len %d cap %d", n, len(b), cap(b))
			}
		}
		if err != nil {
			mustWrapProtocol(t, "a field", err)
			break
		}
		if d.Len() >= before {
			t.Fatalf("a field read consumed nothing (%d bytes left)", d.Len())
		}
	}
	h, err := DecodeHello(d, fr)
	if fr.Kind != KindHello && err == nil {
		t.Fatalf("DecodeHello of a %v frame returned %+v", fr.Kind, h)
	}
	if err != nil {
		mustWrapProtocol(t, "DecodeHello", err)
	}
	d.Next(fr)
	if _, err := DecodeBatchHeader(d); err != nil {
		mustWrapProtocol(t, "DecodeBatchHeader", err)
	}
	return taken
}

// fuzzValues reads fr as the parent or a worker does, on the connection's gob stream d: the
// fields before the values, then values into the types the frame's id picks.
func fuzzValues(t *testing.T, d *Decoder, fr Frame) {
	t.Helper()
	d.Next(fr)
	var err error
	switch fr.Kind {
	case KindBatch:
		_, err = DecodeBatchHeader(d)
	case KindOutputs:
		if _, err = d.Uint32(); err == nil {
			_, err = d.Uint32()
		}
	case KindFailure:
		_, err = d.Uint32()
	}
	if err != nil {
		mustWrapProtocol(t, "the fields before the values", err)
		return
	}
	decodeValues(t, d, fr.ID)
}

// decodeValues decodes the values left in d's frame into the types k on picks, until an error.
func decodeValues(t *testing.T, d *Decoder, k uint64) {
	t.Helper()
	for n := uint64(0); d.Len() > 0 && n < 64; n++ {
		before := d.Len()
		target := fuzzTarget(k + n)
		if err := d.Value(target); err != nil {
			mustWrapProtocol(t, fmt.Sprintf("Value(%T)", target), err)
			return
		}
		if d.Len() >= before {
			t.Fatalf("Value(%T) succeeded and consumed nothing", target)
		}
	}
}

func mustWrapProtocol(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrProtocol) {
		t.Fatalf("%s: %v (%T) does not wrap ErrProtocol", what, err, err)
	}
}

// FuzzDecodeValue decodes three frames of gob values on one stream, restarting it before the
// frames the bits of restart pick, into the types target picks; then a frame that restarts the
// stream must decode, whatever came before.
func FuzzDecodeValue(f *testing.F) {
	e := NewEncoder()
	want := labelled{"recovered", []string{"after", "garbage"}, point{-1, 1}}
	e.Begin(KindOutputs, FlagRestart, 99)
	if err := e.Value(holder{want}); err != nil {
		f.Fatal(err)
	}
	if err := e.End(); err != nil {
		f.Fatal(err)
	}
	recovery := Frame{Kind: KindOutputs, Flags: FlagRestart, ID: 99, Payload: e.pending()[4+headerSize:]}

	f.Add([]byte{}, []byte{}, []byte{}, byte(0), byte(0))
	f.Fuzz(func(t *testing.T, a, b, c []byte, restart, target byte) {
		d := NewDecoder()
		for i, p := range [][]byte{a, b, c} {
			var flags uint8
			if restart>>i&1 != 0 {
				flags = FlagRestart
			}
			d.Next(Frame{Kind: KindOutputs, Flags: flags, ID: uint64(i), Payload: p})
			decodeValues(t, d, uint64(target))
		}
		d.Next(recovery)
		var got holder
		if err := d.Value(&got); err != nil || !reflect.DeepEqual(got.V, want) {
			t.Fatalf("a frame that restarts the stream: %+v, %v; want %+v", got.V, err, want)
		}
	})
}

var updateCorpus = flag.Bool("update-corpus", false, "write the fuzz seed corpus under testdata/fuzz")

// TestFuzzSeedCorpus writes the seed corpus of the fuzzers with -update-corpus:
//
//	go test -run=TestFuzzSeedCorpus -update-corpus ./internal/wire
//
// The seeds are frames made by the Encoder, and cut, garbled and lying ones. Gob's bytes for a
// value do not change between runs, but may between Go releases; old seeds stay valid inputs.
func TestFuzzSeedCorpus(t *testing.T) {
	if !*updateCorpus {
		t.Skip("run with -update-corpus to write the seed corpus")
	}
	for name, data := range readerSeeds(t) {
		writeSeed(t, "FuzzReader", name, data)
	}
	for name, s := range valueSeeds(t) {
		writeSeed(t, "FuzzDecodeValue", name, s.a, s.b, s.c, s.restart, s.target)
	}
}

// writeSeed writes one seed in the "go test fuzz v1" format.
func writeSeed(t *testing.T, fuzzer, name string, args ...any) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, arg := range args {
		switch arg := arg.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", arg)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", arg)
		default:
			t.Fatalf("seed argument of type %T", arg)
		}
	}
	dir := filepath.Join("testdata", "fuzz", fuzzer)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readerSeeds(t *testing.T) map[string][]byte {
	seeds := map[string][]byte{}
	encode := func(build func(e *Encoder) error) []byte { return frameBytes(t, build) }

	seeds["hello"] = encode(func(e *Encoder) error {
		return EncodeHello(e, Hello{Version: Version, Pid: 4242, Identity: "sha256:0123abcd"})
	})
	batch := encode(func(e *Encoder) error {
		EncodeBatchHeader(e, 1, BatchHeader{Func: "main.work", Count: 2, Timeout: 1e9, Attempt: 1})
		if err := e.Value([]labelled{{"a", []string{"x"}, point{1, 2}}, {"b", nil, point{3, 4}}}); err != nil {
			return err
		}
		return e.End()
	})
	seeds["batch"] = batch
	seeds["outputs-last"] = encode(func(e *Encoder) error {
		e.Begin(KindOutputs, FlagLast, 1)
		e.Uint32(0)
		e.Uint32(2)
		if err := e.Value([]point{{1, 2}, {3, 4}}); err != nil {
			return err
		}
		return e.End()
	})
	seeds["failure"] = encode(func(e *Encoder) error {
		e.Begin(KindFailure, 0, 1)
		e.Uint32(1)
		if err := e.Value(&Error{Type: "*errors.errorString", Message: "boom", Sentinels: []string{"io.EOF"},
			Panic: true, Stack: "goroutine 1 [running]:"}); err != nil {
			return err
		}
		return e.End()
	})
	seeds["cancel-exit"] = encode(func(e *Encoder) error {
		e.Begin(KindCancel, 0, 1)
		if err := e.End(); err != nil {
			return err
		}
		e.Begin(KindExit, 0, 0)
		return e.End()
	})
	stream := encode(func(e *Encoder) error {
		for _, c := range frameCases {
			if err := c.encode(e); err != nil {
				return err
			}
		}
		return nil
	})
	seeds["stream"] = stream
	seeds["restart-after-encode-error"] = encode(func(e *Encoder) error {
		e.Begin(KindOutputs, 0, 1)
		e.Uint32(0)
		e.Uint32(1)
		if err := e.Value([]point{{1, 2}}); err != nil {
			return err
		}
		if err := e.End(); err != nil {
			return err
		}
		e.Begin(KindOutputs, 0, 2)
		if err := e.Value(holder{unregistered{1}}); err == nil {
			return errors.New("an unregistered type encoded")
		}
		for id := range uint64(2) {
			e.Begin(KindOutputs, FlagLast, 3+id)
			e.Uint32(0)
			e.Uint32(1)
			if err := e.Value([]point{{5, 6}}); err != nil {
				return err
			}
			if err := e.End(); err != nil {
				return err
			}
		}
		return nil
	})
	seeds["truncated-header"] = stream[:7]
	seeds["truncated-payload"] = batch[:len(batch)-5]
	seeds["truncated-second-frame"] = cat(seeds["hello"], batch[:20])
	_, valid, _ := bytes.Cut(batch, []byte("main.work")) // the batch payload after its Func
	seeds["gob-value-cut"] = goodFrame(KindBatch, 0, 1, cat(le32(9), []byte("main.work"), valid[:len(valid)/2]))
	seeds["gob-count-over-frame"] = goodFrame(KindOutputs, 0, 1,
		cat(le32(0), le32(1), gobCount(10<<20-1), []byte{1, 2, 3}))
	seeds["length-over-max"] = rawFrame(fuzzMax+1, KindBatch, 0, 1, make([]byte, 32))
	seeds["length-lies"] = rawFrame(900<<20, KindOutputs, 0, 1, make([]byte, 10))
	seeds["length-under-header"] = rawFrame(3, KindExit, 0, 0, make([]byte, 8))
	seeds["unknown-kind"] = cat(seeds["cancel-exit"], goodFrame(kindEnd, 0, 0, []byte("?")))
	rng := rand.New(rand.NewChaCha8([32]byte{3}))
	garbage := make([]byte, 96)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	seeds["garbage"] = garbage
	seeds["garbage-in-a-frame"] = goodFrame(KindOutputs, 0, 5, garbage)
	return seeds
}

type valueSeed struct {
	a, b, c         []byte
	restart, target byte
}

func valueSeeds(t *testing.T) map[string]valueSeed {
	// payloads encodes each list of values as one frame on one stream and returns the payloads.
	payloads := func(frames ...[]any) [3][]byte {
		var out [3][]byte
		fs := readFrames(t, frameBytes(t, func(e *Encoder) error {
			for i, vs := range frames {
				e.Begin(KindOutputs, 0, uint64(i))
				for _, v := range vs {
					if err := e.Value(v); err != nil {
						return err
					}
				}
				if err := e.End(); err != nil {
					return err
				}
			}
			return nil
		}))
		for i, f := range fs {
			out[i] = f.Payload
		}
		return out
	}
	seeds := map[string]valueSeed{}
	l := func(name string, x int) labelled { return labelled{name, []string{name}, point{x, -x}} }

	p := payloads([]any{l("a", 1)}, []any{l("b", 2), l("c", 3)}, []any{l("d", 4)})
	seeds["labelled-across-frames"] = valueSeed{p[0], p[1], p[2], 0, targetLabelled}
	seeds["skip-then-decode"] = valueSeed{p[0], p[1], p[2], 0, 0}
	seeds["restart-without-need"] = valueSeed{p[0], p[1], p[2], 0b010, targetLabelled}

	p = payloads([]any{point{1, 2}, point{3, 4}}, []any{point{5, 6}}, nil)
	seeds["points"] = valueSeed{p[0], p[1], p[2], 0, targetPoint}

	p = payloads([]any{&Error{Type: "*fs.PathError", Message: "open x", Sentinels: []string{"fs.ErrNotExist"}}},
		[]any{&Error{Type: "string", Message: "boom", Panic: true, Stack: "goroutine 1"}}, nil)
	seeds["errors"] = valueSeed{p[0], p[1], p[2], 0, targetError}

	p = payloads([]any{holder{point{1, 2}}}, []any{holder{l("e", 5)}}, []any{holder{point{3, 4}}})
	seeds["interfaces"] = valueSeed{p[0], p[1], p[2], 0, targetHolder}

	// A stream that restarts after an encoding error, as the Encoder sends it.
	var r [3][]byte
	fs := readFrames(t, frameBytes(t, func(e *Encoder) error {
		e.Begin(KindOutputs, 0, 0)
		if err := e.Value(l("f", 6)); err != nil {
			return err
		}
		if err := e.End(); err != nil {
			return err
		}
		e.Begin(KindOutputs, 0, 1)
		if err := e.Value(holder{unregistered{1}}); err == nil {
			return errors.New("an unregistered type encoded")
		}
		for range 2 {
			e.Begin(KindOutputs, 0, 2)
			if err := e.Value(l("g", 7)); err != nil {
				return err
			}
			if err := e.End(); err != nil {
				return err
			}
		}
		return nil
	}))
	for i, f := range fs {
		r[i] = f.Payload
	}
	seeds["restart-after-encode-error"] = valueSeed{r[0], r[1], r[2], 0b010, targetLabelled}

	p = payloads([]any{l("h", 8)}, []any{l("i", 9)}, nil)
	seeds["cut-value"] = valueSeed{p[0][:len(p[0])/2], p[1], nil, 0b010, targetLabelled}
	overFrame := cat(gobCount(10<<20-1), []byte{1, 2, 3})
	seeds["count-over-frame"] = valueSeed{overFrame, p[0], p[1], 0b010, targetLabelled}
	seeds["count-at-gob-limit"] = valueSeed{gobCount(1 << 33), nil, nil, 0, 1}

	rng := rand.New(rand.NewChaCha8([32]byte{4}))
	garbage := make([]byte, 48)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	seeds["garbage"] = valueSeed{garbage, garbage[:16], garbage[16:], 0b101, 3}
	return seeds
}
