//go:build unix

package wire

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

type node struct {
	V    int
	Next *node
}

type bigHolder struct {
	Name string
	Data []byte
}

type anyBox struct{ V any }

// list returns n nodes linked in order; ring links the last back to the first.
func list(n int, ring bool) *node {
	head := &node{V: 0}
	at := head
	for i := 1; i < n; i++ {
		at.Next = &node{V: i}
		at = at.Next
	}
	if ring {
		at.Next = head
	}
	return head
}

// encodeOne encodes vs into a frame of an encoder whose frames may hold limit bytes (0:
// MaxFrame), as a connection does, and drops the frame if encoding fails.
func encodeOne[T any](t *testing.T, vs []T, limit int) error {
	t.Helper()
	c, err := NewCodec[T]("f", "input")
	if err != nil {
		t.Fatal(err)
	}
	enc := NewEncoder()
	enc.Limit = limit
	enc.Begin(KindBatch, 0, 1)
	if err := c.Encode(enc, vs); err != nil {
		enc.Abort()
		return err
	}
	return enc.End()
}

// A value that refers to itself is refused with an error naming its type: gob would recurse
// until the stack overflows, which kills the process (no recover catches it).
func TestCodecRefusesCycles(t *testing.T) {
	for _, n := range []int{1, 2, 3, trackFrom + 5, 1000} {
		err := encodeOne(t, []*node{list(n, true)}, 0)
		if err == nil || !strings.Contains(err.Error(), "*wire.node refers to itself") {
			t.Errorf("a ring of %d nodes: %v, want an error naming *wire.node", n, err)
		}
	}
	err := encodeOne(t, []node{*list(3, true)}, 0)
	if err == nil || !strings.Contains(err.Error(), "refers to itself") {
		t.Errorf("a struct whose list comes back to it: %v", err)
	}
	m := map[string]any{}
	m["self"] = m
	s := []any{nil}
	s[0] = s
	for name, v := range map[string]anyBox{"map in itself": {V: m}, "slice in itself": {V: s}} {
		if err := encodeOne(t, []anyBox{v}, 0); err == nil || !strings.Contains(err.Error(), "refers to itself") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Values that share memory without a cycle, or nest deeply without one, travel.
func TestCodecAcceptsSharedAndDeepValues(t *testing.T) {
	shared := &node{V: 7}
	if err := encodeOne(t, []*node{shared, shared, {V: 1, Next: shared}}, 0); err != nil {
		t.Errorf("pointers shared without a cycle: %v", err)
	}
	deep := list(5000, false)
	c, err := NewCodec[*node]("f", "input")
	if err != nil {
		t.Fatal(err)
	}
	got, err := roundTrip(c, []*node{deep})
	if err != nil {
		t.Fatalf("a list of 5000 nodes: %v", err)
	}
	n := 0
	for at := got[0]; at != nil; at = at.Next {
		if at.V != n {
			t.Fatalf("node %d holds %d", n, at.V)
		}
		n++
	}
	if n != 5000 {
		t.Errorf("%d nodes arrived, want 5000", n)
	}
	// A slice holding a shorter slice of its own array, deep enough to be tracked: no cycle.
	a := []any{5, nil}
	a[1] = a[:1]
	v := any(a)
	for range trackFrom {
		v = &anyBox{V: v}
	}
	if err := checkValues([]any{v}, MaxFrame); err != nil {
		t.Errorf("a slice holding a shorter slice of its array: %v", err)
	}
}

// A value nested deeper than gob can follow is refused before gob starts.
func TestCodecRefusesTooDeep(t *testing.T) {
	err := encodeOne(t, []*node{list(maxDepth+10, false)}, 0)
	if err == nil || !strings.Contains(err.Error(), "levels deep") {
		t.Errorf("a list of %d nodes: %v, want a refusal", maxDepth+10, err)
	}
}

// A value too large for a frame is refused from what it holds, before gob builds a message
// of its size: the encoder allocates next to nothing.
func TestCodecRefusesOversizedBeforeEncoding(t *testing.T) {
	const limit = 1 << 20
	for name, enc := range map[string]func() error{
		"struct with a slice": func() error { return encodeOne(t, []bigHolder{{Data: make([]byte, limit+1)}}, limit) },
		"many small structs": func() error {
			vs := make([]bigHolder, 64)
			for i := range vs {
				vs[i].Data = make([]byte, limit/32)
			}
			return encodeOne(t, vs, limit)
		},
		"map of strings": func() error {
			return encodeOne(t, []map[string]string{{"a": strings.Repeat("x", limit)}}, limit)
		},
		"strings":          func() error { return encodeOne(t, []string{strings.Repeat("x", limit)}, limit) },
		"slices of ints":   func() error { return encodeOne(t, [][]int64{make([]int64, limit/8+1)}, limit) },
		"numbers":          func() error { return encodeOne(t, make([]int64, limit/8+1), limit) },
		"behind a pointer": func() error { return encodeOne(t, []*bigHolder{{Data: make([]byte, limit+1)}}, limit) },
	} {
		if err := enc(); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
	}
	if err := encodeOne(t, []bigHolder{{Data: make([]byte, limit/2)}}, limit); err != nil {
		t.Errorf("a value within the limit: %v", err)
	}
}

// The real limit, with a value of 1.5 GiB whose memory is never touched: it is refused at
// the cost of the walk, not of gob's gigabytes.
func TestCodecRefusesOverMaxFrameCheaply(t *testing.T) {
	if testing.Short() {
		t.Skip("reserves 1.5 GiB of address space")
	}
	big := []bigHolder{{Name: "big", Data: untouched(t, 3<<29)}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := encodeOne(t, big, 0)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "wire.bigHolder") {
		t.Errorf("a bigHolder of 1.5 GiB: %v, want ErrTooLarge naming the type", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("refusing it allocated %d bytes", alloc)
	}
	runtime.KeepAlive(big)
}

// untouched returns n bytes of zeroes that take no memory: a read-only mapping of nothing,
// which reads as the zero page.
func untouched(t *testing.T, n int) []byte {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(b) })
	return b
}
