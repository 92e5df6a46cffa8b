//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"

	"github.com/multiproc/multiproc"
)

// Tests of handles travelling between processes: made in the parent and used in workers
// (Start, Apply, Submit, Map, Imap, ImapUnordered, Initializer), made in a worker and used in
// the parent.

// shared is a task's input holding one of every handle.
type shared struct {
	Count *multiproc.Value[int64]
	Lock  *multiproc.Lock
	Array *multiproc.SharedArray[int64]
	Index int
}

var (
	// touchShared adds 1 to Count, and, under Lock, to Array[0] and its Index-th element.
	touchShared = multiproc.Register("travel.touch", func(ctx context.Context, s shared) (int, error) {
		s.Count.Add(1)
		if err := s.Lock.Lock(ctx); err != nil {
			return 0, err
		}
		a := s.Array.Slice()
		a[0]++
		a[s.Index%len(a)] += 10
		if err := s.Lock.Unlock(); err != nil {
			return 0, err
		}
		return os.Getpid(), nil
	})
	// makeShared makes handles in the worker, sets them, and returns them at once.
	makeShared = multiproc.Register("travel.make", func(ctx context.Context, n int) (shared, error) {
		v, err := multiproc.NewValue(int64(n))
		if err != nil {
			return shared{}, err
		}
		l, err := multiproc.NewLock()
		if err != nil {
			return shared{}, err
		}
		a, err := multiproc.NewSharedArray[int64](n)
		if err != nil {
			return shared{}, err
		}
		for i := range a.Slice() {
			a.Slice()[i] = int64(i * n)
		}
		return shared{Count: v, Lock: l, Array: a}, nil
	})
	// initShared keeps the initializer's handles for useInit.
	initHandles atomic.Pointer[shared]
	initShared  = multiproc.Register("travel.init", func(ctx context.Context, s shared) (struct{}, error) {
		initHandles.Store(&s)
		return struct{}{}, nil
	})
	useInit = multiproc.Register("travel.useInit", func(ctx context.Context, _ int) (int64, error) {
		s := initHandles.Load()
		if s == nil {
			return 0, errors.New("no initializer ran")
		}
		return s.Count.Add(1), nil
	})
)

func newShared(t *testing.T, n int) shared {
	t.Helper()
	v, err := multiproc.NewValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	l, err := multiproc.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	a, err := multiproc.NewSharedArray[int64](n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return shared{Count: v, Lock: l, Array: a}
}

func TestHandlesTravelToPoolWorkers(t *testing.T) {
	t.Parallel()
	p := newPool(t, multiproc.Processes(2))
	ctx := ctxFor(t)
	s := newShared(t, 8)
	// Apply and Submit.
	if _, err := multiproc.Apply(ctx, p, touchShared, s); err != nil {
		t.Fatal(err)
	}
	if _, err := multiproc.Submit(ctx, p, touchShared, s).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// Map: the same handles in every input.
	ins := make([]shared, 40)
	for i := range ins {
		ins[i] = s
		ins[i].Index = i
	}
	pids, err := multiproc.Map(ctx, p, touchShared, ins, multiproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	// Imap and ImapUnordered.
	seq := func(yield func(shared) bool) {
		for i := range 10 {
			if !yield(shared{Count: s.Count, Lock: s.Lock, Array: s.Array, Index: i}) {
				return
			}
		}
	}
	for _, err := range multiproc.Imap(ctx, p, touchShared, seq) {
		if err != nil {
			t.Fatal(err)
		}
	}
	for r := range multiproc.ImapUnordered(ctx, p, touchShared, seq) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	const calls = 2 + 40 + 10 + 10
	if got := s.Count.Load(); got != calls {
		t.Fatalf("Count = %d, want %d", got, calls)
	}
	if got := s.Array.Slice()[0]; got < calls {
		t.Fatalf("Array[0] = %d, want at least %d", got, calls)
	}
	workers := map[int]bool{}
	for _, pid := range pids {
		workers[pid] = true
	}
	t.Logf("the handles were used in %d workers", len(workers))
}

func TestHandlesTravelToStartedProcess(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	s := newShared(t, 4)
	proc, err := multiproc.Start(ctx, touchShared, s)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := proc.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pid == os.Getpid() {
		t.Fatal("the task ran in the parent")
	}
	if s.Count.Load() != 1 || s.Array.Slice()[0] != 11 {
		t.Fatalf("the process's changes are not seen: Count %d, Array %v", s.Count.Load(), s.Array.Slice())
	}
}

func TestHandlesTravelFromWorker(t *testing.T) {
	t.Parallel()
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	s, err := multiproc.Apply(ctx, p, makeShared, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Array.Close()
	if got := s.Count.Load(); got != 5 {
		t.Fatalf("a Value made in a worker reads %d here, want 5", got)
	}
	if got := s.Array.Slice(); len(got) != 5 || got[4] != 20 {
		t.Fatalf("an array made in a worker reads %v here", got)
	}
	if err := s.Lock.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	// And back: the worker's handles, returned, go to a worker again.
	done := make(chan error, 1)
	go func() { _, err := multiproc.Apply(ctx, p, touchShared, s); done <- err }()
	if ok, _ := s.Lock.TryLock(); ok {
		t.Fatal("TryLock in the holder succeeded")
	}
	s.Lock.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := s.Count.Load(); got != 6 {
		t.Fatalf("Count = %d after a worker added 1, want 6", got)
	}
}

func TestHandlesTravelToInitializer(t *testing.T) {
	t.Parallel()
	s := newShared(t, 1)
	p := newPool(t, multiproc.Processes(2), multiproc.Initializer(initShared, s))
	ctx := ctxFor(t)
	if _, err := multiproc.Map(ctx, p, useInit, make([]int, 20)); err != nil {
		t.Fatal(err)
	}
	if got := s.Count.Load(); got != 20 {
		t.Fatalf("Count = %d after 20 tasks added 1 through the initializer's handle", got)
	}
}

func TestHandlesTravelFromStartedProcess(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	for range 5 {
		proc, err := multiproc.Start(ctx, makeShared, 4)
		if err != nil {
			t.Fatal(err)
		}
		s, err := proc.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.Count.Load() != 4 || s.Array.Slice()[3] != 12 {
			t.Fatalf("handles from a process that ended read %d, %v", s.Count.Load(), s.Array.Slice())
		}
		s.Array.Close()
	}
}

func TestHandlesTravelFromRecycledWorker(t *testing.T) {
	t.Parallel()
	p := newPool(t, multiproc.Processes(1), multiproc.MaxTasksPerWorker(1))
	ctx := ctxFor(t)
	ins := []int{1, 2, 3, 4, 5, 6}
	outs, err := multiproc.Map(ctx, p, makeShared, ins, multiproc.ChunkSize(1))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range outs {
		if s.Count.Load() != int64(ins[i]) {
			t.Fatalf("output %d: Count %d", i, s.Count.Load())
		}
		s.Array.Close()
	}
}
