package wire

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// Tests of the codecs that move a run of In or Out values through a frame: every value must
// arrive as it was sent, as gob would deliver it, and malformed frames must fail with
// ErrProtocol.

type (
	myInt     int
	myFloat   float32
	myString  string
	blob      []byte
	vector    []float64
	flags     []bool
	celsius   float64 // has MarshalText: gob calls it, so the raw codec must not be chosen
	onlyParse int     // has only UnmarshalText: gob would call it on the way in
	pair      struct{ A, B int }
)

func (c celsius) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("%.1fC", float64(c))), nil }
func (c *celsius) UnmarshalText(b []byte) error {
	var f float64
	_, err := fmt.Sscanf(string(b), "%fC", &f)
	*c = celsius(f)
	return err
}
func (p *onlyParse) UnmarshalText(b []byte) error { *p = onlyParse(len(b)); return nil }

// signalling NaNs, which gob's float32 path would quiet
var (
	nan32 = math.Float32frombits(0x7f800001)
	nan64 = math.Float64frombits(0x7ff0000000000001)
	neg0  = math.Copysign(0, -1)
)

// codecCase round-trips values of one type through the codec chosen for it.
type codecCase interface {
	name() string
	run(t *testing.T)
}

type typed[T any] struct {
	kind codecKind
	vs   []T
	// exact says the values must arrive bit for bit as sent; otherwise as gob delivers them.
	exact bool
}

func (c typed[T]) name() string { return fmt.Sprintf("%v/%d", reflect.TypeFor[T](), len(c.vs)) }

func (c typed[T]) run(t *testing.T) {
	cd, err := NewCodec[T]("f", "input")
	if err != nil {
		t.Fatal(err)
	}
	if cd.kind != c.kind {
		t.Errorf("codec kind %d, want %d", cd.kind, c.kind)
	}
	got, err := roundTrip(cd, c.vs)
	if err != nil {
		t.Fatal(err)
	}
	want := c.vs
	if !c.exact {
		want = gobRoundTrip(t, c.vs)
	}
	if !same(reflect.ValueOf(got), reflect.ValueOf(want)) {
		t.Errorf("got %#v, want %#v", clip(got), clip(want))
	}
}

// roundTrip sends vs through a frame, a socket's worth of bytes and a Reader, as the pool
// does, with a frame before and after it on the same streams.
func roundTrip[T any](c Codec[T], vs []T) ([]T, error) { return roundTripVia(c, vs, nil, nil) }

// roundTripVia is roundTrip with a Sharer for the encoder and a Fetcher for the decoder.
func roundTripVia[T any](c Codec[T], vs []T, sharer Sharer, fetcher Fetcher) ([]T, error) {
	enc := NewEncoder()
	enc.Sharer = sharer
	for id := range uint64(3) {
		enc.Begin(KindOutputs, 0, id)
		enc.Uint32(uint32(len(vs)))
		if id == 1 {
			if err := c.Encode(enc, vs); err != nil {
				return nil, err
			}
		}
		enc.Uint32(0xfeed)
		if err := enc.End(); err != nil {
			return nil, err
		}
	}
	var stream bytes.Buffer
	if _, err := enc.WriteTo(&stream); err != nil {
		return nil, err
	}
	r, dec := NewReader(&stream, 0), NewDecoder()
	dec.Fetcher = fetcher
	var got []T
	for id := range uint64(3) {
		f, err := r.Read()
		if err != nil {
			return nil, err
		}
		dec.Next(f)
		n, err := dec.Uint32()
		if err != nil {
			return nil, err
		}
		if id == 1 {
			got = make([]T, n)
			if err := c.Decode(dec, got); err != nil {
				return nil, err
			}
		}
		if end, err := dec.Uint32(); end != 0xfeed || err != nil || dec.Len() != 0 {
			return nil, fmt.Errorf("frame %d: ends with %#x, %v and %d bytes left", id, end, err, dec.Len())
		}
	}
	return got, nil
}

func gobRoundTrip[T any](t *testing.T, vs []T) []T {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(vs); err != nil {
		t.Fatal(err)
	}
	out := make([]T, 0)
	if err := gob.NewDecoder(&b).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		out = make([]T, len(vs)) // gob leaves a run of zero values empty
	}
	return out
}

