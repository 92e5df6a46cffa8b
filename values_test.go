//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/wire"
)

// Values gob cannot encode, or that are too large for a message, fail their own task with an
// error naming their type, in either direction: never the parent, never the worker.

type Node struct {
	V    int
	Next *Node
}

// Produced is a worker's answer: its pid, and a list or a large slice when asked for.
type Produced struct {
	Pid  int
	List *Node
	Data []byte
}

func loop(n int) *Node {
	head := &Node{V: 0}
	at := head
	for i := 1; i < n; i++ {
		at.Next = &Node{V: i}
		at = at.Next
	}
	at.Next = head
	return head
}

// untouchedBytes returns n bytes of zeroes that take no memory (a read-only mapping of
// nothing), or nil if the system refuses the mapping.
func untouchedBytes(n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil
	}
	return b
}

var (
	listLength = multiproc.Register("values.listLength", func(_ context.Context, n *Node) (int, error) {
		k := 0
		for ; n != nil; n = n.Next {
			k++
		}
		return k, nil
	})
	holdSize = multiproc.Register("values.holdSize", func(_ context.Context, p Produced) (int, error) {
		return len(p.Data), nil
	})
	produce = multiproc.Register("values.produce", func(_ context.Context, what string) (Produced, error) {
		p := Produced{Pid: os.Getpid()}
		switch what {
		case "ring":
			p.List = loop(3)
		case "huge":
			if p.Data = untouchedBytes(3 << 29); p.Data == nil {
				return p, errors.New("no mapping")
			}
		}
		return p, nil
	})
)

func TestCyclicInputFailsItsTask(t *testing.T) {
	t.Parallel()
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	_, err := multiproc.Map(ctx, p, listLength, []*Node{{V: 1}, loop(4)})
	var te *multiproc.TaskError
	if !errors.As(err, &te) || te.Index != 1 || !strings.Contains(err.Error(), "*multiproc_test.Node refers to itself") {
		t.Fatalf("a ring of nodes as input: %v, want a *TaskError at index 1 naming *multiproc_test.Node", err)
	}
	if n, err := multiproc.Apply(ctx, p, listLength, &Node{Next: &Node{}}); err != nil || n != 2 {
		t.Fatalf("after it, a list of 2: %d, %v", n, err)
	}
}

func TestCyclicOutputFailsItsTask(t *testing.T) {
	t.Parallel()
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	var pids []int
	i := 0
	for out, err := range multiproc.Imap(ctx, p, produce, func(yield func(string) bool) {
		for _, w := range []string{"", "ring", ""} {
			if !yield(w) {
				return
			}
		}
	}, multiproc.ChunkSize(3)) {
		switch {
		case i == 1:
			var re *multiproc.RemoteError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), "*multiproc_test.Node refers to itself") {
				t.Errorf("a ring of nodes as output: %v, want a *RemoteError naming *multiproc_test.Node", err)
			}
		case err != nil:
			t.Errorf("output %d: %v", i, err)
		default:
			pids = append(pids, out.Pid)
		}
		i++
	}
	if len(pids) != 2 || pids[0] != pids[1] {
		t.Errorf("pids %v: the worker must serve on after the output it could not send", pids)
	}
}

// A struct holding 1.5 GiB is refused from its slice's length, before gob copies anything.
func TestOversizedInputRefusedBeforeEncoding(t *testing.T) {
	t.Parallel()
	data := untouchedBytes(3 << 29)
	if data == nil {
		t.Skip("no 1.5 GiB mapping on this system")
	}
	defer unix.Munmap(data)
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := multiproc.Apply(ctx, p, holdSize, Produced{Data: data})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, wire.ErrTooLarge) || !strings.Contains(err.Error(), "multiproc_test.Produced") {
		t.Errorf("an input of 1.5 GiB: %v, want an error over the 1 GiB limit naming multiproc_test.Produced", err)
	}
	// Other tests run meanwhile: a few MiB are theirs, gigabytes would be this one's.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
		t.Errorf("refusing it allocated %d MiB", alloc>>20)
	}
}

