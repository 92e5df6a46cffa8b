//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// Benchmarks of Queue and Pipe between processes: a worker at one end, the benchmark (or
// other workers) at the other. cmd/mpbench measures the same against Python.

type echoQueues struct{ In, Out *multiproc.Queue[int] }

type bytesJob struct {
	Q     *multiproc.Queue[[]byte]
	C     *multiproc.Conn[[]byte]
	Size  int
	Count int
}

type connJob struct {
	C     *multiproc.Conn[int]
	Count int
}

var (
	// queueEcho answers every number taken from In on Out, until In is closed.
	queueEcho = multiproc.Register("queue.echo", func(ctx context.Context, e echoQueues) (int, error) {
		n := 0
		for v, err := range e.In.All(ctx) {
			if err != nil {
				return n, err
			}
			if err := e.Out.Put(ctx, v); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	})
	// queueCount takes numbers until the queue is closed and drained, and counts them.
	queueCount = multiproc.Register("queue.count", func(ctx context.Context, q *multiproc.Queue[int]) (int, error) {
		n := 0
		for _, err := range q.All(ctx) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	})
	// sendBytes puts or sends Count slices of Size bytes.
	sendBytes = multiproc.Register("queue.sendBytes", func(ctx context.Context, j bytesJob) (int, error) {
		b := make([]byte, j.Size)
		for i := range b {
			b[i] = byte(i)
		}
		for i := range j.Count {
			var err error
			if j.Q != nil {
				err = j.Q.Put(ctx, b)
			} else {
				err = j.C.Send(ctx, b)
			}
			if err != nil {
				return i, err
			}
		}
		return j.Count, nil
	})
	// connSend sends Count numbers.
	connSend = multiproc.Register("pipe.send", func(ctx context.Context, j connJob) (int, error) {
		for i := range j.Count {
			if err := j.C.Send(ctx, i); err != nil {
				return i, err
			}
		}
		return j.Count, nil
	})
)

func BenchmarkQueueOneWay(b *testing.B) {
	ctx := context.Background()
	q, _ := multiproc.NewQueue[int](1024)
	proc, err := multiproc.Start(ctx, queueProduce, queueJob{Q: q, Count: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := q.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	proc.Wait(ctx)
}

func BenchmarkQueueRoundTrip(b *testing.B) {
	ctx := context.Background()
	in, _ := multiproc.NewQueue[int](16)
	out, _ := multiproc.NewQueue[int](16)
	proc, err := multiproc.Start(ctx, queueEcho, echoQueues{In: in, Out: out})
	if err != nil {
		b.Fatal(err)
	}
	in.Put(ctx, -1) // the worker is up
	out.Get(ctx)
	b.ResetTimer()
	for i := range b.N {
		in.Put(ctx, i)
		if _, err := out.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	in.Close()
	proc.Wait(ctx)
}

// Each of the four runs in a process of its own: on a pool, two could share a worker, and a
// consumer, which returns only once the queue is closed, would keep a producer from running.
func BenchmarkQueueTwoByTwo(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel() // ends any process left by a failure
	q, _ := multiproc.NewQueue[int](1024)
	b.ResetTimer()
	var consumers, producers []*multiproc.Process[int]
	for range 2 {
		c, err := multiproc.Start(ctx, queueCount, q)
		if err != nil {
			b.Fatal(err)
		}
		consumers = append(consumers, c)
	}
	for _, count := range []int{b.N / 2, b.N - b.N/2} {
		p, err := multiproc.Start(ctx, queueProduce, queueJob{Q: q, Count: count})
		if err != nil {
			b.Fatal(err)
		}
		producers = append(producers, p)
	}
	for _, p := range producers {
		if _, err := p.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
	q.Close()
	n := 0
	for _, c := range consumers {
		k, err := c.Wait(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n += k
	}
	if n != b.N {
		b.Fatalf("%d items taken of %d", n, b.N)
	}
}

func BenchmarkPipeOneWay(b *testing.B) {
	ctx := context.Background()
	mine, theirs, _ := multiproc.NewPipe[int]()
	proc, err := multiproc.Start(ctx, connSend, connJob{C: theirs, Count: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := mine.Recv(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	proc.Wait(ctx)
}

func benchmarkBytes(b *testing.B, viaPipe bool) {
	ctx := context.Background()
	const size = 8 << 20
	job := bytesJob{Size: size, Count: b.N}
	var recv func() ([]byte, error)
	if viaPipe {
		mine, theirs, _ := multiproc.NewPipe[[]byte]()
		job.C, recv = theirs, func() ([]byte, error) { return mine.Recv(ctx) }
	} else {
		q, _ := multiproc.NewQueue[[]byte](4)
		job.Q, recv = q, func() ([]byte, error) { return q.Get(ctx) }
	}
	proc, err := multiproc.Start(ctx, sendBytes, job)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		v, err := recv()
		if err != nil {
			b.Fatal(err)
		}
		if len(v) != size {
			b.Fatalf("%d bytes", len(v))
		}
	}
	b.StopTimer()
	if _, err := proc.Wait(ctx); err != nil && !errors.Is(err, io.EOF) {
		b.Fatal(err)
	}
}

func BenchmarkQueueBytes8MiB(b *testing.B) { benchmarkBytes(b, false) }
func BenchmarkPipeBytes8MiB(b *testing.B)  { benchmarkBytes(b, true) }
