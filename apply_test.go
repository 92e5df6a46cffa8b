//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// Apply's caller reads its result from the worker itself when nobody else is reading that
// worker, and otherwise leaves it to the worker's read loop. These tests mix the two: results
// must reach the right callers whoever reads them.

// TestApplyAmongOtherWork runs Apply loops in several goroutines while a Map and Submits use
// the same workers: every call gets its own result.
func TestApplyAmongOtherWork(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	ctx := ctxFor(t)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				x := g*1000 + i
				out, err := multiproc.Apply(ctx, p, square, x)
				if err != nil || out != x*x {
					errs <- errors.Join(err, errors.New("Apply: wrong result"))
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		in := make([]int, 20000)
		for i := range in {
			in[i] = i
		}
		for range 3 {
			out, err := multiproc.Map(ctx, p, square, in, multiproc.ChunkSize(7))
			if err != nil || out[19999] != 19999*19999 {
				errs <- errors.Join(err, errors.New("Map: wrong result"))
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			f := multiproc.Submit(ctx, p, square, i)
			if out, err := f.Wait(ctx); err != nil || out != i*i {
				errs <- errors.Join(err, errors.New("Submit: wrong result"))
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestApplyOfSlowTask: a result that comes long after the caller stopped polling for it is
// still delivered (the read loop takes over), and so are quick ones after it.
func TestApplyOfSlowTask(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	for _, d := range []time.Duration{0, 20 * time.Millisecond, 0, 200 * time.Millisecond, 0} {
		if _, err := multiproc.Apply(ctx, p, sleepy, d); err != nil {
			t.Fatalf("sleepy(%v): %v", d, err)
		}
		if out, err := multiproc.Apply(ctx, p, square, 9); err != nil || out != 81 {
			t.Fatalf("square after sleepy(%v) = %v, %v", d, out, err)
		}
	}
}

// TestApplyCancelledWhileReading: cancelling an Apply whose caller may be reading returns at
// once with the context's error, and the pool goes on.
func TestApplyCancelledWhileReading(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	ctx, cancel := context.WithTimeout(ctxFor(t), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := multiproc.Apply(ctx, p, sleepy, 10*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply with an expired ctx: %v, want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Apply returned %v after its ctx expired", took)
	}
	if out, err := multiproc.Apply(ctxFor(t), p, square, 3); err != nil || out != 9 {
		t.Fatalf("pool after a cancelled Apply: %v, %v", out, err)
	}
}
