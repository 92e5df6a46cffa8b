//go:build unix

// Package sharebench measures the sharing objects between two processes, the parent and the
// one worker of a pool: the same measurements serve `go test -bench` (bench_share_test.go)
// and cmd/mpbench, which sets them beside Python's (bench/python/sharing.py). Importing it
// registers its functions.
package sharebench

import (
	"context"
	"fmt"
	"time"

	"github.com/multiproc/multiproc"
)

type arg struct {
	V *multiproc.Value[int64]
	L *multiproc.Lock
	N int
}

var (
	add = multiproc.Register("sharebench.add", func(_ context.Context, a arg) (struct{}, error) {
		for range a.N {
			a.V.Add(1)
		}
		return struct{}{}, nil
	})
	lock = multiproc.Register("sharebench.lock", func(ctx context.Context, a arg) (struct{}, error) {
		for range a.N {
			if err := a.L.Lock(ctx); err != nil {
				return struct{}{}, err
			}
			a.L.Unlock()
		}
		return struct{}{}, nil
	})
	// read sums the array (every byte read once) and returns how long it took.
	read = multiproc.Register("sharebench.read", func(_ context.Context, a *multiproc.SharedArray[uint64]) (time.Duration, error) {
		start := time.Now()
		var s0, s1, s2, s3 uint64
		xs := a.Slice()
		for i := 0; i+4 <= len(xs); i += 4 {
			s0 += xs[i]
			s1 += xs[i+1]
			s2 += xs[i+2]
			s3 += xs[i+3]
		}
		d := time.Since(start)
		if s0+s1+s2+s3 == 1 {
			d++ // the sum is used
		}
		return d, nil
	})
	// wait waits for the Event and returns when it saw it, in Unix nanoseconds.
	wait = multiproc.Register("sharebench.wait", func(ctx context.Context, e *multiproc.Event) (int64, error) {
		err := e.Wait(ctx)
		return time.Now().UnixNano(), err
	})
)

// both runs f(a) in p's worker while here runs a.N times in this process, once the worker
// has the handles, and returns operations per second, both processes counted.
func both(ctx context.Context, p *multiproc.Pool, f *multiproc.Func[arg, struct{}], a arg, here func()) (float64, error) {
	if _, err := multiproc.Apply(ctx, p, f, arg{V: a.V, L: a.L, N: 1}); err != nil {
		return 0, err
	}
	start := time.Now()
	fut := multiproc.Submit(ctx, p, f, a)
	for range a.N {
		here()
	}
	if _, err := fut.Wait(ctx); err != nil {
		return 0, err
	}
	return float64(2*a.N) / time.Since(start).Seconds(), nil
}

// ValueAdd adds 1 to a Value n times in this process and n times in p's worker at once, and
// returns adds per second; it fails if a single add was lost.
func ValueAdd(ctx context.Context, p *multiproc.Pool, n int) (float64, error) {
	v, err := multiproc.NewValue[int64](0)
	if err != nil {
		return 0, err
	}
	rate, err := both(ctx, p, add, arg{V: v, N: n}, func() { v.Add(1) })
	if got := v.Load(); err == nil && got != int64(2*n+1) {
		err = fmt.Errorf("Value = %d after %d adds", got, 2*n+1)
	}
	return rate, err
}

// LockPairs takes and releases a Lock n times in this process and n times in p's worker,
// contending, and returns pairs per second.
func LockPairs(ctx context.Context, p *multiproc.Pool, n int) (float64, error) {
	l, err := multiproc.NewLock()
	if err != nil {
		return 0, err
	}
	return both(ctx, p, lock, arg{L: l, N: n}, func() {
		if l.Lock(ctx) == nil {
			l.Unlock()
		}
	})
}

// ArrayRead returns how long p's worker takes to read every byte of a, which the caller
// filled: the memory itself, no copy.
func ArrayRead(ctx context.Context, p *multiproc.Pool, a *multiproc.SharedArray[uint64]) (time.Duration, error) {
	return multiproc.Apply(ctx, p, read, a)
}

// EventWake returns the time from Set in this process to the return of Wait in p's worker,
// which has been asleep in it for 2 ms. e is cleared first.
func EventWake(ctx context.Context, p *multiproc.Pool, e *multiproc.Event) (time.Duration, error) {
	e.Clear()
	fut := multiproc.Submit(ctx, p, wait, e)
	time.Sleep(2 * time.Millisecond) // the worker is asleep in Wait
	set := time.Now()
	e.Set()
	woke, err := fut.Wait(ctx)
	return time.Unix(0, woke).Sub(set), err
}
