//go:build unix

package multiproc_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// The hot paths, each on a pool of 2 workers; cmd/mpbench compares them with Python's pools
// and the machine's limits.

func benchPool(b *testing.B) *multiproc.Pool {
	b.Helper()
	p, err := multiproc.NewPool(multiproc.Processes(2))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

func BenchmarkApply(b *testing.B) {
	p := benchPool(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := multiproc.Apply(ctx, p, square, 3); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMap(b *testing.B, opts ...multiproc.MapOption) {
	p := benchPool(b)
	in := make([]int, 100_000)
	for i := range in {
		in[i] = i
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := multiproc.Map(ctx, p, square, in, opts...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(in))/b.Elapsed().Seconds(), "tasks/s")
}

func BenchmarkMapChunk1(b *testing.B) { benchMap(b, multiproc.ChunkSize(1)) }
func BenchmarkMapAuto(b *testing.B)   { benchMap(b) }

func BenchmarkImapUnorderedChunk1(b *testing.B) {
	p := benchPool(b)
	const n = 20_000
	ctx := context.Background()
	for b.Loop() {
		for r := range multiproc.ImapUnordered(ctx, p, square, seq(n), multiproc.ChunkSize(1)) {
			if r.Err != nil {
				b.Fatal(r.Err)
			}
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "tasks/s")
}

func BenchmarkMapBytes8MiB(b *testing.B) {
	p := benchPool(b)
	blobs := make([][]byte, 64)
	for i := range blobs {
		blobs[i] = slices.Repeat([]byte{byte(i)}, 8<<20)
	}
	ctx := context.Background()
	// Untimed first, for 3 s as mpbench's 8 MiB row: until the heap holding the results has
	// its steady size, they land on memory the machine has not handed out lately, which costs
	// more than moving them.
	for start := time.Now(); time.Since(start) < 3*time.Second; {
		if _, err := multiproc.Map(ctx, p, echoBytes, blobs, multiproc.ChunkSize(1)); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(2 * 64 * 8 << 20)
	for b.Loop() {
		if _, err := multiproc.Map(ctx, p, echoBytes, blobs, multiproc.ChunkSize(1)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPoolStart(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		p, err := multiproc.NewPool(multiproc.Processes(2))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := multiproc.Map(ctx, p, square, []int{1, 2}, multiproc.ChunkSize(1)); err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}

// BenchmarkRecycle maps 1000 tasks of 1ms, without recycling and with MaxTasksPerWorker(25):
// compare their tasks/s (the replacement starts when a worker takes its last task).
func BenchmarkRecycle(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []multiproc.Option
	}{
		{"never", nil},
		{"every25", []multiproc.Option{multiproc.MaxTasksPerWorker(25)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := multiproc.NewPool(append(tc.opts, multiproc.Processes(2))...)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			in := slices.Repeat([]time.Duration{time.Millisecond}, 1000)
			ctx := context.Background()
			for b.Loop() {
				if _, err := multiproc.Map(ctx, p, spin, in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(in))/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}