// same compares like reflect.DeepEqual, but floats by their bits (NaN equals itself, -0 does
// not equal 0) and nil slices only to nil slices.
func same(a, b reflect.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		return math.Float64bits(a.Float()) == math.Float64bits(b.Float()) &&
			(a.Kind() == reflect.Float64 || math.Float32bits(float32(a.Float())) == math.Float32bits(float32(b.Float())))
	case reflect.Complex64, reflect.Complex128:
		x, y := a.Complex(), b.Complex()
		return math.Float64bits(real(x)) == math.Float64bits(real(y)) && math.Float64bits(imag(x)) == math.Float64bits(imag(y))
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !same(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// clip keeps failure messages short.
func clip(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func codecCases() []codecCase {
	big := strings.Repeat("x", RefMin+3)
	bigBytes := bytes.Repeat([]byte{7}, RefMin+3)
	bigVector := make(vector, RefMin/8+1)
	for i := range bigVector {
		bigVector[i] = float64(i) / 3
	}
	invalidUTF8 := string([]byte{0xff, 0xfe, 0, '\n'})
	return []codecCase{
		typed[int]{codecFixed, []int{0, 1, -1, math.MaxInt, math.MinInt}, false},
		typed[int]{codecFixed, nil, false},
		typed[int8]{codecFixed, []int8{math.MinInt8, -1, 0, math.MaxInt8}, false},
		typed[int16]{codecFixed, []int16{math.MinInt16, math.MaxInt16}, false},
		typed[int32]{codecFixed, []int32{math.MinInt32, math.MaxInt32, 7}, false},
		typed[int64]{codecFixed, []int64{math.MinInt64, math.MaxInt64, -2}, false},
		typed[uint]{codecFixed, []uint{0, math.MaxUint}, false},
		typed[uint8]{codecFixed, []uint8{0, 255}, false},
		typed[uint16]{codecFixed, []uint16{0, math.MaxUint16}, false},
		typed[uint32]{codecFixed, []uint32{0, math.MaxUint32}, false},
		typed[uint64]{codecFixed, []uint64{0, math.MaxUint64, 1 << 63}, false},
		typed[uintptr]{codecFixed, []uintptr{0, ^uintptr(0)}, false},
		typed[float64]{codecFixed, []float64{0, neg0, 1.5, math.Inf(1), math.Inf(-1), math.NaN(), nan64,
			math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64}, true},
		typed[float32]{codecFixed, []float32{0, float32(neg0), nan32, float32(math.NaN()), math.MaxFloat32,
			math.SmallestNonzeroFloat32, float32(math.Inf(-1))}, true},
		typed[complex128]{codecFixed, []complex128{complex(neg0, math.NaN()), complex(math.Inf(1), -1)}, true},
		typed[complex64]{codecFixed, []complex64{complex(float32(neg0), nan32), 3i}, true},
		typed[bool]{codecFixed, []bool{true, false, true}, false},
		typed[myInt]{codecFixed, []myInt{-5, 5}, false},
		typed[myFloat]{codecFixed, []myFloat{myFloat(nan32), myFloat(neg0)}, true},
		typed[int]{codecFixed, make([]int, RefMin/8+5), false}, // written by reference
		typed[string]{codecStrings, []string{"", "héllo, 世界", invalidUTF8, "", big, "z"}, false},
		typed[string]{codecStrings, []string{"", ""}, false},
		typed[myString]{codecStrings, []myString{"a", ""}, false},
		typed[[]float64]{codecSlices, [][]float64{nil, {}, {neg0, nan64, 1}, nil}, false},
		typed[vector]{codecSlices, []vector{bigVector, nil, {2}}, false},
		typed[[]int]{codecSlices, [][]int{{math.MinInt, math.MaxInt}, {}}, false},
		typed[[]bool]{codecSlices, [][]bool{{true, false}, nil}, false},
		typed[flags]{codecSlices, []flags{{false}}, false},
		typed[[]float32]{codecSlices, [][]float32{{nan32, float32(neg0)}}, true},
		typed[blob]{codecSlices, []blob{nil, {}, {1, 2}, blob(bigBytes)}, false},
		typed[[]byte]{codecBytes, [][]byte{nil, {}, {0}, bigBytes}, false},
		typed[struct{}]{codecEmpty, make([]struct{}, 3), false},
		typed[celsius]{codecGob, []celsius{21.5, -3}, false},
		typed[[]celsius]{codecGob, [][]celsius{{21.5}, nil}, false},
		typed[time.Duration]{codecFixed, []time.Duration{-1, math.MaxInt64}, false},
		typed[time.Time]{codecGob, []time.Time{time.Unix(1, 2).UTC()}, false},
		typed[onlyParse]{codecGob, []onlyParse{1, 2}, false},
		typed[pair]{codecGob, []pair{{1, 2}, {3, 4}}, false},
		typed[[][]int]{codecGob, [][][]int{{{1}}, nil}, false},
		typed[[]string]{codecGob, [][]string{{"a", ""}, nil}, false},
		typed[[2]float64]{codecGob, [][2]float64{{1, 2}}, false},
		typed[*int]{codecGob, []*int{new(int)}, false},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range codecCases() {
		t.Run(c.name(), func(t *testing.T) {
			t.Parallel()
			c.run(t)
		})
	}
}

// TestCodecRawAgreesWithGob: where gob quiets no NaN, the raw codecs deliver exactly what gob
// delivers, nil where gob gives nil included.
func TestCodecRawAgreesWithGob(t *testing.T) {
	t.Parallel()
	check := func(name string, got, fromGob any) {
		if !same(reflect.ValueOf(got), reflect.ValueOf(fromGob)) {
			t.Errorf("%s: raw %#v, gob %#v", name, clip(got), clip(fromGob))
		}
	}
	floats := [][]float64{nil, {}, {neg0, math.NaN(), math.Inf(1)}}
	got, err := roundTrip(Codec[[]float64]{kind: codecSlices, size: 8, align: 8}, floats)
	if err != nil {
		t.Fatal(err)
	}
	check("[][]float64", got, gobRoundTrip(t, floats))
	strs := []string{"", "a\x00b", string([]byte{0xc3})}
	gotS, err := roundTrip(Codec[string]{kind: codecStrings}, strs)
	if err != nil {
		t.Fatal(err)
	}
	check("[]string", gotS, gobRoundTrip(t, strs))
	bs := [][]byte{nil, {}, {1}}
	gotB, err := roundTrip(Codec[[]byte]{kind: codecBytes}, bs)
	if err != nil {
		t.Fatal(err)
	}
	check("[][]byte", gotB, gobRoundTrip(t, bs))
}

// decodeFrame decodes payload as count values of T with T's codec.
func decodeFrame[T any](payload []byte, count int) error {
	c, err := NewCodec[T]("f", "input")
	if err != nil {
		return err
	}
	dec := NewDecoder()
	dec.Next(Frame{Kind: KindOutputs, Payload: payload})
	return c.Decode(dec, make([]T, count))
}

func le32s(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return b
}

func TestCodecMalformed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		decode func() error
	}{
		{"ints cut short", func() error { return decodeFrame[int](make([]byte, 15), 2) }},
		{"int32 of nothing", func() error { return decodeFrame[int32](nil, 1) }},
		{"bool of value 2", func() error { return decodeFrame[bool]([]byte{1, 0, 2}, 3) }},
		{"bool of value 255", func() error { return decodeFrame[bool]([]byte{255}, 1) }},
		{"string lengths cut short", func() error { return decodeFrame[string](le32s(0)[:3], 1) }},
		{"string longer than the frame", func() error { return decodeFrame[string](append(le32s(4), "abc"...), 1) }},
		{"strings adding up past the frame", func() error {
			return decodeFrame[string](append(le32s(1<<31, 1<<31, 1), "abc"...), 3)
		}},
		{"string of 4 GiB", func() error { return decodeFrame[string](append(le32s(math.MaxUint32), "x"...), 1) }},
		{"slice lengths cut short", func() error { return decodeFrame[[]float64](le32s(1), 2) }},
		{"slice longer than the frame", func() error { return decodeFrame[[]float64](append(le32s(2), make([]byte, 15)...), 1) }},
		{"slice of 2^32-1 complex128s", func() error {
			return decodeFrame[[]complex128](append(le32s(math.MaxUint32, math.MaxUint32), make([]byte, 64)...), 2)
		}},
		{"slice of bools of value 3", func() error { return decodeFrame[[]bool](append(le32s(2), 1, 3), 1) }},
		{"bytes longer than the frame", func() error { return decodeFrame[[]byte](append(le32s(9), "short"...), 1) }},
		{"gob garbage", func() error { return decodeFrame[pair]([]byte{3, 0xff, 0xff, 0xff}, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.decode(); !errors.Is(err, ErrProtocol) {
				t.Errorf("got %v, want an error wrapping ErrProtocol", err)
			}
		})
	}
}

// TestCodecLyingLengthsAllocateNothing: lengths that claim more than the frame holds are
// refused before anything is allocated for the values. It measures the process's
// allocations, so it does not run in parallel.
func TestCodecLyingLengthsAllocateNothing(t *testing.T) {
	payload := append(le32s(1<<30, 1<<30, 1<<30, 1<<30), make([]byte, 100)...)
	vs := make([][]float64, 4)
	ss := make([]string, 4)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	errV := Codec[[]float64]{kind: codecSlices, size: 8, align: 8}.Decode(decoderOf(payload), vs)
	errS := Codec[string]{kind: codecStrings}.Decode(decoderOf(payload), ss)
	runtime.ReadMemStats(&after)
	if !errors.Is(errV, ErrProtocol) || !errors.Is(errS, ErrProtocol) {
		t.Fatalf("decoding lying lengths: %v, %v; want protocol errors", errV, errS)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Errorf("decoding lying lengths allocated %d bytes", n)
	}
}

func decoderOf(payload []byte) *Decoder {
	d := NewDecoder()
	d.Next(Frame{Kind: KindOutputs, Payload: payload})
	return d
}

// FuzzCodecDecode decodes arbitrary payloads with each raw codec: nothing may panic, every
// error wraps ErrProtocol, and what decodes encodes again into the bytes it came from.
func FuzzCodecDecode(f *testing.F) {
	f.Add([]byte{}, uint8(0), uint8(0))
	f.Add(append(le32s(2, 1), "abc"...), uint8(2), uint8(2))
	f.Add(append(le32s(1), make([]byte, 8)...), uint8(3), uint8(1))
	f.Add([]byte{1, 0, 1}, uint8(4), uint8(3))
	f.Add(append(le32s(2, 0), 1, 0), uint8(5), uint8(2))
	f.Fuzz(func(t *testing.T, payload []byte, which, count uint8) {
		var err error
		switch which % 7 {
		case 0:
			err = fuzzCodec[int64](t, payload, int(count))
		case 1:
			err = fuzzCodec[float32](t, payload, int(count))
		case 2:
			err = fuzzCodec[string](t, payload, int(count))
		case 3:
			err = fuzzCodec[[]float64](t, payload, int(count))
		case 4:
			err = fuzzCodec[bool](t, payload, int(count))
		case 5:
			err = fuzzCodec[[]bool](t, payload, int(count))
		case 6:
			err = fuzzCodec[[]byte](t, payload, int(count))
		}
		if err != nil && !errors.Is(err, ErrProtocol) {
			t.Fatalf("%v (%T) does not wrap ErrProtocol", err, err)
		}
	})
}

func fuzzCodec[T any](t *testing.T, payload []byte, count int) error {
	c, err := NewCodec[T]("f", "input")
	if err != nil {
		t.Fatal(err)
	}
	dec := decoderOf(payload)
	vs := make([]T, count)
	if err := c.Decode(dec, vs); err != nil {
		return err
	}
	used := payload[:len(payload)-dec.Len()]
	enc := NewEncoder()
	enc.Begin(KindOutputs, 0, 0)
	if err := c.Encode(enc, vs); err != nil {
		t.Fatal(err)
	}
	if err := enc.End(); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	enc.WriteTo(&again)
	if got := again.Bytes()[4+10:]; !bytes.Equal(got, used) {
		t.Fatalf("%d values of %T decoded from %x encode again as %x", count, vs, used, got)
	}
	return nil
}

// benchCodec encodes and decodes vs, one frame per iteration, on persistent streams (as a
// connection does: gob describes the type once).
func benchCodec[T any](b *testing.B, c Codec[T], vs []T) {
	enc, dec := NewEncoder(), NewDecoder()
	var buf bytes.Buffer
	out := make([]T, len(vs))
	b.ReportAllocs()
	for b.Loop() {
		enc.Begin(KindOutputs, 0, 1)
		if err := c.Encode(enc, vs); err != nil {
			b.Fatal(err)
		}
		if err := enc.End(); err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		enc.WriteTo(&buf)
		dec.Next(Frame{Kind: KindOutputs, Payload: buf.Bytes()[4+10:]})
		if err := c.Decode(dec, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(vs)), "ns/value")
}

// BenchmarkCodec compares the raw codecs with gob on the runs of values a batch carries: a
// chunk of MapAuto's 100 000 ints on 2 workers is 12 500 of them.
func BenchmarkCodec(b *testing.B) {
	ints := make([]int, 12_500)
	for i := range ints {
		ints[i] = i * i
	}
	strs := make([]string, 12_500)
	for i := range strs {
		strs[i] = fmt.Sprintf("item %d", i)
	}
	vecs := make([][]float64, 1000)
	for i := range vecs {
		vecs[i] = make([]float64, 16)
	}
	b.Run("ints/raw", func(b *testing.B) { benchCodec(b, Codec[int]{kind: codecFixed, size: 8}, ints) })
	b.Run("ints/gob", func(b *testing.B) { benchCodec(b, Codec[int]{kind: codecGob}, ints) })
	b.Run("strings/raw", func(b *testing.B) { benchCodec(b, Codec[string]{kind: codecStrings}, strs) })
	b.Run("strings/gob", func(b *testing.B) { benchCodec(b, Codec[string]{kind: codecGob}, strs) })
	b.Run("vectors16/raw", func(b *testing.B) { benchCodec(b, Codec[[]float64]{kind: codecSlices, size: 8, align: 8}, vecs) })
	b.Run("vectors16/gob", func(b *testing.B) { benchCodec(b, Codec[[]float64]{kind: codecGob}, vecs) })
	// What the walk before gob (valuecheck.go) adds, on values it must walk.
	recs := make([]benchRecord, 1000)
	for i := range recs {
		recs[i] = benchRecord{Name: strs[i], Tags: strs[i : i+4], Next: &benchRecord{N: i}}
	}
	b.Run("strings/gob-walked", func(b *testing.B) {
		benchCodec(b, Codec[string]{kind: codecGob, walk: planFor(reflect.TypeFor[[]string]())}, strs)
	})
	b.Run("records/gob", func(b *testing.B) { benchCodec(b, Codec[benchRecord]{kind: codecGob}, recs) })
	b.Run("records/gob-walked", func(b *testing.B) {
		benchCodec(b, Codec[benchRecord]{kind: codecGob, walk: planFor(reflect.TypeFor[[]benchRecord]())}, recs)
	})
}

type benchRecord struct {
	Name string
	Tags []string
	N    int
	Next *benchRecord
}

// memPeer stands for both ends of a Sharer and Fetcher: shared slices are kept by
// reference, and fetched as copies in memory of their own (as the other process's would be).
type memPeer struct {
	shared map[uint64][]byte
	inline int // large slices that came in the frame
}

func (p *memPeer) Share(b []byte, _ uint64) (uint64, bool) {
	if p.shared == nil {
		p.shared = map[uint64][]byte{}
	}
	ref := uint64(len(p.shared) + 1)
	p.shared[ref] = b
	return ref, true
}

func (p *memPeer) Unshare(ref uint64) { delete(p.shared, ref) }

func (p *memPeer) Fetch(ref uint64, n int) ([]byte, error) {
	b, ok := p.shared[ref]
	if !ok || len(b) != n {
		return nil, fmt.Errorf("%w: no shared slice %d of %d bytes", ErrProtocol, ref, n)
	}
	return append(make([]byte, 0, n), b...), nil
}

func (p *memPeer) Inline(int) { p.inline++ }

// Large strings and slices of numbers travel each on its own, outside the frame when a Sharer
// takes them, or in it; either way they arrive whole, with their elements aligned, small ones
// around them in place.
func TestCodecLargeValues(t *testing.T) {
	t.Parallel()
	big := make([]float64, RefMin/8+3)
	for i := range big {
		big[i] = float64(i) * 1.25
	}
	big32 := make([]int32, RefMin/4+1)
	for i := range big32 {
		big32[i] = int32(-i)
	}
	bigBools := make([]bool, RefMin)
	bigBools[7] = true
	bigStr := strings.Repeat("ü", RefMin/2+1)
	for _, shared := range []bool{false, true} {
		p := &memPeer{}
		var sharer Sharer
		if shared {
			sharer = p
		}
		// Different small slices before the large ones put them at different offsets in
		// the frame: decoding must align them whatever the offset.
		for small := range 4 {
			var floats [][]float64
			var ints [][]int32
			var strs []string
			for i := range small {
				floats = append(floats, []float64{float64(i)})
				ints = append(ints, []int32{int32(i)})
				strs = append(strs, strings.Repeat("s", i))
			}
			floats = append(floats, big, nil, big[:1])
			ints = append(ints, big32, []int32{9})
			strs = append(strs, bigStr, "", bigStr[:3])
			gotF, err := roundTripVia(Codec[[]float64]{kind: codecSlices, size: 8, align: 8}, floats, sharer, p)
			if err != nil || !reflect.DeepEqual(gotF, floats) {
				t.Fatalf("shared %v, %d small: float64 slices: %v", shared, small, err)
			}
			for _, v := range gotF {
				if len(v) > 0 && uintptr(unsafe.Pointer(&v[0]))%8 != 0 {
					t.Fatalf("shared %v, %d small: a []float64 of %d at a misaligned address", shared, small, len(v))
				}
			}
			gotI, err := roundTripVia(Codec[[]int32]{kind: codecSlices, size: 4, align: 4}, ints, sharer, p)
			if err != nil || !reflect.DeepEqual(gotI, ints) {
				t.Fatalf("shared %v, %d small: int32 slices: %v", shared, small, err)
			}
			gotS, err := roundTripVia(Codec[string]{kind: codecStrings}, strs, sharer, p)
			if err != nil || !reflect.DeepEqual(gotS, strs) {
				t.Fatalf("shared %v, %d small: strings: %v", shared, small, err)
			}
		}
		gotB, err := roundTripVia(Codec[[]bool]{kind: codecSlices, size: 1, align: 1, bools: true}, [][]bool{bigBools}, sharer, p)
		if err != nil || !reflect.DeepEqual(gotB, [][]bool{bigBools}) {
			t.Fatalf("shared %v: bools: %v", shared, err)
		}
		if shared && (len(p.shared) == 0 || p.inline != 0) {
			t.Errorf("%d slices shared, %d inline: the large values did not travel outside the frame", len(p.shared), p.inline)
		}
	}
}

// A large value whose own length disagrees with the run's, or a large run of bools holding
// something else than 0 and 1, is refused.
func TestCodecLargeValuesMalformed(t *testing.T) {
	t.Parallel()
	n := uint32(RefMin / 8)
	frame := slices.Concat(le32s(n), le32s(8*n+8), make([]byte, 8*n+8)) // says n elements, holds n+1
	if err := decodeFrame[[]float64](frame, 1); !errors.Is(err, ErrProtocol) {
		t.Errorf("large slice whose length disagrees: %v, want ErrProtocol", err)
	}
	bools := make([]byte, RefMin)
	bools[5] = 2
	frame = slices.Concat(le32s(uint32(len(bools))), le32s(uint32(len(bools))), bools)
	if err := decodeFrame[[]bool](frame, 1); !errors.Is(err, ErrProtocol) {
		t.Errorf("large run of bools with a 2: %v, want ErrProtocol", err)
	}
	frame = slices.Concat(le32s(uint32(RefMin)), le32s(uint32(RefMin)|SharedBit), le32s(1, 0))
	if err := decodeFrame[string](frame, 1); !errors.Is(err, ErrProtocol) {
		t.Errorf("large shared string without a Fetcher: %v, want ErrProtocol", err)
	}
}