func TestOversizedOutputFailsItsTask(t *testing.T) {
	t.Parallel()
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	first, err := multiproc.Apply(ctx, p, produce, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = multiproc.Apply(ctx, p, produce, "huge")
	var re *multiproc.RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "a message may hold") {
		t.Errorf("an output of 1.5 GiB: %v, want a *RemoteError over the 1 GiB limit", err)
	}
	again, err := multiproc.Apply(ctx, p, produce, "")
	if err != nil || again.Pid != first.Pid {
		t.Errorf("after it: pid %d (%v), want the same worker %d", again.Pid, err, first.Pid)
	}
}

// Values that cross real worker processes and come back unchanged, bit for bit: the raw
// codecs keep a NaN's payload and a negative zero's sign.
type vector []float64

var (
	echoFloats  = multiproc.Register("codec.echoFloats", func(_ context.Context, v float64) (float64, error) { return v, nil })
	echoFloat32 = multiproc.Register("codec.echoFloat32", func(_ context.Context, v float32) (float32, error) { return v, nil })
	echoStrings = multiproc.Register("codec.echoStrings", func(_ context.Context, v string) (string, error) { return v, nil })
	echoVectors = multiproc.Register("codec.echoVectors", func(_ context.Context, v vector) (vector, error) { return v, nil })
	negate      = multiproc.Register("codec.negate", func(_ context.Context, v bool) (bool, error) { return !v, nil })
)

func TestCodecThroughWorkers(t *testing.T) {
	t.Parallel()
	p := newPool(t, multiproc.Processes(2))
	ctx := ctxFor(t)
	bits := func(fs []float64) []uint64 {
		if fs == nil {
			return nil
		}
		b := make([]uint64, len(fs))
		for i, f := range fs {
			b[i] = math.Float64bits(f)
		}
		return b
	}
	check := func(name string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %.200v, want %.200v", name, got, want)
		}
	}
	neg0, nan64 := math.Copysign(0, -1), math.Float64frombits(0x7ff0000000000001)
	nan32 := math.Float32frombits(0x7f800001)
	floats := []float64{neg0, nan64, math.Inf(-1), math.MaxFloat64, 0}
	got, err := multiproc.Map(ctx, p, echoFloats, floats, multiproc.ChunkSize(2))
	check("float64", bits(got), bits(floats), err)
	f32 := []float32{nan32, float32(neg0), 1}
	got32, err := multiproc.Map(ctx, p, echoFloat32, f32)
	f32bits := func(fs []float32) (b []uint32) {
		for _, f := range fs {
			b = append(b, math.Float32bits(f))
		}
		return b
	}
	check("float32", f32bits(got32), f32bits(f32), err)
	strs := []string{"", "héllo", string([]byte{0xff}), strings.Repeat("s", wire.RefMin+1)}
	gotS, err := multiproc.Map(ctx, p, echoStrings, strs, multiproc.ChunkSize(3))
	check("string", gotS, strs, err)
	vecs := []vector{nil, {}, {1, nan64}, make(vector, wire.RefMin/8+1)}
	gotV, err := multiproc.Map(ctx, p, echoVectors, vecs)
	want := []vector{nil, nil, {1, nan64}, make(vector, wire.RefMin/8+1)} // gob's way: empty is nil
	if err == nil && len(gotV) != len(want) {
		t.Fatalf("vector: %d results, want %d", len(gotV), len(want))
	}
	for i := range want {
		if err == nil {
			check(fmt.Sprint("vector ", i), bits(gotV[i]), bits(want[i]), nil)
		}
	}
	check("vector", nil, nil, err)
	gotB, err := multiproc.Map(ctx, p, negate, []bool{true, false, false})
	check("bool", gotB, []bool{false, true, true}, err)
}
