//go:build unix

package multiproc

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc/internal/wire"
)

// Tests of large []byte values travelling straight between the parent's and the workers'
// memory (internal/peermem) rather than through the rings.

var (
	echoLarge    = Register("share.echo", func(_ context.Context, b []byte) ([]byte, error) { return b, nil })
	reverseBytes = Register("share.reverse", func(_ context.Context, b []byte) ([]byte, error) {
		out := slices.Clone(b)
		slices.Reverse(out)
		return out, nil
	})
	echoThenDie = Register("share.echoThenDie", func(_ context.Context, b []byte) ([]byte, error) {
		go func() {
			time.Sleep(50 * time.Microsecond)
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}()
		return b, nil
	})
)

// withRingsOnly keeps large values in the frames.
func withRingsOnly() Option {
	return optionFunc{name: "ringsOnly", set: func(c *config) error { c.ringsOnly = true; return nil }}
}

// sharePool starts a pool the test closes at its end, and a context bounded by a deadline.
func sharePool(t *testing.T, opts ...Option) (*Pool, context.Context) {
	t.Helper()
	p, err := NewPool(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return p, ctx
}

func sharedBytes(p *Pool) int64 { return p.backend.Stats().SharedBytes }

// blobsOfSizes returns slices of the given sizes, each with its own pattern.
func blobsOfSizes(sizes ...int) [][]byte {
	out := make([][]byte, len(sizes))
	for i, n := range sizes {
		out[i] = make([]byte, n)
		for j := range out[i] {
			out[i][j] = byte(i*31 + j%241)
		}
	}
	return out
}

func TestLargeBytesTravelOutsideFrames(t *testing.T) {
	t.Parallel()
	for _, ringsOnly := range []bool{false, true} {
		name := map[bool]string{false: "shared", true: "rings"}[ringsOnly]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := []Option{Processes(2)}
			if ringsOnly {
				opts = append(opts, withRingsOnly())
			}
			p, ctx := sharePool(t, opts...)
			// Sizes that grow and shrink, around RefMin, so that buffers offered for one
			// input are too small or too large for the next.
			sizes := []int{wire.RefMin, 8 << 20, wire.RefMin - 1, 1 << 20, 3<<20 + 17, wire.RefMin + 1, 8 << 20, 5}
			blobs := blobsOfSizes(sizes...)
			var large int64
			for _, n := range sizes {
				if n >= wire.RefMin {
					large += int64(n)
				}
			}
			for round, chunk := range []int{1, 3, 1} {
				got, err := Map(ctx, p, echoLarge, blobs, ChunkSize(chunk))
				if err != nil {
					t.Fatal(err)
				}
				for i := range blobs {
					if !bytes.Equal(got[i], blobs[i]) {
						t.Fatalf("round %d, blob %d of %d bytes came back changed", round, i, len(blobs[i]))
					}
				}
				rev, err := Map(ctx, p, reverseBytes, blobs, ChunkSize(chunk))
				if err != nil {
					t.Fatal(err)
				}
				for i := range blobs {
					want := slices.Clone(blobs[i])
					slices.Reverse(want)
					if !bytes.Equal(rev[i], want) {
						t.Fatalf("round %d, blob %d reversed came back wrong", round, i)
					}
				}
			}
			one, err := Apply(ctx, p, reverseBytes, blobs[1])
			if err != nil || len(one) != len(blobs[1]) || one[0] != blobs[1][len(blobs[1])-1] {
				t.Fatalf("Apply: %d bytes, %v", len(one), err)
			}
			moved := sharedBytes(p)
			if ringsOnly || !peerCopies {
				if moved != 0 {
					t.Fatalf("%d bytes moved outside the frames with RingsOnly", moved)
				}
				return
			}
			// Every large output is lent (3 rounds of 2 Maps); the inputs go outside the
			// frames once the workers have seen their sizes.
			if outputs := 6 * large; moved <= outputs {
				t.Fatalf("%d bytes moved outside the frames, want more than the %d of the outputs", moved, outputs)
			}
		})
	}
}

var (
	scaleFloats = Register("share.scale", func(_ context.Context, v []float64) ([]float64, error) {
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = 2 * x
		}
		return out, nil
	})
	echoString = Register("share.echoString", func(_ context.Context, s string) (string, error) { return s, nil })
)

// Large slices of numbers and large strings travel outside the frames too.
func TestLargeNumbersAndStringsTravelOutsideFrames(t *testing.T) {
	t.Parallel()
	p, ctx := sharePool(t, Processes(2))
	vecs := [][]float64{make([]float64, 1<<20), {1, 2}, make([]float64, wire.RefMin/8)}
	for _, v := range vecs {
		for i := range v {
			v[i] = float64(i) / 7
		}
	}
	before := sharedBytes(p)
	for range 2 { // the second time, the workers have buffers up for inputs of these sizes
		got, err := Map(ctx, p, scaleFloats, vecs, ChunkSize(1))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vecs {
			if len(got[i]) != len(v) || (len(v) > 1 && got[i][len(v)-1] != 2*v[len(v)-1]) {
				t.Fatalf("vector %d of %d came back wrong", i, len(v))
			}
		}
	}
	strs := []string{strings.Repeat("é", 1<<20), "small", strings.Repeat("x", wire.RefMin)}
	for range 2 {
		got, err := Map(ctx, p, echoString, strs, ChunkSize(2))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, strs) {
			t.Fatal("strings came back changed")
		}
	}
	if moved := sharedBytes(p) - before; !peerCopies {
		if moved != 0 {
			t.Fatalf("%d bytes moved outside the frames without the calls that copy them", moved)
		}
		return
	}
	// Outputs alone: 2 × (8 MiB + 256 KiB) of vectors, 2 × (2 MiB + 256 KiB) of strings.
	if moved, outputs := sharedBytes(p)-before, int64(2*(8<<20+wire.RefMin)+2*(2<<20+wire.RefMin)); moved <= outputs {
		t.Fatalf("%d bytes moved outside the frames, want more than the %d of the outputs", moved, outputs)
	}
}

// A worker that dies right after returning a large output fails only its own task, with a
// *WorkerError, whether the parent read the output before the death or not: an output it
// can no longer read is not bad data.
func TestLargeOutputOfADyingWorker(t *testing.T) {
	t.Parallel()
	p, ctx := sharePool(t, Processes(2))
	blob := blobsOfSizes(2 << 20)[0]
	for range 20 {
		got, err := Apply(ctx, p, echoThenDie, blob)
		var we *WorkerError
		switch {
		case err == nil:
			if !bytes.Equal(got, blob) {
				t.Fatal("the output read before the worker died is wrong")
			}
		case errors.As(err, &we):
			if errors.Is(err, wire.ErrProtocol) {
				t.Fatalf("the dead worker's output counted as bad data: %v", err)
			}
		default:
			t.Fatalf("Apply: %v, want the output or a *WorkerError", err)
		}
	}
	// The pool goes on with replacements.
	if got, err := Apply(ctx, p, echoLarge, blob); err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("after the deaths, Apply: %v", err)
	}
}
